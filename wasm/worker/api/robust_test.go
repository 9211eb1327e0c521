package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/wasm/worker/api"
	"webcnn/wasm/worker/demo"
)

// clock is a settable clock for backoff and residency.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestNoThrash alternates two models that do not fit together: the first
// stays held and the other is answered 503 with Retry-After, instead of
// each request evicting and reloading (8 requests were 8 loads).
func TestNoThrash(t *testing.T) {
	man, err := weights.ReadManifest(os.DirFS(root), "models/mobilenet_v3_small")
	if err != nil {
		t.Fatal(err)
	}
	// Two copies of MobileNetV3-Small: one fits (and its load), not both.
	twins := fstest.MapFS{}
	for _, id := range []string{"m1", "m2"} {
		ents, _ := os.ReadDir(root + "/models/mobilenet_v3_small")
		for _, e := range ents {
			b, _ := os.ReadFile(root + "/models/mobilenet_v3_small/" + e.Name())
			twins["models/"+id+"/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	s := newServer(api.Config{Assets: twins, Budget: 2*man.Memory.ParamBytes + man.Memory.ActivationBytes + 1000, Now: newClock().now})
	samples, _ := demo.Samples()
	codes := map[int]int{}
	for i := 0; i < 8; i++ {
		id := []string{"m1", "m2"}[i%2]
		w := do(t, s, http.MethodPost, "/v1/classify?model="+id, "image/png", samples[0].Body, nil)
		codes[w.Code]++
		if w.Code == 503 && w.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	if hz := health(t, s); hz.Loads != 1 || codes[200] != 4 || codes[503] != 4 {
		t.Errorf("8 alternating requests: %d loads, statuses %v; want 1 load, 4 answers and 4 503s", hz.Loads, codes)
	}
}

// countFS counts the opens of each file.
type countFS struct {
	fs.FS
	mu    sync.Mutex
	opens map[string]int
}

func (c *countFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opens[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

// TestFailureBackoff: a corrupted model is read once, its failure then
// answered from memory (500 with Retry-After) until the backoff ends; the
// next try doubles the backoff.
func TestFailureBackoff(t *testing.T) {
	chunk := chunkOf(t)
	store := &countFS{opens: map[string]int{}, FS: overlay(t, func(m fstest.MapFS) {
		b := append([]byte(nil), m[chunk].Data...)
		b[100] ^= 1
		m[chunk] = &fstest.MapFile{Data: b}
	})}
	clock := newClock()
	s := newServer(api.Config{Assets: store, Now: clock.now})
	samples, _ := demo.Samples()
	try := func(wantReads int, wantRetry string) {
		t.Helper()
		var e api.Error
		w := do(t, s, http.MethodPost, "/v1/classify?model=lenet5", "image/png", samples[0].Body, &e)
		if w.Code != 500 || !strings.Contains(e.Error, "integrity check failed") || w.Header().Get("Retry-After") != wantRetry {
			t.Errorf("%d %+v Retry-After %q, want 500 integrity, Retry-After %q", w.Code, e, w.Header().Get("Retry-After"), wantRetry)
		}
		if got := store.opens[chunk]; got != wantReads {
			t.Errorf("chunk read %d times, want %d", got, wantReads)
		}
	}
	try(1, "")
	for i := 0; i < 5; i++ {
		try(1, "5")
	}
	clock.advance(api.FailureBackoff)
	try(2, "")
	try(2, "10")
	clock.advance(9 * time.Second)
	try(2, "1")
	hz := health(t, s)
	if hz.Failures != 2 || hz.FailuresByModel["lenet5"] != 2 || !strings.Contains(hz.LastErrors["lenet5"], "integrity") {
		t.Errorf("healthz failures %d %v %v, want 2 for lenet5", hz.Failures, hz.FailuresByModel, hz.LastErrors)
	}
}

// brokenFS fails every read: the store itself is down.
type brokenFS struct{}

func (brokenFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("connection reset by the store")}
}

// TestStatusCodes: a model that cannot be built is the server's 500; 502
// is only for a store that fails.
func TestStatusCodes(t *testing.T) {
	edit := func(f func(*weights.Manifest)) fs.FS {
		return overlay(t, func(m fstest.MapFS) {
			man, err := weights.Parse(m["models/lenet5/manifest.json"].Data)
			if err != nil {
				t.Fatal(err)
			}
			f(man)
			b, err := json.Marshal(man)
			if err != nil {
				t.Fatal(err)
			}
			m["models/lenet5/manifest.json"] = &fstest.MapFile{Data: b}
		})
	}
	samples, _ := demo.Samples()
	for _, tc := range []struct {
		name   string
		fsys   fs.FS
		status int
		substr string
	}{
		{"understated parameters", edit(func(m *weights.Manifest) { m.Memory.ParamBytes = 0 }), 0, ""},
		{"unknown architecture", edit(func(m *weights.Manifest) { m.Arch.ID = "resnet9000" }), 500, "resnet9000"},
		{"wrong tensor shape", edit(func(m *weights.Manifest) {
			for i := range m.Tensors {
				if s := m.Tensors[i].Shape; len(s) == 2 { // a dense weight, transposed
					s[0], s[1] = s[1], s[0]
					return
				}
			}
			t.Fatal("no dense weight")
		}), 500, "shape"},
		{"tensor of another size", edit(func(m *weights.Manifest) {
			for i := range m.Tensors {
				if m.Tensors[i].Name == "fc3.bias" {
					m.Tensors[i].Shape, m.Tensors[i].Length = []int{9}, 36
				}
			}
		}), 500, "fc3.bias"},
		{"labels for another output", edit(func(m *weights.Manifest) { delete(m.Arch.Config, "classes"); m.Labels = m.Labels[:9] }), 500, "9 labels for an output of 10 values"},
		{"store down", brokenFS{}, 502, "connection reset by the store"},
		{"huge input", edit(func(m *weights.Manifest) { m.Input.Shape = []int{1, 12000, 12000, 3} }), 500, "input: shape [1 12000 12000 3]"},
	} {
		if tc.status == 0 { // budgeted by its tensors: LeNet-5's 177,704 bytes twice do not fit 300,000
			var e api.Error
			w := do(t, newServer(api.Config{Assets: tc.fsys, Budget: 300_000}), http.MethodPost, "/v1/classify?model=lenet5", "image/png", samples[0].Body, &e)
			if w.Code != 507 || !strings.Contains(e.Error, "its 177704 bytes of parameters twice") {
				t.Errorf("%s: %d %s, want 507 counting 177704 bytes of parameters", tc.name, w.Code, e.Error)
			}
			continue
		}
		var e api.Error
		w := do(t, newServer(api.Config{Assets: tc.fsys}), http.MethodPost, "/v1/classify?model=lenet5", "image/png", samples[0].Body, &e)
		if w.Code != tc.status || !strings.Contains(e.Error, tc.substr) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, w.Code, e.Error, tc.status, tc.substr)
		}
	}
}

// TestCORS: allowed origins get the CORS headers and their preflight
// answered; others get neither.
func TestCORS(t *testing.T) {
	for _, tc := range []struct {
		allow          []string
		origin, header string
		preflight      int
	}{
		{[]string{"https://a.example"}, "https://a.example", "https://a.example", 204},
		{[]string{"https://a.example"}, "https://b.example", "", 403},
		{[]string{"*"}, "https://b.example", "*", 204},
		{nil, "https://a.example", "", 403},
	} {
		s := newServer(api.Config{AllowOrigins: tc.allow})
		req := func(method string) *http.Response {
			r, _ := http.NewRequest(method, "http://x/v1/classify?model=lenet5", nil)
			r.Header.Set("Origin", tc.origin)
			if method == http.MethodOptions {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "content-type")
			}
			return serve(s, r)
		}
		res := req(http.MethodGet)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.header {
			t.Errorf("allow %v, origin %s: Access-Control-Allow-Origin %q, want %q", tc.allow, tc.origin, got, tc.header)
		}
		res = req(http.MethodOptions)
		if res.StatusCode != tc.preflight {
			t.Errorf("allow %v, origin %s: preflight %d, want %d", tc.allow, tc.origin, res.StatusCode, tc.preflight)
		}
		if tc.preflight == 204 && (!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") || res.Header.Get("Access-Control-Allow-Headers") != "Content-Type") {
			t.Errorf("allow %v: preflight headers %v", tc.allow, res.Header)
		}
	}
}

// TestPredict answers the output tensor with its shape: LeNet-5's ten
// logits, equal to the reference's, whose softmax is /v1/classify's top.
func TestPredict(t *testing.T) {
	s := newServer(api.Config{})
	samples, _ := demo.Samples()
	for _, sm := range samples[:4] {
		var p api.Prediction
		if w := do(t, s, http.MethodPost, "/v1/predict?model=lenet5", sm.ContentType, sm.Body, &p); w.Code != 200 {
			t.Fatalf("%s: %d %s", sm.Name, w.Code, w.Body)
		}
		want := referenceOutput(t, "lenet5", sm.Body)
		if len(p.Outputs) != 1 || len(p.Outputs[0].Shape) != 2 || p.Outputs[0].Shape[0] != 1 || p.Outputs[0].Shape[1] != 10 || len(p.Outputs[0].Data) != 10 {
			t.Fatalf("%s: %+v, want one [1 10] output", sm.Name, p)
		}
		for i, v := range p.Outputs[0].Data {
			if math.Abs(float64(v-want[i])) > 1e-5 {
				t.Errorf("%s: logit %d is %v, reference %v", sm.Name, i, v, want[i])
			}
		}
		top := models.Top(want, true, nil, 1)[0]
		var c api.Classification
		do(t, s, http.MethodPost, "/v1/classify?model=lenet5&topk=1", sm.ContentType, sm.Body, &c)
		if c.Top[0].Index != top.Index || math.Abs(float64(c.Top[0].Prob-top.Prob)) > 1e-6 {
			t.Errorf("%s: classify %+v, softmax of predict %+v", sm.Name, c.Top[0], top)
		}
	}
}

// png16 is a w x h 16-bit RGBA PNG of one color: a few kB that decode to
// 8 bytes a pixel.
func png16(t *testing.T, w, h int) []byte {
	m := image.NewRGBA64(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	for y := 0; y < h; y++ {
		copy(m.Pix[y*m.Stride:(y+1)*m.Stride], m.Pix[:m.Stride])
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeBudget: a 20 kB 16-bit PNG of 1448x1448 (under MaxPixels) is
// refused by its decoding cost, 28 bytes a pixel (TestDecodeCost measures
// it); an 8-bit RGBA one of the same size (16 bytes a pixel) is decoded.
func TestDecodeBudget(t *testing.T) {
	s := newServer(api.Config{})
	big := png16(t, 1448, 1448)
	var e api.Error
	if w := do(t, s, http.MethodPost, "/v1/classify?model=lenet5", "image/png", big, &e); w.Code != 413 || !strings.Contains(e.Error, "takes 58976128 bytes to decode and prepare, over the decode budget of 41943040") {
		t.Errorf("16-bit 1448x1448 PNG (%d bytes): %d %s, want 413 over the decode budget", len(big), w.Code, e.Error)
	}
	m := image.NewRGBA(image.Rect(0, 0, 1448, 1448))
	for i := range m.Pix {
		m.Pix[i] = uint8(i % 251)
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	var b bytes.Buffer
	png.Encode(&b, m)
	if w := do(t, s, http.MethodPost, "/v1/classify?model=lenet5", "image/png", b.Bytes(), nil); w.Code != 200 {
		t.Errorf("8-bit RGBA 1448x1448 PNG: %d %s", w.Code, w.Body)
	}
}

// serve runs one request through h.
func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}
