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
	"time"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// ErrUnknownModel reports a model id with no manifest in the assets.
var ErrUnknownModel = errors.New("unknown model")

// errStore marks a failure of the weights' store itself (502); errBusy a
// model that cannot be held now without evicting one in use (503).
var (
	errStore = errors.New("the weights' store failed")
	errBusy  = errors.New("busy")
)

// retryError is a failure that a later request may not meet: its status
// comes from err, and the answer says when to retry.
type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// loadStatus is the HTTP status of a model's failure: 502 only where the
// store failed; a broken or unbuildable model is the server's 500.
func loadStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownModel):
		return http.StatusNotFound
	case errors.Is(err, weights.ErrBudget):
		return http.StatusInsufficientStorage
	case errors.Is(err, errBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, errStore):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// storeError marks err as the store's failure unless it says something
// about the files themselves (missing, corrupted, malformed).
func storeError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) &&
		!errors.Is(err, weights.ErrIntegrity) && !errors.Is(err, weights.ErrManifest) {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return err
}

// Backoff of remembered failures: the first is remembered FailureBackoff,
// each further one twice as long, up to MaxFailureBackoff.
const (
	FailureBackoff    = 5 * time.Second
	MaxFailureBackoff = 5 * time.Minute
	// MinResidency is how long a model stays held after its last use
	// before a model that does not fit beside it may evict it: two models
	// that do not fit together do not reload on alternate requests; the
	// second is answered 503 with Retry-After meanwhile.
	MinResidency = 30 * time.Second
)

// registry holds the manifests read and the models built, once per
// isolate: concurrent first requests for a model share one load.
type registry struct {
	fsys    fs.FS
	backend core.Backend
	budget  int64
	now     func() time.Time

	mu        sync.Mutex
	manifests map[string]*weights.Manifest
	models    map[string]*entry
	failed    map[string]*failure
	loads     int64
	byModel   map[string]int64
	failures  int64
	failedBy  map[string]int64
}

// entry is a model being loaded (done open) or loaded.
type entry struct {
	done     chan struct{}
	m        *loaded
	err      error
	plan     int64
	lastUsed time.Time
}

// failure is a remembered failure of a model: its manifest or its load
// is not tried again before until.
type failure struct {
	err   error
	n     int
	until time.Time
}

// loaded is a built model.
type loaded struct {
	mu      sync.Mutex
	man     *weights.Manifest
	net     nn.Layer
	backend core.Backend
}

func newRegistry(fsys fs.FS, b core.Backend, budget int64, now func() time.Time) *registry {
	return &registry{fsys: fsys, backend: b, budget: budget, now: now,
		manifests: map[string]*weights.Manifest{}, models: map[string]*entry{}, failed: map[string]*failure{},
		byModel: map[string]int64{}, failedBy: map[string]int64{}}
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

// remembered returns id's remembered failure, if it is still fresh; r.mu
// is held.
func (r *registry) remembered(id string) error {
	f := r.failed[id]
	if f == nil {
		return nil
	}
	left := f.until.Sub(r.now())
	if left <= 0 {
		return nil
	}
	return &retryError{err: fmt.Errorf("%w (failed %d times; not tried again for %v)", f.err, f.n, left.Round(time.Second)), after: left}
}

// fail remembers err for id, for twice as long as the time before.
func (r *registry) fail(id string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.failed[id]
	if f == nil {
		f = &failure{}
		r.failed[id] = f
	}
	f.n++
	f.err = err
	d := FailureBackoff << min(f.n-1, 16)
	f.until = r.now().Add(min(d, MaxFailureBackoff))
	r.failures++
	r.failedBy[id]++
}

// manifest returns a model's manifest, read once.
func (r *registry) manifest(id string) (*weights.Manifest, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w %q: ids are letters, digits, '.', '_' and '-'", ErrUnknownModel, id)
	}
	r.mu.Lock()
	m := r.manifests[id]
	err := r.remembered(id)
	r.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	m, err = weights.ReadManifest(r.fsys, dir(id))
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
		err = storeError(fmt.Errorf("model %q: %w", id, err))
		r.fail(id, err)
		return nil, err
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
	if peak := loadPeak(m); peak > r.budget {
		return fmt.Errorf("model does not fit the isolate: %q needs %d bytes while loading (its %d bytes of parameters twice, plus activations), budget %d: %w",
			m.Model, peak, m.ParamsBytes(), r.budget, weights.ErrBudget)
	}
	return nil
}

// plan is the memory a held model takes; loadPeak what its load takes.
func plan(m *weights.Manifest) int64     { return m.ParamsBytes() + m.Memory.ActivationBytes }
func loadPeak(m *weights.Manifest) int64 { return 2*m.ParamsBytes() + m.Memory.ActivationBytes }

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
	now := r.now()
	if e := r.models[id]; e != nil {
		e.lastUsed = now
		r.mu.Unlock()
		<-e.done
		return e.m, e.err
	}
	if err := r.remembered(id); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	evicted, err := r.evict(id, loadPeak(man))
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	e := &entry{done: make(chan struct{}), plan: plan(man), lastUsed: now}
	r.models[id] = e
	r.mu.Unlock()
	if evicted {
		runtime.GC() // let the load reuse the evicted model's memory
	}

	// A client that goes away must not fail the load for the others.
	m, err := r.load(context.WithoutCancel(ctx), id)
	if err != nil {
		r.fail(id, err)
	}
	r.mu.Lock()
	e.m, e.err = m, err
	if err != nil {
		delete(r.models, id)
	} else {
		delete(r.failed, id)
		r.loads++
		r.byModel[id]++
	}
	close(e.done)
	r.mu.Unlock()
	return m, err
}

// evict drops loaded models, least recently used first, until need more
// bytes fit the budget. A model used within MinResidency is not dropped:
// then nothing is, and the answer is errBusy with the time until one may
// be. r.mu is held.
func (r *registry) evict(id string, need int64) (bool, error) {
	var held int64
	for _, e := range r.models {
		held += e.plan
	}
	if held+need <= r.budget {
		return false, nil
	}
	type cand struct {
		id   string
		e    *entry
		idle time.Duration
	}
	var cands []cand
	now := r.now()
	for cid, e := range r.models {
		select {
		case <-e.done:
			cands = append(cands, cand{cid, e, now.Sub(e.lastUsed)})
		default: // still loading
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].idle > cands[j].idle })
	free, n := held, 0
	for n < len(cands) && free+need > r.budget && cands[n].idle >= MinResidency {
		free -= cands[n].e.plan
		n++
	}
	if free+need > r.budget {
		wait := time.Second
		if n < len(cands) {
			wait = max(wait, MinResidency-cands[n].idle)
		}
		var busy []string
		for _, c := range cands[n:] {
			busy = append(busy, c.id)
		}
		sort.Strings(busy)
		return false, &retryError{after: wait, err: fmt.Errorf("%w: model %q does not fit beside %s, used in the last %v (budget %d bytes); retry in %v",
			errBusy, id, strings.Join(busy, ", "), MinResidency, r.budget, wait.Round(time.Second))}
	}
	for _, c := range cands[:n] {
		delete(r.models, c.id)
	}
	return n > 0, nil
}

// load reads, verifies and builds a model.
func (r *registry) load(ctx context.Context, id string) (*loaded, error) {
	wm, err := weights.Load(ctx, r.fsys, dir(id), weights.LoadOptions{Budget: r.budget})
	if err != nil {
		return nil, storeError(fmt.Errorf("model %q: %w", id, err))
	}
	net, err := models.Build(r.backend, wm)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	// Inference only: batch norms folded into the convolutions.
	if net, _, err = models.FoldForInference(net); err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	m := &loaded{man: wm.Manifest, net: net, backend: r.backend}
	if err := m.checkOutput(); err != nil {
		return nil, fmt.Errorf("model %q: %w", id, err)
	}
	return m, nil
}

// checkOutput runs the model once on zeros: the input shape must fit the
// network, and a classifier's output must have one value per label.
func (m *loaded) checkOutput() error {
	if len(m.man.Input.Shape) == 0 {
		return nil // a dynamic input: checked by each request
	}
	out, shape, err := m.forward(make([]float32, core.Shape(m.man.Input.Shape).Size()))
	if err != nil {
		return fmt.Errorf("input %v: %w", m.man.Input.Shape, err)
	}
	if len(m.man.Labels) > 0 && len(out) != len(m.man.Labels) {
		return fmt.Errorf("%w: %d labels for an output of %d values (shape %v)", weights.ErrManifest, len(m.man.Labels), len(out), shape)
	}
	return nil
}

// isLoaded says whether id is built and held.
func (r *registry) isLoaded(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.models[id]
	return e != nil && e.m != nil
}

// registryStats are the registry's counters for /healthz.
type registryStats struct {
	loads, failures   int64
	byModel, failedBy map[string]int64
	held              []string
	lastErrors        map[string]string
}

func (r *registry) stats() registryStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := registryStats{loads: r.loads, failures: r.failures, byModel: map[string]int64{}, failedBy: map[string]int64{},
		held: []string{}, lastErrors: map[string]string{}}
	for id, n := range r.byModel {
		s.byModel[id] = n
	}
	for id, n := range r.failedBy {
		s.failedBy[id] = n
	}
	for id, f := range r.failed {
		s.lastErrors[id] = f.err.Error()
	}
	for id, e := range r.models {
		if e.m != nil {
			s.held = append(s.held, id)
		}
	}
	sort.Strings(s.held)
	return s
}
