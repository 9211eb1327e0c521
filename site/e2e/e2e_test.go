//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/site"
	"webcnn/wasm/worker/api"
	"webcnn/wasm/worker/demo"
)

// browser finds headless Chromium: chromium-headless-shell, or the full
// chromium binary (not the /usr/bin launcher script).
func browser() string {
	for _, p := range []string{"/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, n := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// env is one run of the page.
type env struct {
	t       *testing.T
	dir     string // the built site
	files   string // test images
	h       *site.Handler
	srv     *httptest.Server
	ctx     context.Context
	shots   string
	console *bytes.Buffer
	mu      sync.Mutex
}

func TestSite(t *testing.T) {
	exe := browser()
	if exe == "" {
		if os.Getenv("CNN_REQUIRE_BROWSER") == "1" {
			t.Fatal("no chromium-headless-shell or chromium: run site/testdata/install-browser.sh")
		}
		t.Skip("no chromium-headless-shell or chromium (site/testdata/install-browser.sh installs it; CNN_REQUIRE_BROWSER=1 makes this a failure)")
	}
	if testing.Short() {
		t.Skip("the browser test builds the site and drives Chromium")
	}
	start := time.Now()
	e := setup(t, exe)
	t.Logf("setup (build, models, browser) took %v", time.Since(start).Round(time.Millisecond))

	digit := filepath.Join(e.files, "digit.png")
	rings := filepath.Join(e.files, "rings.png")
	lenetDigit := e.nativeProbs("lenet5", digit)
	mobileRings := e.nativeProbs("mobilenet_v3_small", rings)

	// 1. The page lists the models and loads the first one, LeNet-5.
	e.open("/#lenet5")
	e.waitLoaded("lenet5")
	e.shot("01-lenet5-ready")

	if got := e.eval(`typeof globalThis.__webcnn`); got != "undefined" {
		t.Errorf("the runtime's API is on the page (%s): it should run in its worker", got)
	}

	// 2. A generated digit, picked as a file: the same top-1 as natively.
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)
	e.shot("02-lenet5-file")

	// Pasted and dropped: the same file, the same answer.
	for _, ev := range []string{
		`document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true}))`,
		`document.getElementById("stage").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}))`,
	} {
		e.act(func() {
			e.eval(fmt.Sprintf(`(async () => {
				const b = await (await fetch("data:image/png;base64,%s")).blob();
				const dt = new DataTransfer();
				dt.items.add(new File([b], "digit.png", {type: "image/png"}));
				%s;
				return "";
			})()`, base64File(t, digit), ev))
		})
		e.expectTop(lenetDigit, 1e-5)
	}

	// The camera (Chromium's fake device: a generated test pattern) and
	// the generated-image button.
	e.act(func() {
		e.click("#camera")
		e.poll(`document.getElementById("video").videoWidth > 0 && !document.getElementById("snap").hidden`, 20*time.Second)
		e.click("#snap")
	})
	e.expectBars()
	if got := e.eval(`document.getElementById("stage").dataset.source`); got != "camera" {
		t.Errorf("after a capture, the stage shows %q, want camera", got)
	}
	e.act(func() { e.click("#sample") })
	e.expectBars()

	// 3. A digit drawn on the pad with the mouse.
	e.act(func() { e.draw() })
	if got := e.eval(`document.getElementById("stage").dataset.source`); got != "pad" {
		t.Errorf("after drawing, the stage shows %q, want pad", got)
	}
	e.expectBars()
	e.shot("03-lenet5-drawn")

	// 4. MobileNetV3-Small, with the download throttled to see the progress bar.
	e.throttle(4 << 20)
	e.eval(`(() => { const s = document.getElementById("model"); s.value = "mobilenet_v3_small"; s.dispatchEvent(new Event("change")); return "" })()`)
	e.poll(`(() => { const p = document.getElementById("progress"); return !p.hidden && +p.getAttribute("aria-valuenow") > 5 && +p.getAttribute("aria-valuenow") < 95 })()`, 30*time.Second)
	e.shot("04-mobilenet-progress")
	e.throttle(0)
	e.waitLoaded("mobilenet_v3_small")
	e.act(func() { e.upload(rings) })
	e.expectTop(mobileRings, 1e-6)
	e.shot("05-mobilenet-file")

	// 5. WebGPU: the same answer, or a visible note and the CPU.
	e.act(func() { e.click(`label[for="be-webgpu"]`) })
	backend := e.eval(`document.getElementById("backend-note").dataset.backend`)
	if backend == "webgpu" {
		e.expectTop(mobileRings, 1e-5)
		if got := e.eval(`document.getElementById("timing").dataset.backend`); got != "webgpu" {
			t.Errorf("timing says backend %q, want webgpu", got)
		}
		if n := e.eval(`String(document.querySelectorAll("#latency-rows tr").length)`); n != "2" {
			t.Errorf("latency table has %s rows, want cpu and webgpu", n)
		}
	} else {
		t.Logf("WebGPU is unavailable here: checking the page says so and runs on the CPU")
		note := e.eval(`document.getElementById("backend-note").textContent`)
		if e.eval(`document.getElementById("backend-note").dataset.fallback`) != "true" || !strings.Contains(note, "not available") {
			t.Errorf("backend note %q does not say WebGPU is unavailable", note)
		}
		e.expectTop(mobileRings, 1e-6)
	}
	t.Logf("webgpu: %s; %s", backend, e.eval(`document.getElementById("backend-note").textContent`))
	e.shot("06-webgpu")
	e.act(func() { e.click(`label[for="be-cpu"]`) })

	// 6. MC-dropout: mean and variance per class (MobileNetV3 has dropout
	// before its last layer, so the variance is not zero).
	e.eval(`(() => { const m = document.getElementById("mc-m"); m.value = "8"; m.dispatchEvent(new Event("change")); return "" })()`)
	e.act(func() { e.click("#mc") })
	vars := e.eval(`[...document.querySelectorAll("#top li")].map(li => li.dataset.variance).join(",")`)
	if vars == "" || !strings.ContainsAny(strings.ReplaceAll(vars, "0,", ""), "123456789") {
		t.Errorf("MC-dropout variances %q: want numbers, not all zero", vars)
	}
	e.shot("07-mc-dropout")
	e.phone("08-phone")
	e.act(func() { e.click("#mc") })

	// 7. A second load requests no chunk: they come from the Cache API.
	e.h.ResetHits()
	e.open("/#mobilenet_v3_small")
	e.waitLoaded("mobilenet_v3_small")
	for p, n := range e.h.Hits() {
		if strings.HasSuffix(p, ".bin") {
			t.Errorf("second load: %d request(s) for chunk %s", n, p)
		}
	}
	if got := e.eval(`document.getElementById("summary").dataset.cachedChunks`); got != "3" {
		t.Errorf("second load: %s chunks from the cache, want 3", got)
	}

	// 8. The JS API: an interrupted download resumes, and model.predict,
	// summary, ensemble and dispose work.
	e.api()

	// 9. A corrupt chunk: the error names it.
	e.act(func() {
		e.eval(`(() => { const s = document.getElementById("model"); s.value = "lenet5-corrupt"; s.dispatchEvent(new Event("change")); return "" })()`)
	})
	e.expectError("integrity", corruptChunk)
	e.shot("09-corrupt-chunk")

	// 10. An unsupported file; the runtime survives and serves the next image.
	e.act(func() {
		e.eval(`(() => { const s = document.getElementById("model"); s.value = "lenet5"; s.dispatchEvent(new Event("change")); return "" })()`)
	})
	e.act(func() { e.upload(filepath.Join(e.files, "notes.png")) })
	e.expectError("unsupported-image", "not a PNG")
	e.shot("10-unsupported-file")
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)

	// 11. Offline: the server is gone and the network cut; a reload still
	// classifies (service worker + cached chunks).
	e.poll(`navigator.serviceWorker.controller !== null`, 20*time.Second)
	e.srv.Close()
	e.offline()
	e.open("/#lenet5")
	e.waitLoaded("lenet5")
	if got := e.eval(`document.getElementById("net").dataset.online`); got != "false" {
		t.Errorf("offline: the badge says online=%s", got)
	}
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)
	e.shot("11-offline")
	t.Logf("total %v; screenshots in %s", time.Since(start).Round(time.Millisecond), e.shots)
}

// corruptChunk is the chunk of lenet5-corrupt with a flipped byte.
var corruptChunk string

func setup(t *testing.T, exe string) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, dir: t.TempDir(), files: t.TempDir(), console: &bytes.Buffer{}}
	if err := site.Build(ctx, site.BuildOptions{Out: e.dir, Demo: true, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	// lenet5-corrupt: lenet5 with one byte of its chunk flipped.
	src, dst := filepath.Join(e.dir, "models/lenet5"), filepath.Join(e.dir, "models/lenet5-corrupt")
	copyDir(t, src, dst)
	m, err := weights.ReadManifest(os.DirFS(dst), ".")
	if err != nil {
		t.Fatal(err)
	}
	corruptChunk = m.Chunks[0].File
	b, err := os.ReadFile(filepath.Join(dst, corruptChunk))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	writeFile(t, filepath.Join(dst, corruptChunk), b)
	// mobilenet-resume: a copy whose chunks the server fails once (8.).
	copyDir(t, filepath.Join(e.dir, "models/mobilenet_v3_small"), filepath.Join(e.dir, "models/mobilenet-resume"))
	if err := api.WriteIndex(e.dir); err != nil {
		t.Fatal(err)
	}

	// Test images: generated, never photos.
	pics := demo.Pictures()
	writePNG(t, filepath.Join(e.files, "rings.png"), pics["rings"])
	writePNG(t, filepath.Join(e.files, "digit.png"), digitImage())
	writeFile(t, filepath.Join(e.files, "notes.png"), []byte("these are notes, not a picture\n"))

	e.h = site.NewHandler(os.DirFS(e.dir))
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)

	wd, _ := os.Getwd()
	e.shots = filepath.Join(wd, "../../build/screenshots")
	if err := os.MkdirAll(e.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// CNN_E2E_WEBGPU=0 leaves WebGPU off, to check the CPU fallback.
		chromedp.Flag("enable-unsafe-webgpu", os.Getenv("CNN_E2E_WEBGPU") != "0"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser, with no timeout
		t.Fatal(err)
	}
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			e.mu.Lock()
			fmt.Fprintf(e.console, "%s\n", m)
			e.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			e.mu.Lock()
			t.Logf("browser console:\n%s", e.console.String())
			e.mu.Unlock()
		}
	})
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	e.ctx = bctx
	return e
}

// run runs browser actions with a timeout.
func (e *env) do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.t.Fatalf("browser: %v", err)
	}
}

func (e *env) open(path string) {
	e.t.Helper()
	e.do(30*time.Second, chromedp.Navigate(e.srv.URL+path))
}

// eval evaluates a JavaScript expression whose value is a string.
func (e *env) eval(expr string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		e.t.Fatalf("evaluating %s: %v", expr, err)
	}
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// poll waits until a JavaScript expression is truthy.
func (e *env) poll(expr string, d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		e.t.Fatalf("waiting for %s: %v\nstatus: %s\nerror: %s", expr, err, e.text("status"), e.text("error"))
	}
}

func (e *env) text(id string) string {
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q)?.textContent ?? ""`, id)))
	return v
}

// waitLoaded waits until the page shows model id loaded.
func (e *env) waitLoaded(id string) {
	e.t.Helper()
	e.poll(fmt.Sprintf(`document.getElementById("model").value === %q && document.getElementById("summary").dataset.loaded === "true" && !["loading"].includes(document.getElementById("status").dataset.state)`, id), 60*time.Second)
}

// act runs an action that ends in an answer or an error on the page and
// waits for it (the status's data-seq grows).
func (e *env) act(f func()) {
	e.t.Helper()
	before := e.eval(`document.getElementById("status").dataset.seq ?? "0"`)
	f()
	e.poll(fmt.Sprintf(`(document.getElementById("status").dataset.seq ?? "0") !== %q && ["done", "error", "ready"].includes(document.getElementById("status").dataset.state)`, before), 90*time.Second)
	if st := e.eval(`document.getElementById("status").dataset.state`); st == "ready" {
		// a model load settled first: wait for the classification it starts
		if e.eval(`document.getElementById("stage").dataset.source`) != "" {
			e.poll(`["done", "error"].includes(document.getElementById("status").dataset.state)`, 90*time.Second)
		}
	}
}

func (e *env) upload(file string) {
	e.t.Helper()
	e.do(10*time.Second, chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}))
}

func (e *env) click(sel string) {
	e.t.Helper()
	e.do(10*time.Second, chromedp.Click(chromedp.CSS(sel)))
}

// draw shows the pad and draws a stroke like a 7 with the mouse.
func (e *env) draw() {
	e.t.Helper()
	e.click("#draw")
	var r struct{ X, Y, W, H float64 }
	if err := json.Unmarshal([]byte(e.eval(`(() => { const r = document.getElementById("pad").getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height} })()`)), &r); err != nil {
		e.t.Fatal(err)
	}
	pts := [][2]float64{{0.25, 0.25}, {0.5, 0.25}, {0.75, 0.25}, {0.65, 0.45}, {0.55, 0.65}, {0.45, 0.85}}
	var steps []chromedp.Action[chromedp.Void]
	for i, p := range pts {
		typ := chromedp.MouseMoved
		if i == 0 {
			typ = chromedp.MousePressed
		}
		steps = append(steps, chromedp.MouseEvent(typ, r.X+p[0]*r.W, r.Y+p[1]*r.H, chromedp.ButtonLeft))
	}
	last := pts[len(pts)-1]
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, r.X+last[0]*r.W, r.Y+last[1]*r.H, chromedp.ButtonLeft))
	e.do(10*time.Second, steps...)
}

// expectTop compares the page's bars with the native CPU backend's
// probabilities for the same file: every bar's probability within tol of
// the native one for its class, and the first bar the most probable class
// (or one within tol of it: random demo weights give near ties).
func (e *env) expectTop(want []float32, tol float64) {
	e.t.Helper()
	e.expectBars()
	var bars []struct {
		Index int
		Prob  float64
	}
	if err := json.Unmarshal([]byte(e.eval(`[...document.querySelectorAll("#top li")].map(li => ({Index: +li.dataset.index, Prob: +li.dataset.prob}))`)), &bars); err != nil {
		e.t.Fatal(err)
	}
	best := 0
	for i, p := range want {
		if p > want[best] {
			best = i
		}
	}
	for i, b := range bars {
		if b.Index < 0 || b.Index >= len(want) || math.Abs(b.Prob-float64(want[b.Index])) > tol {
			e.t.Errorf("bar %d: class %d p=%.6f, native CPU p=%.6f", i, b.Index, b.Prob, want[min(max(b.Index, 0), len(want)-1)])
		}
	}
	if len(bars) > 0 && float64(want[bars[0].Index]) < float64(want[best])-tol {
		e.t.Errorf("page's top-1 is class %d (native p=%.6f), native CPU's is %d (p=%.6f)", bars[0].Index, want[bars[0].Index], best, want[best])
	}
}

func (e *env) expectBars() {
	e.t.Helper()
	if st := e.eval(`document.getElementById("status").dataset.state`); st != "done" {
		e.t.Fatalf("status %s (%s), want done; error: %s", st, e.text("status"), e.text("error"))
	}
	if n := e.eval(`String(document.querySelectorAll("#top li").length)`); n != "5" {
		e.t.Errorf("%s bars, want 5", n)
	}
}

// expectError checks the visible error: its code and a word of it.
func (e *env) expectError(code, word string) {
	e.t.Helper()
	visible := e.eval(`String(!document.getElementById("error").hidden)`)
	got := e.eval(`document.getElementById("error").dataset.code`)
	msg := e.text("error")
	if visible != "true" || got != code || !strings.Contains(msg, word) {
		e.t.Errorf("error box (visible %s) says [%s] %q, want code %s mentioning %q", visible, got, msg, code, word)
	}
}

// throttle limits the download rate (bytes/s; 0: no limit).
func (e *env) throttle(rate float64) {
	e.t.Helper()
	c := &network.Conditions{DownloadThroughput: -1, UploadThroughput: -1}
	if rate > 0 {
		c.DownloadThroughput, c.Latency = rate, 20
	}
	if _, err := chromedp.Call(e.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{c}}); err != nil {
		e.t.Fatal(err)
	}
}

// offline cuts the network of the page and of its service worker.
func (e *env) offline() {
	e.t.Helper()
	sw := true
	if _, err := chromedp.Call(e.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &sw,
		MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := chromedp.Call(e.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		e.t.Fatal(err)
	}
}

// shot saves a screenshot of the whole page.
func (e *env) shot(name string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatalf("screenshot %s: %v", name, err)
	}
	writeFile(e.t, filepath.Join(e.shots, name+".png"), b)
}

// phone takes a screenshot at a phone's size (390x844, 3x).
func (e *env) phone(name string) {
	e.t.Helper()
	if _, err := chromedp.Call(e.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	e.shot(name)
	if _, err := chromedp.Call(e.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		e.t.Fatal(err)
	}
}

// api drives cnn.mjs directly: resume after a failed chunk, the second
// load from the cache, predict, summary, ensemble and dispose.
func (e *env) api() {
	t := e.t
	t.Helper()
	m, err := weights.ReadManifest(os.DirFS(e.dir), "models/mobilenet-resume")
	if err != nil {
		t.Fatal(err)
	}
	failing := "/models/mobilenet-resume/" + m.Chunks[1].File
	var once sync.Once
	e.h.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		hit := false
		if r.URL.Path == failing {
			once.Do(func() {
				hit = true
				http.Error(w, "interrupted", http.StatusServiceUnavailable)
			})
		}
		return hit
	}
	defer func() { e.h.Intercept = nil }()
	e.h.ResetHits()
	first := e.eval(`(async () => {
		const cnn = await import("./cnn.mjs");
		try { await cnn.load("models/mobilenet-resume/manifest.json", {backend: "cpu"}); return "loaded" }
		catch (err) { return err.code + ": " + err.message }
	})()`)
	if !strings.HasPrefix(first, "network: ") || !strings.Contains(first, m.Chunks[1].File) || !strings.Contains(first, "503") {
		t.Errorf("a load whose chunk fails: %q, want a network error naming %s", first, m.Chunks[1].File)
	}
	hits := e.h.Hits()
	for _, c := range m.Chunks {
		if n := hits["/models/mobilenet-resume/"+c.File]; n != 1 {
			t.Errorf("first load: chunk %s requested %d times, want 1", c.File, n)
		}
	}
	e.h.ResetHits()
	out := e.eval(`(async () => {
		const cnn = await import("./cnn.mjs");
		const m = await cnn.load("models/mobilenet-resume/manifest.json", {backend: "cpu"});
		const l = await cnn.load("models/lenet5/manifest.json", {backend: "cpu"});
		const s = m.summary();
		const x = new Float32Array(m.inputShape.reduce((a, b) => a * b, 1)).fill(0.5);
		const y = await m.predict(x);
		const mc = await m.predict(x, {mcDropout: 4, seed: 1});
		const c = new OffscreenCanvas(28, 28);
		const g = c.getContext("2d"); g.fillStyle = "#000"; g.fillRect(0, 0, 28, 28); g.fillStyle = "#fff"; g.fillRect(12, 4, 4, 20);
		const single = await l.classify(c, {topk: 3});
		const ens = await cnn.ensemble([l, l]).classify(c, {topk: 3});
		let bad = "", budget = "";
		try { await l.predict(new Float32Array(3)) } catch (err) { bad = err.code }
		try { await cnn.load("models/mobilenet_v3_small/manifest.json", {memoryBudget: 1e6}) } catch (err) { budget = err.code }
		await m.dispose();
		let disposed = "";
		try { await m.classify(c) } catch (err) { disposed = err.code }
		// The same library in the page's own thread ({worker: false}).
		const here = await import("./cnn.mjs?in-page");
		await here.init({worker: false});
		const lp = await here.load("models/lenet5/manifest.json", {backend: "cpu"});
		const inPage = await lp.classify(c, {topk: 3});
		const inPageHits = lp.loadStats.cachedChunks;
		await lp.dispose();
		await l.dispose();
		return {inPageTop: inPage[0].index, inPageProb: inPage[0].prob, inPageHits,stats: m.loadStats, params: s.params, classes: s.classes, backend: m.backend, outputs: y.length,
			mcOutputs: mc.mean.length, mcVar: Math.max(...mc.variance), top: single[0].index, ensTop: ens[0].index,
			ensMean: ens[0].mean, ensVar: ens[0].variance, singleProb: single[0].prob, bad, budget, disposed};
	})()`)
	var r struct {
		Stats                       struct{ Chunks, CachedChunks, Requests int }
		Params, Classes             float64
		Backend                     string
		Outputs, MCOutputs          int
		MCVar                       float64
		Top, EnsTop                 int
		EnsMean, EnsVar, SingleProb float64
		Bad, Budget, Disposed       string
		InPageTop, InPageHits       int
		InPageProb                  float64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("api: %v: %s", err, out)
	}
	hits = e.h.Hits()
	for i, c := range m.Chunks {
		want := 0
		if i == 1 {
			want = 1 // only the chunk that failed is fetched again
		}
		if n := hits["/models/mobilenet-resume/"+c.File]; n != want {
			t.Errorf("resumed load: chunk %s requested %d times, want %d", c.File, n, want)
		}
	}
	if r.Stats.CachedChunks != len(m.Chunks)-1 || r.Stats.Requests != 1 {
		t.Errorf("resumed load: loadStats %+v, want %d cached and 1 request", r.Stats, len(m.Chunks)-1)
	}
	spec, _ := models.Lookup("mobilenet_v3_small")
	if r.Params != float64(spec.Params) || r.Classes != 1000 || r.Backend != "cpu" || r.Outputs != 1000 || r.MCOutputs != 1000 {
		t.Errorf("summary/predict: %+v, want %d params, 1000 classes and outputs on cpu", r, spec.Params)
	}
	if r.MCVar <= 0 {
		t.Errorf("predict with mcDropout: max variance %v, want > 0", r.MCVar)
	}
	// An ensemble of one model twice: the mean is the model's probability
	// and the variance 0 (the lecture's formulas with y^1 = y^2).
	if r.EnsTop != r.Top || math.Abs(r.EnsMean-r.SingleProb) > 1e-6 || r.EnsVar > 1e-12 {
		t.Errorf("ensemble of a model with itself: top %d mean %v var %v, want top %d mean %v var 0", r.EnsTop, r.EnsMean, r.EnsVar, r.Top, r.SingleProb)
	}
	if r.InPageTop != r.Top || r.InPageProb != r.SingleProb || r.InPageHits != 1 {
		t.Errorf("in the page's thread: top %d p=%v (%d chunk cached), in the worker: top %d p=%v", r.InPageTop, r.InPageProb, r.InPageHits, r.Top, r.SingleProb)
	}
	if r.Bad != "bad-input" || r.Budget != "budget" || r.Disposed != "disposed" {
		t.Errorf("errors: wrong tensor size gave %q (want bad-input), a 1 MB budget %q (want budget), a disposed model %q (want disposed)", r.Bad, r.Budget, r.Disposed)
	}
}

// nativeProbs classifies an image file with the native CPU backend and
// returns every class's probability.
func (e *env) nativeProbs(id, file string) []float32 {
	e.t.Helper()
	wm, err := weights.Load(context.Background(), os.DirFS(e.dir), "models/"+id, weights.LoadOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	b := cpu.New()
	net, err := models.Build(b, wm)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	img, _, err := data.Decode(f)
	if err != nil {
		e.t.Fatal(err)
	}
	x, err := models.Preprocess(img, wm.Manifest.Input)
	if err != nil {
		e.t.Fatal(err)
	}
	in, err := core.FromData(b, core.Shape(wm.Manifest.Input.Shape), x)
	if err != nil {
		e.t.Fatal(err)
	}
	y, err := net.Forward(nn.Eval, in)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := y.Data()
	if err != nil {
		e.t.Fatal(err)
	}
	top := models.Top(out, wm.Manifest.Output != "probabilities", nil, len(out))
	probs := make([]float32, len(out))
	for _, c := range top {
		probs[c.Index] = c.Prob
	}
	e.t.Logf("native %s on %s: top-1 %d (p=%.6f), runner-up %d (p=%.6f)", id, filepath.Base(file), top[0].Index, top[0].Prob, top[1].Index, top[1].Prob)
	return probs
}

// digitImage draws a thick "7", white on black, 56x56 (resized to 28x28
// by the model's preprocessing).
func digitImage() image.Image {
	img := image.NewGray(image.Rect(0, 0, 56, 56))
	seg := func(x0, y0, x1, y1 float64) {
		for y := 0; y < 56; y++ {
			for x := 0; x < 56; x++ {
				px, py := float64(x)+0.5, float64(y)+0.5
				dx, dy := x1-x0, y1-y0
				t := math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/(dx*dx+dy*dy)))
				d := math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
				if v := 255 * math.Max(0, math.Min(1, 3.5-d)); uint8(v) > img.GrayAt(x, y).Y {
					img.SetGray(x, y, color.Gray{Y: uint8(v)})
				}
			}
		}
	}
	seg(14, 12, 42, 12)
	seg(42, 12, 24, 46)
	return img
}

func base64File(t *testing.T, name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func writePNG(t *testing.T, name string, img image.Image) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, name, b.Bytes())
}

func writeFile(t *testing.T, name string, b []byte) {
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src, dst string) {
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}
