// Package api is the Worker's HTTP interface, written against net/http and
// an fs.FS of weights so that it runs and is tested natively; the js main of
// wasm/worker only wires it to the Workers runtime.
//
//	POST /v1/classify?model=ID&topk=K   image body -> {model, top:[{label,index,prob}], ms}
//	GET  /v1/models                     the models with their input spec and sizes
//	GET  /healthz                       model loads, cached models, runtime.MemStats
//
// Every failure is a JSON {error, status}: an empty or oversize body 413,
// an unsupported content type 415, an undecodable image 400 (with the
// decoder's reason), an unknown model 404, a wrong method 405, a model
// whose memory plan exceeds the budget 507. A panic in a handler becomes a
// 500: the isolate survives.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// Defaults of Config's limits.
const (
	// IsolateMemory is a Worker isolate's memory limit (Cloudflare: 128 MB).
	IsolateMemory = 128_000_000
	// DefaultBudget is what the models held at once may plan to use: the
	// isolate's 128 MB less room for the Go runtime, the compiled module,
	// a request body and a decoded image (DefaultMaxPixels * 16 bytes).
	DefaultBudget = 64 << 20
	// DefaultMaxBody bounds a request body.
	DefaultMaxBody = 4 << 20
	// DefaultMaxPixels bounds a decoded image (each pixel takes 12 bytes as
	// float32 RGB plus up to 4 in the decoder's own image): 1920x1080 fits.
	DefaultMaxPixels = 2 << 20
	// DefaultTopK is the number of classes answered without ?topk.
	DefaultTopK = 5
)

// Config configures a Server.
type Config struct {
	// Assets holds models/<id>/manifest.json with its chunks, and
	// optionally models/index.json listing the ids for /v1/models.
	Assets fs.FS
	// Backend runs the models (cpu.New() in the Worker).
	Backend core.Backend
	// Budget bounds, in bytes, the memory plans (parameters plus
	// activations) of the models held at once: a model that cannot fit
	// alone is refused with 507, others evict the least recently used.
	// 0: DefaultBudget.
	Budget int64
	// MaxBody bounds a request body in bytes (0: DefaultMaxBody).
	MaxBody int64
	// MaxPixels bounds an image's width*height (0: DefaultMaxPixels).
	MaxPixels int64
	// Stats, if set, adds fields to /healthz (the Worker adds the size of
	// its WebAssembly memory).
	Stats func() map[string]any
}

// Server answers the Worker's routes. It is safe for concurrent use.
type Server struct {
	cfg      Config
	reg      *registry
	mux      *http.ServeMux
	started  time.Time
	requests atomic.Int64
}

var _ http.Handler = (*Server)(nil)

// New returns a Server; a zero limit in c takes its default.
func New(c Config) *Server {
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	s := &Server{cfg: c, reg: newRegistry(c.Assets, c.Backend, c.Budget), mux: http.NewServeMux(), started: time.Now()}
	s.mux.HandleFunc("/v1/classify", s.classify)
	s.mux.HandleFunc("/v1/models", s.models)
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no route %s (routes: POST /v1/classify?model=ID&topk=K, GET /v1/models, GET /healthz)", r.URL.Path)
	})
	return s
}

// ServeHTTP routes a request; a panic becomes a JSON 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	defer func() {
		if v := recover(); v != nil {
			WriteError(w, http.StatusInternalServerError, "internal error: %v", v)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Error is the body of every failed request.
type Error struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// WriteError answers a JSON Error.
func WriteError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, Error{Error: fmt.Sprintf(format, args...), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	WriteError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(methods, " or "))
	return false
}

// imageTypes are the content types /v1/classify accepts; the decoder
// sniffs the format from the bytes either way.
var imageTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"application/octet-stream": true,
}

// Classification is the answer of /v1/classify.
type Classification struct {
	Model string         `json:"model"`
	Top   []models.Class `json:"top"`
	// Ms is the request's time in milliseconds, the model's first load
	// included.
	Ms float64 `json:"ms"`
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	id := q.Get("model")
	if id == "" {
		WriteError(w, http.StatusBadRequest, "missing ?model=ID (GET /v1/models lists them)")
		return
	}
	k := DefaultTopK
	if v := q.Get("topk"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			WriteError(w, http.StatusBadRequest, "topk %q is not a positive integer", v)
			return
		}
		k = n
	}
	man, err := s.reg.manifest(id)
	if err != nil {
		s.loadError(w, id, err)
		return
	}
	if err := s.reg.fits(man); err != nil {
		s.loadError(w, id, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !imageTypes[mt] {
		WriteError(w, http.StatusUnsupportedMediaType, "content type %q is not supported: send image/jpeg, image/png, image/webp or image/gif", ct)
		return
	}
	body, status, err := readBody(r, s.cfg.MaxBody)
	if err != nil {
		WriteError(w, status, "%v", err)
		return
	}
	img, status, err := decode(body, s.cfg.MaxPixels)
	if err != nil {
		WriteError(w, status, "%v", err)
		return
	}
	body = nil
	x, err := models.Preprocess(img, man.Input)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "%s: %v", id, err)
		return
	}
	m, err := s.reg.get(r.Context(), id)
	if err != nil {
		s.loadError(w, id, err)
		return
	}
	out, err := m.forward(x)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "%s: %v", id, err)
		return
	}
	top := models.Top(out, man.Output != "probabilities", man.Labels, k)
	writeJSON(w, http.StatusOK, Classification{Model: id, Top: top, Ms: msSince(start)})
}

// forward runs one preprocessed image through the model.
func (m *loaded) forward(x []float32) ([]float32, error) {
	m.mu.Lock() // one forward pass at a time per model: layers are shared
	defer m.mu.Unlock()
	return nn.Infer(m.backend, m.net, core.Shape(m.man.Input.Shape), x)
}

// readBody reads at most limit bytes: an empty or longer body is a 413.
func readBody(r *http.Request, limit int64) ([]byte, int, error) {
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
	}
	if r.Body == nil {
		return nil, http.StatusRequestEntityTooLarge, errors.New("empty body: send the image's bytes")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the body: %v", err)
	case int64(len(b)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the limit of %d bytes", limit)
	case len(b) == 0:
		return nil, http.StatusRequestEntityTooLarge, errors.New("empty body: send the image's bytes")
	}
	return b, 0, nil
}

// decode checks the image's size from its header before decoding it: a
// small file may declare a huge picture.
func decode(b []byte, maxPixels int64) (*data.Image, int, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("cannot decode the image: %v", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%s image of %dx%d pixels: the limit is %d pixels", format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := data.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("cannot decode the %s image: %v", format, err)
	}
	return img, 0, nil
}

// loadError maps a model's failure to its status.
func (s *Server) loadError(w http.ResponseWriter, id string, err error) {
	WriteError(w, loadStatus(err), "%v", err)
}

// ModelInfo describes one model in /v1/models.
type ModelInfo struct {
	ID     string         `json:"id"`
	Arch   string         `json:"arch,omitempty"`
	Input  *weights.Input `json:"input,omitempty"`
	Output string         `json:"output,omitempty"`
	Labels int            `json:"labels"`
	// Sizes in bytes: the download (chunks), float32 parameters and the
	// activations of one image.
	DownloadBytes   int64 `json:"download_bytes"`
	ParamBytes      int64 `json:"param_bytes"`
	ActivationBytes int64 `json:"activation_bytes"`
	Chunks          int   `json:"chunks"`
	// Fits says whether the model fits the budget; Loaded whether this
	// isolate holds it now.
	Fits   bool   `json:"fits"`
	Loaded bool   `json:"loaded"`
	Error  string `json:"error,omitempty"`
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	ids, err := ReadIndex(s.cfg.Assets)
	if err != nil {
		WriteError(w, loadStatus(err), "%v", err)
		return
	}
	infos := make([]ModelInfo, 0, len(ids))
	for _, id := range ids {
		info := ModelInfo{ID: id}
		man, err := s.reg.manifest(id)
		if err != nil {
			info.Error = err.Error()
			infos = append(infos, info)
			continue
		}
		if man.Arch != nil {
			info.Arch = man.Arch.ID
		}
		info.Input, info.Output, info.Labels = &man.Input, man.Output, len(man.Labels)
		if info.Output == "" {
			info.Output = "logits"
		}
		for _, c := range man.Chunks {
			info.DownloadBytes += c.Size
		}
		info.ParamBytes, info.ActivationBytes, info.Chunks = man.Memory.ParamBytes, man.Memory.ActivationBytes, len(man.Chunks)
		info.Fits = s.reg.fits(man) == nil
		info.Loaded = s.reg.isLoaded(id)
		infos = append(infos, info)
	}
	writeJSON(w, http.StatusOK, struct {
		Models      []ModelInfo `json:"models"`
		BudgetBytes int64       `json:"budget_bytes"`
	}{infos, s.cfg.Budget})
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"`
	// Loads counts model loads since the isolate started (a cached model
	// is not loaded again); LoadsByModel splits it by id.
	Loads        int64            `json:"loads"`
	LoadsByModel map[string]int64 `json:"loads_by_model"`
	Loaded       []string         `json:"loaded"`
	Requests     int64            `json:"requests"`
	UptimeS      float64          `json:"uptime_s"`
	BudgetBytes  int64            `json:"budget_bytes"`
	Memory       Memory           `json:"memory"`
	Extra        map[string]any   `json:"extra,omitempty"`
}

// Memory is the part of runtime.MemStats that sizes the isolate.
type Memory struct {
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapInuse  uint64 `json:"heap_inuse"`
	HeapSys    uint64 `json:"heap_sys"`
	Sys        uint64 `json:"sys"`
	TotalAlloc uint64 `json:"total_alloc"`
	NumGC      uint32 `json:"num_gc"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	loads, byModel, loaded := s.reg.stats()
	h := Health{Status: "ok", Loads: loads, LoadsByModel: byModel, Loaded: loaded,
		Requests: s.requests.Load(), UptimeS: time.Since(s.started).Seconds(), BudgetBytes: s.cfg.Budget,
		Memory: Memory{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, Sys: ms.Sys, TotalAlloc: ms.TotalAlloc, NumGC: ms.NumGC}}
	if s.cfg.Stats != nil {
		h.Extra = s.cfg.Stats()
	}
	writeJSON(w, http.StatusOK, h)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
