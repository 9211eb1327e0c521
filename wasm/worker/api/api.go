// Package api is the Worker's HTTP interface, written against net/http and
// an fs.FS of weights so that it runs and is tested natively; the js main of
// wasm/worker only wires it to the Workers runtime.
//
//	POST /v1/classify?model=ID&topk=K   image body -> {model, top:[{label,index,prob}], ms}
//	POST /v1/predict?model=ID           image body -> {model, outputs:[{shape, data}], ms}
//	GET  /v1/models                     the models with their input spec and sizes
//	GET  /healthz                       loads, failures, cached models, memory
//	OPTIONS *                           CORS preflight (Config.AllowOrigins)
//
// Every failure is a JSON {error, status}: an empty or oversize body 413
// (also an image whose decoding would not fit the decode budget), an
// unsupported content type 415, an undecodable image 400 (with the
// decoder's reason), an unknown model 404, a wrong method 405, a model
// whose memory plan exceeds the budget 507, too many requests at once or
// a model that cannot be held beside one in use 503 with Retry-After, a
// broken or unbuildable model 500, a store that fails 502. A failed model
// is remembered (with Retry-After) and not tried again before its backoff
// ends. A panic in a handler becomes a 500: the isolate survives.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"webcnn/core"
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
	// request bodies and the images being decoded (DefaultDecodeBudget).
	DefaultBudget = 48 << 20
	// DefaultDecodeBudget bounds the images decoded at once (header.cost):
	// one 8-bit RGB PNG or JPEG of DefaultMaxPixels fits (16 bytes a
	// pixel), a 16-bit PNG of that size does not (28 bytes a pixel).
	DefaultDecodeBudget = 40 << 20
	// DefaultMaxConcurrent is how many requests decode at once, and
	// DefaultMaxQueue how many may wait for that before a 503.
	DefaultMaxConcurrent = 4
	DefaultMaxQueue      = 16
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
	// DecodeBudget bounds the decoding cost of the images decoded at once
	// (0: DefaultDecodeBudget); an image over it alone is a 413.
	DecodeBudget int64
	// MaxConcurrent and MaxQueue bound the requests decoding at once and
	// those waiting to (0: the defaults); past the queue, a 503.
	MaxConcurrent, MaxQueue int
	// AllowOrigins are the origins that may call the API from a page
	// (CORS); "*" is any. None: same-origin only.
	AllowOrigins []string
	// Stats, if set, adds fields to /healthz (the Worker adds the size of
	// its WebAssembly memory, the largest seen and its restarts).
	Stats func() map[string]any
	// Now is the clock of failure backoff and eviction (nil: time.Now).
	Now func() time.Time
}

// Server answers the Worker's routes. It is safe for concurrent use.
type Server struct {
	cfg      Config
	reg      *registry
	adm      *admission
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
	if c.DecodeBudget <= 0 {
		c.DecodeBudget = DefaultDecodeBudget
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Server{cfg: c, reg: newRegistry(c.Assets, c.Backend, c.Budget, c.Now), adm: newAdmission(c.DecodeBudget, c.MaxConcurrent, c.MaxQueue),
		mux: http.NewServeMux(), started: time.Now()}
	s.mux.HandleFunc("/v1/classify", s.classify)
	s.mux.HandleFunc("/v1/predict", s.predict)
	s.mux.HandleFunc("/v1/models", s.models)
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no route %s (routes: POST /v1/classify?model=ID&topk=K, POST /v1/predict?model=ID, GET /v1/models, GET /healthz)", r.URL.Path)
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
	if !s.cors(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// cors adds the CORS headers for an allowed Origin and answers a
// preflight (OPTIONS) itself; it returns whether to route the request.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && (slices.Contains(s.cfg.AllowOrigins, "*") || slices.Contains(s.cfg.AllowOrigins, origin))
	if allowed {
		h := w.Header()
		if slices.Contains(s.cfg.AllowOrigins, "*") {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, Server-Timing")
	}
	if r.Method != http.MethodOptions {
		return true
	}
	if origin != "" && !allowed {
		WriteError(w, http.StatusForbidden, "origin %q may not call this API (allowed: %s)", origin, strings.Join(s.cfg.AllowOrigins, ", "))
		return false
	}
	h := w.Header()
	h.Set("Allow", "GET, HEAD, POST, OPTIONS")
	if allowed {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNoContent)
	return false
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

// fail answers err with its status, and Retry-After where a later
// request may succeed.
func fail(w http.ResponseWriter, err error) {
	var re *retryError
	if errors.As(err, &re) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(re.after.Seconds()))))
	}
	WriteError(w, loadStatus(err), "%v", err)
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
	k := DefaultTopK
	if v := r.URL.Query().Get("topk"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			WriteError(w, http.StatusBadRequest, "topk %q is not a positive integer", v)
			return
		}
		k = n
	}
	id, out, _, ok := s.run(w, r)
	if !ok {
		return
	}
	man, _ := s.reg.manifest(id)
	top, err := models.Classify(man, out, k)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "%s: %v", id, err)
		return
	}
	writeJSON(w, http.StatusOK, Classification{Model: id, Top: top, Ms: msSince(start)})
}

// Prediction is the answer of /v1/predict: the model's output tensors as
// they are (logits, probabilities or a dense map), each with its shape.
type Prediction struct {
	Model   string   `json:"model"`
	Outputs []Output `json:"outputs"`
	Ms      float64  `json:"ms"`
}

// Output is one output tensor: its shape and its values in row-major order.
type Output struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id, out, shape, ok := s.run(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, Prediction{Model: id, Outputs: []Output{{Shape: shape, Data: out}}, Ms: msSince(start)})
}

// run is what /v1/classify and /v1/predict share: it checks the request,
// decodes the image inside the decode budget, preprocesses it as the
// manifest says and runs the model. On failure it has answered.
func (s *Server) run(w http.ResponseWriter, r *http.Request) (string, []float32, []int, bool) {
	if !allow(w, r, http.MethodPost) {
		return "", nil, nil, false
	}
	id := r.URL.Query().Get("model")
	if id == "" {
		WriteError(w, http.StatusBadRequest, "missing ?model=ID (GET /v1/models lists them)")
		return "", nil, nil, false
	}
	man, err := s.reg.manifest(id)
	if err != nil {
		fail(w, err)
		return "", nil, nil, false
	}
	if err := s.reg.fits(man); err != nil {
		fail(w, err)
		return "", nil, nil, false
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !imageTypes[mt] {
		WriteError(w, http.StatusUnsupportedMediaType, "content type %q is not supported: send image/jpeg, image/png, image/webp or image/gif", ct)
		return "", nil, nil, false
	}
	body, status, err := readBody(r, s.cfg.MaxBody)
	if err != nil {
		WriteError(w, status, "%v", err)
		return "", nil, nil, false
	}
	if man.Output == "features" {
		WriteError(w, http.StatusBadRequest, "%s is a feature extractor (its output is features, not classes): it cannot classify", id)
		return "", nil, nil, false
	}
	x, status, err := s.prepare(r, body, id, man)
	if err != nil {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfterSaturated.Seconds())))
		}
		WriteError(w, status, "%v", err)
		return "", nil, nil, false
	}
	m, err := s.reg.get(r.Context(), id)
	if err != nil {
		fail(w, err)
		return "", nil, nil, false
	}
	out, shape, err := m.forward(x)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "%s: %v", id, err)
		return "", nil, nil, false
	}
	return id, out, shape, true
}

// prepare decodes body and preprocesses it for man's input, within the
// pixel limit and the decode budget: the header is read first, and the
// decoding's cost reserved before any pixel is.
func (s *Server) prepare(r *http.Request, body []byte, id string, man *weights.Manifest) ([]float32, int, error) {
	h, err := readHeader(body)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	if px := int64(h.w) * int64(h.h); px > s.cfg.MaxPixels || h.w <= 0 || h.h <= 0 {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%s image of %dx%d pixels: the limit is %d pixels", h.format, h.w, h.h, s.cfg.MaxPixels)
	}
	// The model's input and the resize's copy of it, in float32.
	cost := h.cost + 8*int64(core.Shape(man.Input.Shape).Size())
	if cost > s.cfg.DecodeBudget {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%s image of %dx%d pixels takes %d bytes to decode and prepare, over the decode budget of %d",
			h.format, h.w, h.h, cost, s.cfg.DecodeBudget)
	}
	if err := s.adm.acquire(r.Context(), cost); err != nil {
		if errors.Is(err, errSaturated) {
			return nil, http.StatusServiceUnavailable, fmt.Errorf("too many requests at once: %v; retry in %v", err, retryAfterSaturated)
		}
		return nil, http.StatusServiceUnavailable, fmt.Errorf("waiting to decode: %v", err)
	}
	defer s.adm.release(cost)
	img, err := decode(body, h)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	x, err := models.Preprocess(img, man.Input)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("%s: %v", id, err)
	}
	return x, 0, nil
}

// forward runs one preprocessed image through the model and returns its
// output with the output's shape.
func (m *loaded) forward(x []float32) ([]float32, []int, error) {
	m.mu.Lock() // one forward pass at a time per model: layers are shared
	defer m.mu.Unlock()
	return nn.InferShape(m.backend, m.net, core.Shape(m.man.Input.Shape), x)
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
		fail(w, storeError(err))
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
	// Loads counts model loads since the Go instance started (a cached
	// model is not loaded again); LoadsByModel splits it by id.
	Loads        int64            `json:"loads"`
	LoadsByModel map[string]int64 `json:"loads_by_model"`
	// Failures counts failed manifest reads and loads (a remembered
	// failure is not tried, so not counted, again before its backoff
	// ends); LastErrors holds each failing model's error.
	Failures        int64             `json:"failures"`
	FailuresByModel map[string]int64  `json:"failures_by_model"`
	LastErrors      map[string]string `json:"last_errors"`
	Loaded          []string          `json:"loaded"`
	Requests        int64             `json:"requests"`
	UptimeS         float64           `json:"uptime_s"`
	BudgetBytes     int64             `json:"budget_bytes"`
	Memory          Memory            `json:"memory"`
	Extra           map[string]any    `json:"extra,omitempty"`
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
	st := s.reg.stats()
	h := Health{Status: "ok", Loads: st.loads, LoadsByModel: st.byModel, Loaded: st.held,
		Failures: st.failures, FailuresByModel: st.failedBy, LastErrors: st.lastErrors,
		Requests: s.requests.Load(), UptimeS: time.Since(s.started).Seconds(), BudgetBytes: s.cfg.Budget,
		Memory: Memory{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, Sys: ms.Sys, TotalAlloc: ms.TotalAlloc, NumGC: ms.NumGC}}
	if s.cfg.Stats != nil {
		h.Extra = s.cfg.Stats()
	}
	writeJSON(w, http.StatusOK, h)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
