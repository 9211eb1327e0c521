package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// ErrUnknownModel reports a model id with no manifest in the assets.
var ErrUnknownModel = errors.New("unknown model")

// loadStatus is the HTTP status of a model's failure.
func loadStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownModel):
		return http.StatusNotFound
	case errors.Is(err, weights.ErrBudget):
		return http.StatusInsufficientStorage
	case errors.Is(err, weights.ErrIntegrity), errors.Is(err, weights.ErrManifest):
		return http.StatusInternalServerError
	}
	return http.StatusBadGateway // the weights' store failed
}

// registry holds the manifests read and the models built, once per
// isolate: concurrent first requests for a model share one load.
type registry struct {
	fsys    fs.FS
	backend core.Backend
	budget  int64

	mu        sync.Mutex
	manifests map[string]*weights.Manifest
	models    map[string]*entry
	tick      int64
	loads     int64
	byModel   map[string]int64
}

// entry is a model being loaded (done open) or loaded.
type entry struct {
	done     chan struct{}
	m        *loaded
	err      error
	plan     int64
	lastUsed int64
}

// loaded is a built model.
type loaded struct {
	mu      sync.Mutex
	man     *weights.Manifest
	net     nn.Layer
	backend core.Backend
}

func newRegistry(fsys fs.FS, b core.Backend, budget int64) *registry {
	return &registry{fsys: fsys, backend: b, budget: budget,
		manifests: map[string]*weights.Manifest{}, models: map[string]*entry{}, byModel: map[string]int64{}}
}

// validID accepts the names a model directory may have, and nothing that
// could leave models/.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// dir is a model's directory in the assets.
func dir(id string) string { return path.Join("models", id) }

// manifest returns a model's manifest, read once.
func (r *registry) manifest(id string) (*weights.Manifest, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w %q: ids are letters, digits, '.', '_' and '-'", ErrUnknownModel, id)
	}
	r.mu.Lock()
	m := r.manifests[id]
	r.mu.Unlock()
	if m != nil {
		return m, nil
	}
	m, err := weights.ReadManifest(r.fsys, dir(id))
	if errors.Is(err, fs.ErrNotExist) {
		have := "see GET /v1/models"
		if ids, err := ReadIndex(r.fsys); err == nil && len(ids) > 0 {
			have = "have " + strings.Join(ids, ", ")
		} else if err == nil {
			have = "no models are installed"
		}
		return nil, fmt.Errorf("%w %q (%s)", ErrUnknownModel, id, have)
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	r.mu.Lock()
	r.manifests[id] = m
	r.mu.Unlock()
	return m, nil
}

// fits refuses a model that cannot be held within the budget: its memory
// plan, and its load, when the verified chunks and the backend's copy of
// the parameters are alive together.
func (r *registry) fits(m *weights.Manifest) error {
	if err := m.CheckBudget(r.budget); err != nil {
		return fmt.Errorf("model does not fit the isolate: %w", err)
	}
	if peak := 2*m.Memory.ParamBytes + m.Memory.ActivationBytes; peak > r.budget {
		return fmt.Errorf("model does not fit the isolate: %q needs %d bytes while loading (its %d bytes of parameters twice, plus activations), budget %d: %w",
			m.Model, peak, m.Memory.ParamBytes, r.budget, weights.ErrBudget)
	}
	return nil
}

// plan is the memory a held model takes.
func plan(m *weights.Manifest) int64 { return m.Memory.ParamBytes + m.Memory.ActivationBytes }

// get returns the model built for id, loading it on first use.
func (r *registry) get(ctx context.Context, id string) (*loaded, error) {
	man, err := r.manifest(id)
	if err != nil {
		return nil, err
	}
	if err := r.fits(man); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.tick++
	if e := r.models[id]; e != nil {
		e.lastUsed = r.tick
		r.mu.Unlock()
		<-e.done
		return e.m, e.err
	}
	evicted := r.evict(2*man.Memory.ParamBytes + man.Memory.ActivationBytes)
	e := &entry{done: make(chan struct{}), plan: plan(man), lastUsed: r.tick}
	r.models[id] = e
	r.mu.Unlock()
	if evicted {
		runtime.GC() // let the load reuse the evicted model's memory
	}

	// A client that goes away must not fail the load for the others.
	m, err := r.load(context.WithoutCancel(ctx), id)
	r.mu.Lock()
	e.m, e.err = m, err
	if err != nil {
		delete(r.models, id) // a later request tries again
	} else {
		r.loads++
		r.byModel[id]++
	}
	close(e.done)
	r.mu.Unlock()
	return m, err
}

// evict drops the least recently used loaded models until need more
// bytes fit the budget; r.mu is held.
func (r *registry) evict(need int64) bool {
	var held int64
	for _, e := range r.models {
		held += e.plan
	}
	evicted := false
	for held+need > r.budget {
		var lru string
		for id, e := range r.models {
			select {
			case <-e.done:
			default:
				continue // still loading
			}
			if lru == "" || e.lastUsed < r.models[lru].lastUsed {
				lru = id
			}
		}
		if lru == "" {
			break
		}
		held -= r.models[lru].plan
		delete(r.models, lru)
		evicted = true
	}
	return evicted
}

// load reads, verifies and builds a model.
func (r *registry) load(ctx context.Context, id string) (*loaded, error) {
	wm, err := weights.Load(ctx, r.fsys, dir(id), weights.LoadOptions{Budget: r.budget})
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	net, err := models.Build(r.backend, wm)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	// Inference only: batch norms folded into the convolutions.
	if net, _, err = models.FoldForInference(net); err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	return &loaded{man: wm.Manifest, net: net, backend: r.backend}, nil
}

// isLoaded says whether id is built and held.
func (r *registry) isLoaded(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.models[id]
	return e != nil && e.m != nil
}

// stats returns the load counters and the ids held.
func (r *registry) stats() (int64, map[string]int64, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	by := make(map[string]int64, len(r.byModel))
	for id, n := range r.byModel {
		by[id] = n
	}
	held := []string{}
	for id, e := range r.models {
		if e.m != nil {
			held = append(held, id)
		}
	}
	sort.Strings(held)
	return r.loads, by, held
}
