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
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"webcnn/core/weights"
	"webcnn/site"
)

// shapes draws n pictures of one class, 224x224: a filled circle or an
// axis-aligned square ("circle", "square") of a random colour, size and
// place on a plain background of another random colour.
func shapes(kind string, n int, seed uint64) []image.Image {
	r := rand.New(rand.NewPCG(seed, 17))
	out := make([]image.Image, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 224, 224))
		bg := color.RGBA{uint8(150 + r.IntN(100)), uint8(150 + r.IntN(100)), uint8(150 + r.IntN(100)), 255}
		fg := []color.RGBA{{200, 30, 30, 255}, {30, 120, 220, 255}, {20, 150, 60, 255}, {120, 40, 160, 255}, {30, 30, 30, 255}, {230, 140, 0, 255}}[r.IntN(6)]
		half := 25 + r.IntN(50) // radius, or half the side
		cx, cy := half+r.IntN(224-2*half), half+r.IntN(224-2*half)
		for y := 0; y < 224; y++ {
			for x := 0; x < 224; x++ {
				dx, dy := x-cx, y-cy
				in := dx*dx+dy*dy <= half*half
				if kind == "square" {
					in = dx >= -half && dx < half && dy >= -half && dy < half
				}
				if in {
					img.SetRGBA(x, y, fg)
				} else {
					img.SetRGBA(x, y, bg)
				}
			}
		}
		out[i] = img
	}
	return out
}

// TestTeach teaches the ImageNet MobileNetV2 backbone (nsfwjs's, cut
// before its head) as a user does on the page, from a fresh profile:
//
//   - five circles and five squares of several colours and sizes picked
//     as files and added to classes "circle" and "square", augmentation
//     off, Train: ten new pictures picked as files are each read by the
//     new head in the prediction card, at least 9 right, with the
//     MC-dropout spread of the head (whiskers, deviations > 0, means that
//     sum to 1);
//   - again with the backbone's last 2 blocks trained too ("train the
//     last"), the memory shown before it starts (its parameter count
//     checked against the manifest's tensors), at least 9 right;
//   - on WebGPU (where the browser has it) with the last block trained,
//     at least 9 right;
//   - the JS API: CPU and WebGPU training losses agree step by step, a
//     head with trained blocks saved and loaded back answers bit for bit
//     the same, an ensemble of heads gives the mean and variance of its
//     members' probabilities, and a long MC-dropout run reports its passes
//     and stops on an AbortSignal;
//   - MC-dropout on a model with dropout (mobilenet-resume) shows its pass
//     count and stops on Cancel; on models without dropout it is off.
func TestTeach(t *testing.T) {
	exe := browser()
	if exe == "" {
		if os.Getenv("CNN_REQUIRE_BROWSER") == "1" {
			t.Fatal("no chromium-headless-shell or chromium: run site/testdata/install-browser.sh")
		}
		t.Skip("no chromium-headless-shell or chromium")
	}
	if testing.Short() {
		t.Skip("the browser test builds the site and drives Chromium")
	}
	start := time.Now()
	e := setup(t, exe)
	t.Logf("setup took %v", time.Since(start).Round(time.Millisecond))
	e.open("/#" + site.Backbone)
	e.waitLoaded(site.Backbone)
	if got := e.eval(`document.getElementById("status").textContent`); !strings.Contains(got, "no classes of its own") {
		t.Errorf("status for the backbone: %q", got)
	}
	// Its 5-class head is neither shown nor used: no labels, no bars; no
	// MC-dropout (no dropout); up to 4 blocks can train.
	if got := e.eval(`JSON.stringify([document.getElementById("summary").textContent.includes("1280 features"), document.querySelectorAll("#top li").length, document.getElementById("mc").disabled, document.querySelectorAll("#ft-unfreeze option").length])`); got != "[true,0,true,5]" {
		t.Errorf("backbone: [summary says 1280 features, bars, MC-dropout disabled, unfreeze choices] = %s, want [true,0,true,5]", got)
	}
	train := map[string][]image.Image{"circle": shapes("circle", 5, 1), "square": shapes("square", 5, 2)}
	test := map[string][]image.Image{"circle": shapes("circle", 5, 3), "square": shapes("square", 5, 4)}
	classes := []string{"circle", "square"}
	e.click("#ft-augment") // off: ten examples, quicker
	e.teachClasses(classes, train, "shape")
	e.shot("30-teach-added")
	read := func(what string) int {
		t.Helper()
		hits := 0
		for _, c := range classes {
			for j, img := range test[c] {
				got := e.headTop(img, fmt.Sprintf("test-%s-%s-%d.png", strings.ReplaceAll(what, " ", "-"), c, j))
				if got == c {
					hits++
				} else {
					t.Logf("%s: a new %s read as %q", what, c, got)
				}
			}
		}
		t.Logf("%s: %s; %d of 10 new pictures right", what, e.text("ft-status"), hits)
		if hits < 9 {
			t.Errorf("%s: %d of 10 new pictures right, want at least 9", what, hits)
		}
		return hits
	}

	// The head only, on the CPU.
	t0 := time.Now()
	e.trainPanel(40)
	t.Logf("head only, CPU: trained in %v", time.Since(t0).Round(time.Millisecond))
	read("head only, CPU")
	e.checkSpread(20)
	e.shot("31-teach-cpu")

	// The last 2 blocks too: the plan first.
	e.selectValue("ft-unfreeze", "2")
	e.poll(`document.getElementById("ft-memory").textContent.includes("last 2 blocks")`, 60*time.Second)
	want := e.tailParams(2)
	if got := e.eval(`document.getElementById("ft-memory").dataset.params`); got != fmt.Sprint(want) {
		t.Errorf("plan: %s trainable parameters, want %d (block_16, Conv_1 and the head, from the manifest)", got, want)
	}
	t.Logf("plan: %s", e.text("ft-memory"))
	t0 = time.Now()
	e.trainPanel(5)
	t.Logf("2 blocks, CPU: trained in %v", time.Since(t0).Round(time.Millisecond))
	if got := e.text("ft-status"); !strings.Contains(got, "the last 2 blocks trained") {
		t.Errorf("status after training 2 blocks: %q", got)
	}
	read("2 blocks, CPU")
	e.shot("32-teach-blocks")

	// WebGPU, the last block trained.
	e.act(func() { e.click(`label[for="be-webgpu"]`) })
	e.waitLoaded(site.Backbone)
	gpu := e.eval(`document.getElementById("backend-note").dataset.backend`) == "webgpu"
	if gpu {
		e.selectValue("ft-unfreeze", "1")
		t0 = time.Now()
		e.trainPanel(5)
		t.Logf("1 block, WebGPU: trained in %v", time.Since(t0).Round(time.Millisecond))
		read("1 block, WebGPU")
		e.shot("33-teach-webgpu")
	} else {
		t.Logf("WebGPU is unavailable here (%s): the page teaches on the CPU only", e.text("backend-note"))
	}
	e.act(func() { e.click(`label[for="be-cpu"]`) })
	e.teachAPI(train, test, gpu)
	e.mcRun()
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// evalLong is eval with a longer limit (training in the page).
func (e *env) evalLong(expr string, d time.Duration) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		e.t.Fatalf("evaluating %.300s: %v", expr, err)
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// selectValue picks an option of a <select> as a user does (change event).
func (e *env) selectValue(id, v string) {
	e.t.Helper()
	e.do(10*time.Second, chromedp.SetValue(chromedp.ID(id), v))
	e.eval(fmt.Sprintf(`(() => { document.getElementById(%q).dispatchEvent(new Event("change")); return "" })()`, id))
}

// tailParams counts, from the backbone's manifest, the parameters that
// training its last blocks trains: the weights of block_16's three convs
// and Conv_1 (and, for blocks = 2, nothing else), one bias per output
// channel of each (the batch norm folded in), and the head (1280 x 2 + 2).
func (e *env) tailParams(blocks int) int64 {
	e.t.Helper()
	m, err := weights.ReadManifest(os.DirFS(e.dir), "models/"+site.Backbone)
	if err != nil {
		e.t.Fatal(err)
	}
	prefixes := map[int][]string{1: {"Conv_1/"}, 2: {"Conv_1/", "block_16_"}}[blocks]
	var n int64 = 1280*2 + 2
	for _, t := range m.Tensors {
		for _, p := range prefixes {
			if strings.HasPrefix(t.Name, p) && (strings.HasSuffix(t.Name, "kernel") || strings.HasSuffix(t.Name, "depthwise_kernel")) {
				n += int64(t.Elements()) + int64(t.Shape[len(t.Shape)-1])
			}
		}
	}
	return n
}

// checkSpread checks the head's answer in the prediction card: a bar per
// class with whiskers, means that sum to 1, deviations > 0 and within the
// largest a probability can have (0.5), sd = sqrt(variance), and the text
// naming the passes.
func (e *env) checkSpread(passes int) {
	t := e.t
	t.Helper()
	var bars []struct {
		Prob, Variance, Std, Lo, Hi float64
		Whiskers                    int
	}
	if err := json.Unmarshal([]byte(e.eval(`[...document.querySelectorAll("#ft-top li")].map(li => ({Prob: +li.dataset.prob, Variance: +li.dataset.variance, Std: +li.dataset.std,
		Lo: +(li.querySelector(".whisker")?.dataset.lo ?? -1), Hi: +(li.querySelector(".whisker")?.dataset.hi ?? -1), Whiskers: li.querySelectorAll(".whisker").length}))`)), &bars); err != nil {
		t.Fatal(err)
	}
	if len(bars) != 2 {
		t.Fatalf("the head's answer has %d bars, want 2", len(bars))
	}
	sum := 0.0
	for i, b := range bars {
		sum += b.Prob
		if b.Whiskers != 1 || !(b.Variance > 0) || b.Std > 0.5 || math.Abs(b.Std-math.Sqrt(b.Variance)) > 1e-9 ||
			math.Abs(b.Lo-math.Max(0, b.Prob-b.Std)) > 1e-9 || math.Abs(b.Hi-math.Min(1, b.Prob+b.Std)) > 1e-9 {
			t.Errorf("bar %d: %+v: want one whisker at mean ± sd, 0 < variance, sd = sqrt(variance) <= 0.5", i, b)
		}
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("the head's mean probabilities sum to %v", sum)
	}
	if got := e.text("ft-spread"); !strings.Contains(got, fmt.Sprintf("MC-dropout over %d masks", passes)) {
		t.Errorf("spread note %q", got)
	}
	t.Logf("spread: %+v; %s", bars, e.text("ft-spread"))
}

// teachClasses names the panel's classes and adds each picture to its
// class as a user does: pick the file (it goes on the stage), click the
// class's "Add the stage's image".
func (e *env) teachClasses(classes []string, imgs map[string][]image.Image, prefix string) {
	t := e.t
	t.Helper()
	for i, c := range classes {
		e.eval(fmt.Sprintf(`(() => { document.getElementById("ft-name-%d").value = %q; return "" })()`, i, c))
		for j, img := range imgs[c] {
			file := filepath.Join(e.files, fmt.Sprintf("%s-%s-%d.png", prefix, c, j))
			writePNG(t, file, img)
			e.act(func() { e.upload(file) })
			before := e.eval(`document.getElementById("ft-status").dataset.seq ?? "0"`)
			e.click(fmt.Sprintf("#ft-add-%d", i))
			e.poll(fmt.Sprintf(`document.getElementById("ft-status").dataset.seq !== %q && document.getElementById("ft-status").dataset.state === "idle"`, before), 20*time.Second)
		}
		if got, want := e.text(fmt.Sprintf("ft-count-%d", i)), fmt.Sprintf("%d images", len(imgs[c])); got != want {
			t.Errorf("class %s says %q, want %q", c, got, want)
		}
	}
}

// trainPanel sets the steps and clicks Train, and waits for the head (10
// minutes at most: on a busy machine SwiftShader takes minutes to run
// MobileNetV2's stem on ten pictures).
func (e *env) trainPanel(steps int) {
	e.t.Helper()
	e.eval(fmt.Sprintf(`(() => { document.getElementById("ft-epochs").value = "%d"; return "" })()`, steps))
	before := e.eval(`document.getElementById("ft-status").dataset.seq ?? "0"`)
	e.click("#ft-train")
	e.poll(fmt.Sprintf(`document.getElementById("ft-status").dataset.seq !== %q && ["trained", "error"].includes(document.getElementById("ft-status").dataset.state)`, before), 10*time.Minute)
	if st := e.eval(`document.getElementById("ft-status").dataset.state`); st != "trained" {
		e.t.Fatalf("training ended in %s: %s", st, e.text("ft-status"))
	}
}

// headTop picks a picture as a file and returns the new head's top class
// as the prediction card shows it.
func (e *env) headTop(img image.Image, name string) string {
	e.t.Helper()
	file := filepath.Join(e.files, name)
	writePNG(e.t, file, img)
	before := e.eval(`document.getElementById("status").dataset.seq ?? "0"`)
	e.upload(file)
	// As act, with room for SwiftShader on a busy machine.
	e.poll(fmt.Sprintf(`(document.getElementById("status").dataset.seq ?? "0") !== %q && ["done", "error"].includes(document.getElementById("status").dataset.state)`, before), 5*time.Minute)
	return e.eval(`document.getElementById("ft-top").dataset.top ?? ""`)
}

// pngs encodes pictures as base64 PNGs (for the API checks in the page).
func pngs(t *testing.T, imgs []image.Image) []string {
	var out []string
	for _, img := range imgs {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		out = append(out, base64.StdEncoding.EncodeToString(b.Bytes()))
	}
	return out
}

// teachAPI checks values through the library: CPU and WebGPU training
// with the last block trained give the same losses step by step (dropout
// off; within 1e-3); a head with 2 trained blocks, saved and loaded back,
// answers bit for bit the same; an ensemble of two heads answers the
// mean and the variance of their probabilities; MC-dropout reports every
// pass and an AbortSignal stops it.
func (e *env) teachAPI(train, test map[string][]image.Image, gpu bool) {
	t := e.t
	t.Helper()
	start := time.Now()
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	trainImgs := []image.Image{train["circle"][0], train["circle"][1], train["square"][0], train["square"][1]}
	testImgs := []image.Image{test["circle"][0], test["square"][0]}
	e.evalLong(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const url = "models/%s/manifest.json";
		globalThis.__teach = {cnn, url, train: await Promise.all(%s.map(blob)), test: await Promise.all(%s.map(blob)),
			labels: ["circle", "circle", "square", "square"], cpu: await cnn.load(url, {backend: "cpu"}), r: {},
			probs: async (h, img) => (await h.classify(img, {topk: 2})).sort((a, b) => a.index - b.index).map((p) => p.prob)};
		return "";
	})()`, site.Backbone, js(pngs(t, trainImgs)), js(pngs(t, testImgs))), time.Minute)
	// The last block trained on the CPU and on WebGPU, dropout off: the same losses.
	e.evalLong(fmt.Sprintf(`(async () => {
		const {cnn, url, train, test, labels, cpu, r, probs} = globalThis.__teach;
		const opts = {images: train, labels, epochs: 3, augment: false, seed: 11, dropout: 0, unfreeze: 1};
		r.cpu = [];
		const fc = await cpu.finetune({...opts, onStep: (s) => r.cpu.push(s.loss)});
		r.pc = await probs(fc, test[0]);
		await fc.dispose();
		if (%t) {
			const gm = await cnn.load(url, {backend: "webgpu"});
			r.gpuBackend = gm.backend;
			r.gpu = [];
			const fg = await gm.finetune({...opts, onStep: (s) => r.gpu.push(s.loss)});
			r.pg = await probs(fg, test[0]);
			await fg.dispose(); await gm.dispose();
		}
		return "";
	})()`, gpu), 8*time.Minute)
	// 2 blocks trained, saved, loaded back.
	e.evalLong(`(async () => {
		const {cnn, train, test, labels, cpu, r, probs} = globalThis.__teach;
		const ft = await cpu.finetune({images: train, labels, epochs: 3, augment: false, seed: 5, unfreeze: 2});
		const file = await ft.save();
		const again = await cnn.load(file, cpu);
		r.maxDiff = 0;
		for (const img of test) {
			const a = await probs(ft, img), b = await probs(again, img);
			a.forEach((p, j) => { r.maxDiff = Math.max(r.maxDiff, Math.abs(p - b[j])); });
		}
		const d = JSON.parse(await file.text());
		r.unfrozen = again.stats.unfrozen; r.fileBytes = file.size; r.head = d.head;
		r.tailTensors = d.tensors.filter((t) => t.name.startsWith("tail.")).length;
		await again.dispose(); await ft.dispose();
		return "";
	})()`, 5*time.Minute)
	// An ensemble of two heads; MC-dropout's passes; an abort.
	out := e.evalLong(`(async () => {
		const {cnn, train, test, labels, cpu, r, probs} = globalThis.__teach;
		const h1 = await cpu.finetune({images: train, labels, epochs: 10, augment: false, seed: 1});
		const h2 = await cpu.finetune({images: train, labels, epochs: 10, augment: false, seed: 2});
		r.ens = [];
		for (const img of test) {
			const e = (await cnn.ensemble([h1, h2]).classify(img, {topk: 2})).sort((a, b) => a.index - b.index);
			r.ens.push({p1: await probs(h1, img), p2: await probs(h2, img), mean: e.map((p) => p.mean), variance: e.map((p) => p.variance)});
		}
		r.passes = [];
		const mc = await h1.classify(test[0], {mcDropout: 30, seed: 4, onPass: (d, n) => r.passes.push([d, n])});
		r.mcVariance = Math.max(...mc.map((p) => p.variance));
		const ctl = new AbortController();
		let seen = 0;
		try {
			await h1.classify(test[0], {mcDropout: 1000, onPass: (d) => { seen = d; if (d === 3) ctl.abort(); }, signal: ctl.signal});
			r.aborted = "finished";
		} catch (err) { r.aborted = err.code; }
		r.seen = seen;
		await h1.dispose(); await h2.dispose(); await cpu.dispose();
		return r;
	})()`, 5*time.Minute)
	var r struct {
		CPU, GPU, PC, PG []float64
		GPUBackend       string
		MaxDiff          float64
		Unfrozen         int
		FileBytes        int
		Head             map[string]any
		TailTensors      int
		Ens              []struct{ P1, P2, Mean, Variance []float64 }
		Passes           [][2]int
		MCVariance       float64
		Aborted          string
		Seen             int
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("API: %s: %v", out, err)
	}
	if len(r.CPU) != 3 {
		t.Errorf("API: %d CPU steps, want 3", len(r.CPU))
	}
	if gpu {
		if r.GPUBackend != "webgpu" || len(r.GPU) != len(r.CPU) {
			t.Errorf("API: WebGPU training on %q gave %d steps", r.GPUBackend, len(r.GPU))
		}
		for i := range r.GPU {
			if i < len(r.CPU) && math.Abs(r.GPU[i]-r.CPU[i]) > 1e-4+1e-3*math.Abs(r.CPU[i]) {
				t.Errorf("API: step %d: loss %.6f on WebGPU, %.6f on the CPU", i+1, r.GPU[i], r.CPU[i])
			}
		}
		for j := range r.PG {
			if math.Abs(r.PG[j]-r.PC[j]) > 1e-3 {
				t.Errorf("API: class %d after training: p = %.6f on WebGPU, %.6f on the CPU", j, r.PG[j], r.PC[j])
			}
		}
		t.Logf("API: losses with the last block trained, CPU %v, WebGPU %v", r.CPU, r.GPU)
	}
	if r.MaxDiff != 0 || r.Unfrozen != 2 || r.TailTensors != 8 || r.Head["unfrozen"] != 2.0 {
		t.Errorf("API: head with 2 trained blocks reloaded: max difference %g, unfrozen %d, %d tail tensors (want 0, 2, 8), head %v", r.MaxDiff, r.Unfrozen, r.TailTensors, r.Head)
	}
	for i, x := range r.Ens {
		for j := range x.Mean {
			m := (x.P1[j] + x.P2[j]) / 2
			v := ((x.P1[j]-m)*(x.P1[j]-m) + (x.P2[j]-m)*(x.P2[j]-m)) / 2
			if math.Abs(x.Mean[j]-m) > 1e-6 || math.Abs(x.Variance[j]-v) > 1e-6 {
				t.Errorf("API: ensemble of heads, picture %d class %d: mean %.7f variance %.7f, members give %.7f and %.7f", i, j, x.Mean[j], x.Variance[j], m, v)
			}
		}
	}
	if len(r.Passes) != 30 || r.Passes[29] != [2]int{30, 30} || !(r.MCVariance > 0) {
		t.Errorf("API: MC-dropout over 30 passes: %d progress calls (last %v), max variance %g", len(r.Passes), r.Passes[len(r.Passes)-1:], r.MCVariance)
	}
	if r.Aborted != "aborted" || r.Seen < 3 || r.Seen > 10 {
		t.Errorf("API: aborted MC run: %q after %d passes, want aborted after 3 (or a few more)", r.Aborted, r.Seen)
	}
	t.Logf("API: delta with 2 trained blocks %d bytes, reloaded bit for bit; ensemble of 2 heads checked on %d pictures; abort after %d passes; %v",
		r.FileBytes, len(r.Ens), r.Seen, time.Since(start).Round(time.Millisecond))
}

// mcRun runs MC-dropout on the page on a model with dropout
// (mobilenet-resume: MobileNetV3-Small with seeded weights, a test
// fixture): 200 passes show their count and stop on Cancel; 5 passes
// finish with whiskers on the bars.
func (e *env) mcRun() {
	t := e.t
	t.Helper()
	e.act(func() {
		e.eval(`(() => { const s = document.getElementById("model"); s.value = "mobilenet-resume"; s.dispatchEvent(new Event("change")); return "" })()`)
	})
	e.waitLoaded("mobilenet-resume")
	if got := e.eval(`String(document.getElementById("mc").disabled)`); got != "false" {
		t.Fatalf("MC-dropout is disabled on a model with dropout (%s)", e.text("mc-note"))
	}
	e.eval(`(() => { const m = document.getElementById("mc-m"); m.value = "200"; m.dispatchEvent(new Event("change")); return "" })()`)
	e.click("#mc")
	e.poll(`!document.getElementById("run").hidden && +document.getElementById("run").dataset.done >= 2`, 60*time.Second)
	count := e.text("run-count")
	e.shot("34-mc-progress")
	e.click("#run-cancel")
	e.poll(`document.getElementById("status").textContent.includes("cancelled")`, 30*time.Second)
	if !strings.Contains(count, "of 200") || e.eval(`String(document.getElementById("run").hidden)`) != "true" {
		t.Errorf("MC run: count %q, bar hidden after cancel: %s", count, e.eval(`String(document.getElementById("run").hidden)`))
	}
	t.Logf("MC run: %q, then %s", count, e.text("status"))
	e.act(func() {
		e.eval(`(() => { const m = document.getElementById("mc-m"); m.value = "5"; m.dispatchEvent(new Event("change")); return "" })()`)
	})
	if got := e.eval(`JSON.stringify([document.querySelectorAll("#top .whisker").length, Math.max(...[...document.querySelectorAll("#top li")].map((li) => +li.dataset.variance))])`); !strings.HasPrefix(got, "[5,") || strings.HasSuffix(got, ",0]") {
		t.Errorf("MC-dropout over 5 passes: [whiskers, max variance] = %s, want 5 whiskers and a variance > 0", got)
	}
	e.shot("35-mc-dropout")
	e.click("#mc")
}
