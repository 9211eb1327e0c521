package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/wasm/worker/api"
	"webcnn/wasm/worker/demo"
)

// root holds the demo models, written once by TestMain.
var root string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "worker-api-")
	if err != nil {
		panic(err)
	}
	root = dir
	if err := demo.Write(root, 1); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newServer(c api.Config) *api.Server {
	if c.Assets == nil {
		c.Assets = os.DirFS(root)
	}
	if c.Backend == nil {
		c.Backend = cpu.New()
	}
	return api.New(c)
}

// do sends one request and decodes the JSON answer into out (if not nil).
func do(t *testing.T, h http.Handler, method, target, ctype string, body []byte, out any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: content type %q, want application/json", method, target, ct)
	}
	if out != nil && method != http.MethodHead {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, target, w.Code, w.Body, err)
		}
	}
	return w
}

// reference classifies body as cmd/cnn predict does, without the server:
// its own load, build and forward pass on a fresh CPU backend.
func reference(t *testing.T, id string, body []byte, k int) []models.Class {
	t.Helper()
	m, err := weights.ReadManifest(os.DirFS(root), path.Join("models", id))
	if err != nil {
		t.Fatal(err)
	}
	return models.Top(referenceOutput(t, id, body), true, m.Labels, k)
}

// referenceOutput is the model's raw output for body, computed as
// reference does.
func referenceOutput(t *testing.T, id string, body []byte) []float32 {
	t.Helper()
	m, err := weights.Load(context.Background(), os.DirFS(root), path.Join("models", id), weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	net, err := models.Build(b, m)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := data.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	x, err := models.Preprocess(img, m.Manifest.Input)
	if err != nil {
		t.Fatal(err)
	}
	in, err := core.FromData(b, core.Shape(m.Manifest.Input.Shape), x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := net.Forward(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func health(t *testing.T, h http.Handler) api.Health {
	t.Helper()
	var hz api.Health
	if w := do(t, h, http.MethodGet, "/healthz", "", nil, &hz); w.Code != http.StatusOK {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
	return hz
}

// TestClassify sends every generated picture in every format to both demo
// models and compares the answer with the reference classification.
func TestClassify(t *testing.T) {
	samples, err := demo.Samples()
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(api.Config{})
	for _, id := range []string{"lenet5", "mobilenet_v3_small"} {
		for i, smp := range samples {
			if id == "mobilenet_v3_small" && i%4 != 3 { // one format per picture: 57 M MACs each
				continue
			}
			var got api.Classification
			w := do(t, s, http.MethodPost, "/v1/classify?model="+id+"&topk=3", smp.ContentType, smp.Body, &got)
			if w.Code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", id, smp.Name, w.Code, w.Body)
			}
			want := reference(t, id, smp.Body, 3)
			if got.Model != id || len(got.Top) != 3 || got.Ms <= 0 {
				t.Fatalf("%s %s: got %+v", id, smp.Name, got)
			}
			for j := range want {
				if got.Top[j].Index != want[j].Index || got.Top[j].Label != want[j].Label || math.Abs(float64(got.Top[j].Prob-want[j].Prob)) > 1e-6 {
					t.Errorf("%s %s: top[%d] = %+v, want %+v", id, smp.Name, j, got.Top[j], want[j])
				}
			}
		}
	}
}

// TestLoadsOnce checks that a model loads once however many requests use
// it, concurrent first requests included.
func TestLoadsOnce(t *testing.T) {
	samples, _ := demo.Samples()
	s := newServer(api.Config{})
	if hz := health(t, s); hz.Loads != 0 || len(hz.Loaded) != 0 {
		t.Fatalf("fresh server: %+v", hz)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/v1/classify?model=lenet5", bytes.NewReader(samples[i].Body))
			req.Header.Set("Content-Type", samples[i].ContentType)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			codes[i] = w.Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d: %d", i, c)
		}
	}
	hz := health(t, s)
	if hz.Loads != 1 || hz.LoadsByModel["lenet5"] != 1 || len(hz.Loaded) != 1 || hz.Loaded[0] != "lenet5" {
		t.Errorf("after 8 concurrent requests: loads %d %v, loaded %v; want one load of lenet5", hz.Loads, hz.LoadsByModel, hz.Loaded)
	}
	do(t, s, http.MethodPost, "/v1/classify?model=lenet5", samples[0].ContentType, samples[0].Body, nil)
	if hz := health(t, s); hz.Loads != 1 {
		t.Errorf("a later request loaded again: loads %d", hz.Loads)
	}
	if hz.Requests < 10 || hz.Memory.HeapAlloc == 0 || hz.Memory.Sys == 0 || hz.BudgetBytes != api.DefaultBudget {
		t.Errorf("healthz: %+v", hz)
	}
}

// TestEviction gives a budget that holds MobileNetV3-Small (and its load)
// but not LeNet-5 beside it: MobileNet waits (503) while LeNet was used
// within MinResidency, then evicts it; LeNet then loads a second time.
func TestEviction(t *testing.T) {
	man, err := weights.ReadManifest(os.DirFS(root), "models/mobilenet_v3_small")
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	budget := 2*man.Memory.ParamBytes + man.Memory.ActivationBytes + 1000
	s := newServer(api.Config{Budget: budget, Now: clock.now})
	samples, _ := demo.Samples()
	for _, step := range []struct {
		id     string
		wait   time.Duration
		status int
	}{{"lenet5", 0, 200}, {"mobilenet_v3_small", 0, 503}, {"mobilenet_v3_small", api.MinResidency, 200}, {"lenet5", 0, 200}} {
		clock.advance(step.wait)
		w := do(t, s, http.MethodPost, "/v1/classify?model="+step.id, "image/png", samples[0].Body, nil)
		if w.Code != step.status {
			t.Fatalf("%s after %v: %d %s, want %d", step.id, step.wait, w.Code, w.Body, step.status)
		}
		if w.Code == 503 && w.Header().Get("Retry-After") != "30" {
			t.Errorf("503 with Retry-After %q, want 30", w.Header().Get("Retry-After"))
		}
	}
	hz := health(t, s)
	if hz.LoadsByModel["lenet5"] != 2 || hz.LoadsByModel["mobilenet_v3_small"] != 1 {
		t.Errorf("loads %v, want lenet5 twice (evicted once) and mobilenet_v3_small once", hz.LoadsByModel)
	}
	if fmt.Sprint(hz.Loaded) != "[lenet5 mobilenet_v3_small]" {
		t.Errorf("loaded %v, want both (LeNet's 2nd load fits beside MobileNet)", hz.Loaded)
	}
}

// TestModels checks /v1/models against the manifests; LeNet-5's 44,426
// float32 parameters (the zoo table) are its download and parameter bytes.
func TestModels(t *testing.T) {
	s := newServer(api.Config{})
	var got struct {
		Models      []api.ModelInfo `json:"models"`
		BudgetBytes int64           `json:"budget_bytes"`
	}
	if w := do(t, s, http.MethodGet, "/v1/models", "", nil, &got); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(got.Models) != 2 || got.Models[0].ID != "lenet5" || got.Models[1].ID != "mobilenet_v3_small" || got.BudgetBytes != api.DefaultBudget {
		t.Fatalf("models: %+v", got)
	}
	l := got.Models[0]
	if l.Arch != "lenet5" || l.ParamBytes != 4*44426 || l.DownloadBytes != 4*44426 || l.Labels != 10 || l.Output != "logits" || !l.Fits || l.Loaded || l.ActivationBytes <= 0 || l.Chunks != 1 {
		t.Errorf("lenet5: %+v", l)
	}
	in, _ := json.Marshal(l.Input)
	if string(in) != `{"shape":[1,28,28,1],"channel_order":"GRAY","scale":0.003921569}` {
		t.Errorf("lenet5 input %s", in)
	}
	m := got.Models[1]
	// 2,542,856 parameters (torchvision) plus batch-norm running statistics.
	if m.ParamBytes <= 4*2542856 || m.Chunks < 3 || !m.Fits {
		t.Errorf("mobilenet_v3_small: %+v", m)
	}
	if w := do(t, s, http.MethodHead, "/v1/models", "", nil, nil); w.Code != http.StatusOK {
		t.Errorf("HEAD /v1/models: %d", w.Code)
	}
}

// panicFS panics on Open: a bug below the handler must not kill the isolate.
type panicFS struct{}

func (panicFS) Open(string) (fs.File, error) { panic("store exploded") }

// overlay is the demo assets with some files replaced or removed.
func overlay(t *testing.T, edit func(fstest.MapFS)) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(p, "models/lenet5/") && p != api.IndexFile {
			return err
		}
		b, err := os.ReadFile(root + "/" + p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	return m
}

// chunkOf returns the path of LeNet-5's (single) chunk.
func chunkOf(t *testing.T) string {
	man, err := weights.ReadManifest(os.DirFS(root), "models/lenet5")
	if err != nil {
		t.Fatal(err)
	}
	return "models/lenet5/" + man.Chunks[0].File
}

// TestErrors sends every kind of bad request; each must answer a JSON
// error with its status, and the server must answer well afterwards.
func TestErrors(t *testing.T) {
	samples, _ := demo.Samples()
	png := samples[0].Body // bar.png, 28x28
	var big bytes.Buffer
	demo.Formats[0].Encode(&big, demo.Pictures()["rings"]) // 80x80 = 6400 pixels
	chunk := chunkOf(t)
	corrupt := overlay(t, func(m fstest.MapFS) {
		b := append([]byte(nil), m[chunk].Data...)
		b[100] ^= 1
		m[chunk] = &fstest.MapFile{Data: b}
	})
	missing := overlay(t, func(m fstest.MapFS) { delete(m, chunk) })
	tests := []struct {
		name   string
		cfg    api.Config
		method string
		target string
		ctype  string
		body   []byte
		status int
		substr string // in the error message
	}{
		{"GET classify", api.Config{}, "GET", "/v1/classify?model=lenet5", "", nil, 405, "use POST"},
		{"PUT classify", api.Config{}, "PUT", "/v1/classify?model=lenet5", "image/png", png, 405, "method PUT"},
		{"POST models", api.Config{}, "POST", "/v1/models", "", nil, 405, "GET or HEAD"},
		{"DELETE healthz", api.Config{}, "DELETE", "/healthz", "", nil, 405, "GET or HEAD"},
		{"no route", api.Config{}, "GET", "/v2/classify", "", nil, 404, "no route /v2/classify"},
		{"no model", api.Config{}, "POST", "/v1/classify", "image/png", png, 400, "missing ?model"},
		{"unknown model", api.Config{}, "POST", "/v1/classify?model=resnet9000", "image/png", png, 404, `unknown model "resnet9000" (have lenet5, mobilenet_v3_small)`},
		{"path escape", api.Config{}, "POST", "/v1/classify?model=../models/lenet5", "image/png", png, 404, "unknown model"},
		{"dot id", api.Config{}, "POST", "/v1/classify?model=..", "image/png", png, 404, "unknown model"},
		{"topk 0", api.Config{}, "POST", "/v1/classify?model=lenet5&topk=0", "image/png", png, 400, "topk"},
		{"topk word", api.Config{}, "POST", "/v1/classify?model=lenet5&topk=five", "image/png", png, 400, "topk"},
		{"no content type", api.Config{}, "POST", "/v1/classify?model=lenet5", "", png, 415, "content type"},
		{"text", api.Config{}, "POST", "/v1/classify?model=lenet5", "text/plain", png, 415, `"text/plain" is not supported`},
		{"form", api.Config{}, "POST", "/v1/classify?model=lenet5", "application/x-www-form-urlencoded", png, 415, "not supported"},
		{"bmp", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/bmp", png, 415, "not supported"},
		{"empty body", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/png", []byte{}, 413, "empty body"},
		{"nil body", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/png", nil, 413, "empty body"},
		{"oversize body", api.Config{MaxBody: 100}, "POST", "/v1/classify?model=lenet5", "image/png", png, 413, "exceeds the limit of 100"},
		{"oversize image", api.Config{MaxPixels: 1000}, "POST", "/v1/classify?model=lenet5", "image/png", big.Bytes(), 413, "png image of 80x80 pixels: the limit is 1000"},
		{"garbage", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/png", []byte("this is not an image"), 400, "cannot decode the image: image: unknown format"},
		{"truncated png", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/png", png[:len(png)/2], 400, "cannot decode the png image"},
		{"truncated webp", api.Config{}, "POST", "/v1/classify?model=lenet5", "image/webp", samples[3].Body[:60], 400, "webp"},
		{"over budget", api.Config{Budget: 1 << 20}, "POST", "/v1/classify?model=mobilenet_v3_small", "image/png", png, 507, "does not fit the isolate"},
		{"load over budget", api.Config{Budget: 2 * 177704}, "POST", "/v1/classify?model=lenet5", "image/png", png, 507, "while loading"},
		{"corrupt chunk", api.Config{Assets: corrupt}, "POST", "/v1/classify?model=lenet5", "image/png", png, 500, "integrity check failed"},
		{"missing chunk", api.Config{Assets: missing}, "POST", "/v1/classify?model=lenet5", "image/png", png, 500, "file does not exist"},
		{"panic", api.Config{Assets: panicFS{}}, "POST", "/v1/classify?model=lenet5", "image/png", png, 500, "internal error: store exploded"},
	}
	for _, tt := range tests {
		s := newServer(tt.cfg)
		var e api.Error
		w := do(t, s, tt.method, tt.target, tt.ctype, tt.body, &e)
		if w.Code != tt.status || e.Status != tt.status || !strings.Contains(e.Error, tt.substr) {
			t.Errorf("%s: %d %+v, want %d with %q", tt.name, w.Code, e, tt.status, tt.substr)
		}
		if tt.status == 405 && w.Header().Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tt.name)
		}
		// The same server still answers.
		if tt.cfg.Assets == nil {
			if w := do(t, s, http.MethodGet, "/healthz", "", nil, nil); w.Code != http.StatusOK {
				t.Errorf("%s: healthz afterwards: %d", tt.name, w.Code)
			}
		}
	}
	// The content length is checked before the body is read.
	s := newServer(api.Config{MaxBody: 10})
	req := httptest.NewRequest(http.MethodPost, "/v1/classify?model=lenet5", strings.NewReader(""))
	req.Header.Set("Content-Type", "image/jpeg")
	req.ContentLength = 1 << 30
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "body of 1073741824 bytes exceeds the limit of 10") {
		t.Errorf("declared length: %d %s", w.Code, w.Body)
	}
	// A refused model is listed as not fitting.
	var ms struct{ Models []api.ModelInfo }
	do(t, newServer(api.Config{Budget: 1 << 20}), http.MethodGet, "/v1/models", "", nil, &ms)
	if len(ms.Models) != 2 || !ms.Models[0].Fits || ms.Models[1].Fits {
		t.Errorf("models under a 1 MiB budget: %+v", ms.Models)
	}
}

// TestContentTypeParameters accepts media type parameters and
// application/octet-stream (the decoder sniffs the format).
func TestContentTypeParameters(t *testing.T) {
	samples, _ := demo.Samples()
	s := newServer(api.Config{})
	for _, ct := range []string{"image/png; charset=binary", "application/octet-stream", "IMAGE/PNG"} {
		if w := do(t, s, http.MethodPost, "/v1/classify?model=lenet5", ct, samples[0].Body, nil); w.Code != http.StatusOK {
			t.Errorf("%s: %d %s", ct, w.Code, w.Body)
		}
	}
}

// TestIndex reads the written index, and lists directories where a store
// has none.
func TestIndex(t *testing.T) {
	ids, err := api.ReadIndex(os.DirFS(root))
	if err != nil || fmt.Sprint(ids) != "[lenet5 mobilenet_v3_small]" {
		t.Errorf("index: %v %v", ids, err)
	}
	m := fstest.MapFS{"models/b/manifest.json": {}, "models/a/manifest.json": {}, "models/c/x.bin": {}}
	if ids, err := api.ReadIndex(m); err != nil || fmt.Sprint(ids) != "[a b]" {
		t.Errorf("scanned: %v %v", ids, err)
	}
	m = fstest.MapFS{api.IndexFile: {Data: []byte("{")}}
	if _, err := api.ReadIndex(m); err == nil {
		t.Error("a broken index gave no error")
	}
}
