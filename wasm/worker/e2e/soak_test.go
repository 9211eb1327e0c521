//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"webcnn/wasm/worker/api"
)

// The soak: CNN_SOAK_REQUESTS (default soakRequests) requests,
// soakConcurrency at a time, a forced crash halfway.
const (
	soakRequests    = 20000
	soakConcurrency = 16
	soakWindow      = 2000 // requests per line of figures
	// maxGrowth bounds the wasm memory after the soak over its value after
	// warm-up (the first window). syumai/workers' response path leaked
	// about 19 KB a response: 2,000 requests grew it by over 30 MiB.
	maxGrowth = 10 << 20
	// crashPath is the route of a -tags workercrash build that kills the
	// Go instance (wasm/worker/crash_js.go).
	crashPath = "/__test/crash"
)

// badCase is a bad request and the answer it must get.
type badCase struct {
	name, method, target, ctype string
	body                        []byte
	hdr                         []string
	status                      int
	substr                      string // in the error message
	retry                       bool   // with Retry-After
}

// png16 is a w x h 16-bit PNG of a few kB whose decoding would take 28
// bytes a pixel.
func png16(w, h int) []byte {
	m := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, m)
	return b.Bytes()
}

// badCases are the kinds of bad request, one of each.
func badCases(t *testing.T, e *env) []badCase {
	var png8, webp []byte
	for _, s := range e.samples {
		switch {
		case png8 == nil && s.ContentType == "image/png" && s.model == lenet:
			png8 = s.Body
		case webp == nil && s.ContentType == "image/webp":
			webp = s.Body
		}
	}
	var huge bytes.Buffer // 3000x3000: over MAX_PIXELS, about 9 kB
	png.Encode(&huge, image.NewGray(image.Rect(0, 0, 3000, 3000)))
	cl := "/v1/classify?model=" + lenet
	return []badCase{
		{name: "wrong method", method: "GET", target: cl, status: 405, substr: "use POST"},
		{name: "wrong method on models", method: "POST", target: "/v1/models", ctype: "image/png", body: png8, status: 405, substr: "GET or HEAD"},
		{name: "wrong method on healthz", method: "PUT", target: "/healthz", status: 405, substr: "GET or HEAD"},
		{name: "no route", method: "GET", target: "/v1/nothing", status: 404, substr: "no route"},
		{name: "unknown model", method: "POST", target: "/v1/classify?model=resnet9000", ctype: "image/png", body: png8, status: 404, substr: `unknown model "resnet9000" (have lenet5-mnist, paddleocr-cls)`},
		{name: "path escape", method: "POST", target: "/v1/predict?model=..%2Fmodels", ctype: "image/png", body: png8, status: 404, substr: "unknown model"},
		{name: "missing model", method: "POST", target: "/v1/classify", ctype: "image/png", body: png8, status: 400, substr: "missing ?model"},
		{name: "bad topk", method: "POST", target: cl + "&topk=-1", ctype: "image/png", body: png8, status: 400, substr: "topk"},
		{name: "unsupported type", method: "POST", target: cl, ctype: "text/plain", body: png8, status: 415, substr: "not supported"},
		{name: "empty body", method: "POST", target: cl, ctype: "image/png", status: 413, substr: "empty body"},
		{name: "undecodable", method: "POST", target: cl, ctype: "image/jpeg", body: []byte("\x89PNG\r\n\x1a\n but no header"), status: 400, substr: "cannot decode the image: "},
		{name: "not an image", method: "POST", target: "/v1/predict?model=" + paddle, ctype: "image/webp", body: []byte("hello"), status: 400, substr: "image: unknown format"},
		{name: "truncated png", method: "POST", target: cl, ctype: "image/png", body: png8[:len(png8)/2], status: 400, substr: "cannot decode the png image"},
		{name: "truncated webp", method: "POST", target: "/v1/classify?model=" + paddle, ctype: "image/webp", body: webp[:40], status: 400, substr: "webp"},
		{name: "too many pixels", method: "POST", target: cl, ctype: "image/png", body: huge.Bytes(), status: 413, substr: "png image of 3000x3000 pixels: the limit is 2097152"},
		{name: "16-bit over decode budget", method: "POST", target: cl, ctype: "image/png", body: png16(1448, 1448), status: 413, substr: "over the decode budget of 41943040"},
		{name: "preflight, other origin", method: "OPTIONS", target: cl, hdr: []string{"Origin", "https://other.example", "Access-Control-Request-Method", "POST"}, status: 403, substr: `origin "https://other.example" may not call this API`},
		{name: "preflight, page origin", method: "OPTIONS", target: cl, hdr: []string{"Origin", pageOrigin, "Access-Control-Request-Method", "POST"}, status: 204},
	}
}

// oversize is the rare bad request: a body over MAX_BODY_BYTES (4 MiB).
func oversize() badCase {
	return badCase{name: "oversize body", method: "POST", target: "/v1/classify?model=" + lenet, ctype: "image/jpeg",
		body: bytes.Repeat([]byte{0xff}, api.DefaultMaxBody+1), status: 413, substr: "exceeds the limit of 4194304"}
}

// job is one soak request and how to check its answer.
type job struct {
	name, method, target, ctype string
	body                        []byte
	hdr                         []string
	status                      int
	want                        []byte // the native answer of a good request
	predict                     bool
}

func (j job) check(r result) error {
	if r.code != j.status {
		return fmt.Errorf("status %d, want %d: %.200s", r.code, j.status, r.body)
	}
	switch {
	case j.method == http.MethodHead:
		if len(r.body) != 0 || r.header.Get("Content-Length") == "" {
			return fmt.Errorf("HEAD: %d bytes of body, Content-Length %q", len(r.body), r.header.Get("Content-Length"))
		}
		return nil
	case j.want == nil:
		if j.status != http.StatusNoContent {
			var je api.Error
			if err := json.Unmarshal(r.body, &je); err != nil || je.Status != j.status {
				return fmt.Errorf("error body %.200s", r.body)
			}
		}
		return nil
	case j.predict:
		return samePrediction(r.body, j.want)
	}
	return sameClassification(r.body, j.want)
}

// pick chooses the good sample of request i: seven LeNet-5 samples for
// each one of the orientation classifier (whose CPU time is six times
// LeNet-5's), every sample and format in turn.
func (e *env) pick(i int) int {
	var lenets, paddles []int
	for k, s := range e.samples {
		if s.model == lenet {
			lenets = append(lenets, k)
		} else {
			paddles = append(paddles, k)
		}
	}
	if i%16 == 0 {
		return paddles[(i/16)%len(paddles)]
	}
	return lenets[(i/2)%len(lenets)]
}

// soakJobs are the soak's requests in order: a good one (both models,
// every sample and format, one in five on /v1/predict) for each bad one
// (each kind in turn; an oversize body one in 500), and a HEAD one in
// 100. Bad requests cost the isolate little: most of the soak's time is
// wrangler dev's own work per request.
func (e *env) soakJobs(t *testing.T, n int) []job {
	type key struct {
		i       int
		predict bool
	}
	native := map[key][]byte{}
	bad := badCases(t, e)
	jobs := make([]job, n)
	for i := range jobs {
		switch {
		case i%500 == 499:
			c := oversize()
			jobs[i] = job{name: c.name, method: c.method, target: c.target, ctype: c.ctype, body: c.body, status: c.status}
		case i%100 == 98:
			jobs[i] = job{name: "HEAD models", method: http.MethodHead, target: "/v1/models", status: 200}
		case i%2 == 1:
			c := bad[(i/2)%len(bad)]
			jobs[i] = job{name: c.name, method: c.method, target: c.target, ctype: c.ctype, body: c.body, hdr: c.hdr, status: c.status}
		default:
			k := key{e.pick(i), i%10 == 4}
			s := e.samples[k.i]
			target := "/v1/classify?model=" + s.model + "&topk=3"
			if k.predict {
				target = "/v1/predict?model=" + s.model
			}
			if native[k] == nil {
				native[k] = e.native(t, target, s)
			}
			jobs[i] = job{name: s.model + " " + s.Name, method: "POST", target: target, ctype: s.ContentType, body: s.Body, status: 200, want: native[k], predict: k.predict}
		}
	}
	return jobs
}

// window collects a window's latencies (under the soak's lock) and the
// lines of figures (under its own).
type window struct {
	start time.Time
	lat   []time.Duration
	mu    sync.Mutex
	lines []string
	warm  float64 // wasm MiB after the first window
}

func quantile(lat []time.Duration, p float64) time.Duration {
	return lat[int(math.Ceil(p*float64(len(lat))))-1].Round(100 * time.Microsecond)
}

// soak sends the jobs, soakConcurrency at a time, with a forced crash
// halfway when nothing else is in flight: the crash request is a 500, the
// next one is answered right, /healthz counts one restart. Every good
// request must get the native answer and every bad one its status; the
// wasm memory at the end must be within maxGrowth of its value after the
// first window.
func (e *env) soak(t *testing.T, base string) {
	n := soakRequests
	if v := os.Getenv("CNN_SOAK_REQUESTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2*soakWindow {
			t.Fatalf("CNN_SOAK_REQUESTS=%q: want a number of at least %d", v, 2*soakWindow)
		}
	}
	jobs := e.soakJobs(t, n)
	var mu sync.Mutex
	var failures []string
	codes := map[int]int{}
	done := 0
	w := &window{start: time.Now()}
	t0 := time.Now()
	phase := func(from, to int) {
		ch := make(chan int)
		var wg sync.WaitGroup
		for k := 0; k < soakConcurrency; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ch {
					j := jobs[i]
					r, err := send(base, j.method, j.target, j.ctype, j.body, j.hdr...)
					if err == nil {
						err = j.check(r)
					}
					mu.Lock()
					codes[r.code]++
					if err != nil {
						failures = append(failures, fmt.Sprintf("request %d (%s %s): %v", i, j.name, j.target, err))
					}
					done++
					w.lat = append(w.lat, r.dur)
					var lat []time.Duration
					var start time.Time
					at := done
					if done%soakWindow == 0 {
						lat, start = w.lat, w.start
						w.lat, w.start = nil, time.Now()
					}
					mu.Unlock()
					if lat != nil {
						w.flush(t, base, lat, start, at)
					}
				}
			}()
		}
		for i := from; i < to; i++ {
			ch <- i
		}
		close(ch)
		wg.Wait()
	}
	half := n / 2
	phase(0, half)
	before := health(t, base)
	r, err := send(base, http.MethodGet, crashPath, "", nil)
	if err != nil || r.code != http.StatusInternalServerError || !strings.Contains(string(r.body), "Go instance exited") {
		t.Errorf("crash: %d %s %v, want a 500 saying the Go instance exited", r.code, r.body, err)
	}
	j := jobs[0] // a good request, right after the crash
	r, err = send(base, j.method, j.target, j.ctype, j.body)
	if err == nil {
		err = j.check(r)
	}
	if err != nil {
		t.Errorf("the request after the crash (%s): %v", j.name, err)
	}
	after := health(t, base)
	if r0, r1 := before.Extra["restarts"], after.Extra["restarts"]; r0 != 0.0 || r1 != 1.0 {
		t.Errorf("restarts before the crash %v, after %v; want 0 and 1", r0, r1)
	}
	t.Logf("crash at request %d: 500, the next request answered in %v (a new Go instance: %v), last exit %v",
		half, r.dur.Round(time.Millisecond), after.Extra["instance"], after.Extra["last_exit"])
	phase(half, n)
	wall := time.Since(t0)

	h := health(t, base)
	t.Logf("soak: %d requests (%d good, %d bad of %d kinds), %d concurrent, in %v: %.0f req/s; statuses %v",
		n, codes[200], n-codes[200], len(badCases(t, e))+1, soakConcurrency, wall.Round(time.Second), float64(n)/wall.Seconds(), codes)
	sort.Strings(w.lines) // flushes may finish out of order; counts are padded
	for _, l := range w.lines {
		t.Log(l)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests were not answered right; first ones:\n%s", len(failures), n, strings.Join(failures[:min(10, len(failures))], "\n"))
	}
	final, maxSeen := wasmMiB(h), extraMiB(h, "max_wasm_memory_bytes")
	t.Logf("wasm memory: %.1f MiB after warm-up, %.1f MiB at the end, largest %.1f MiB; Go heap in use %.1f MiB",
		w.warm, final, maxSeen, mib(h.Memory.HeapInuse))
	if final > w.warm+maxGrowth>>20 || maxSeen > w.warm+maxGrowth>>20 {
		t.Errorf("wasm memory %.1f MiB at the end, largest %.1f MiB: more than %d MiB over its %.1f MiB after warm-up", final, maxSeen, maxGrowth>>20, w.warm)
	}
}

// flush logs a window's figures and the isolate's memory after it.
func (w *window) flush(t *testing.T, base string, lat []time.Duration, start time.Time, done int) {
	rps := float64(len(lat)) / time.Since(start).Seconds()
	h := health(t, base)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	w.mu.Lock()
	defer w.mu.Unlock()
	if done == soakWindow {
		w.warm = wasmMiB(h)
	}
	w.lines = append(w.lines, fmt.Sprintf("%6d requests: %5.0f req/s, p50 %8v p95 %8v p99 %8v; wasm memory %5.1f MiB (largest %5.1f), Go heap in use %5.1f MiB, restarts %v",
		done, rps, quantile(lat, 0.5), quantile(lat, 0.95), quantile(lat, 0.99), wasmMiB(h), extraMiB(h, "max_wasm_memory_bytes"), mib(h.Memory.HeapInuse), h.Extra["restarts"]))
}

func extraMiB(h api.Health, k string) float64 {
	if v, ok := h.Extra[k].(float64); ok {
		return v / (1 << 20)
	}
	return -1
}

// cpuTicks is the CPU time (user + system, in clock ticks of 10 ms) of
// the workerd processes in process group pgid: what the isolate spends,
// whatever else the machine runs.
func cpuTicks(t *testing.T, pgid int) int64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var n int64
	found := false
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ... utime(14) stime(15)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(workerd") {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 13 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		n += u + st
		found = true
	}
	if !found {
		t.Fatalf("no workerd process in process group %d", pgid)
	}
	return n
}

// cpu sends requests one at a time per model (held) and measures the CPU
// time workerd spends on them (/proc, in 10 ms ticks over the whole run,
// so the machine's other load does not count), next to the isolate's own
// clock (the glue's Server-Timing), which counts waiting for the CPU too.
func (e *env) cpu(t *testing.T, base string) {
	for _, m := range []struct {
		id   string
		reps int
	}{{lenet, 8}, {paddle, 2}} {
		var ms []float64
		var n int
		t0 := cpuTicks(t, e.groups[base])
		for _, s := range e.samples {
			if s.model != m.id {
				continue
			}
			for k := 0; k < m.reps; k++ {
				r, err := send(base, http.MethodPost, "/v1/classify?model="+m.id, s.ContentType, s.Body)
				if err != nil || r.code != 200 {
					t.Fatalf("%s: %d %s %v", m.id, r.code, r.body, err)
				}
				st := r.header.Get("Server-Timing")
				v, err := strconv.ParseFloat(strings.TrimPrefix(st, "worker;dur="), 64)
				if err != nil {
					t.Fatalf("Server-Timing %q", st)
				}
				ms = append(ms, v)
				n++
			}
		}
		ticks := cpuTicks(t, e.groups[base]) - t0
		sort.Float64s(ms)
		t.Logf("cpu %s: %d requests one at a time: workerd CPU time %.1f ms a request (%d ticks); isolate clock p50 %.0f ms, p90 %.0f ms, max %.0f ms",
			m.id, n, float64(ticks)*10/float64(n), ticks, ms[len(ms)/2], ms[len(ms)*9/10], ms[len(ms)-1])
	}
}
