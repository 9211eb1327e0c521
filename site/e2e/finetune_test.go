//go:build !js

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"time"

	"webcnn/core/data"
	"webcnn/site"
	"webcnn/site/textstrip"
)

// mnistPNGs returns the first n digits of each of the classes in set,
// as base64 PNGs (white on black), and their labels.
func mnistPNGs(set *data.MNIST, classes []int, n int) (imgs []string, labels []int) {
	count := map[int]int{}
	for k := 0; k < set.N && len(imgs) < n*len(classes); k++ {
		l := int(set.Labels[k])
		want := false
		for _, c := range classes {
			want = want || c == l
		}
		if !want || count[l] >= n {
			continue
		}
		count[l]++
		g := image.NewGray(image.Rect(0, 0, set.Cols, set.Rows))
		copy(g.Pix, set.Pix[k*set.Rows*set.Cols:][:set.Rows*set.Cols])
		var b bytes.Buffer
		png.Encode(&b, g)
		imgs, labels = append(imgs, base64.StdEncoding.EncodeToString(b.Bytes())), append(labels, l)
	}
	return imgs, labels
}

// finetune drives the library's fine-tuning API (model.finetune) on
// LeNet-5's frozen features (before fc3): MNIST training digits 0 and 1 as
// PNG files, named "zero" and "one", a head trained with augmentation and
// per-step progress; the loss falls, held-out test digits are read right,
// and the head saved as a delta file and loaded back answers the same.
func (e *env) finetune() {
	t := e.t
	t.Helper()
	start := time.Now()
	dir, err := data.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := data.LoadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	train, trainLabels := mnistPNGs(tr, []int{0, 1}, 8)
	test, testLabels := mnistPNGs(te, []int{0, 1}, 10)
	names := func(ls []int) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = []string{"zero", "one"}[l]
		}
		return out
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	out := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const train = await Promise.all(%s.map(blob)), test = await Promise.all(%s.map(blob));
		const trainLabels = %s, testLabels = %s;
		const model = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		const steps = [];
		const t0 = performance.now();
		const ft = await model.finetune({images: train, labels: trainLabels, epochs: 30, lr: 0.01, augment: true, seed: 5,
			onStep: (s) => steps.push(s)});
		const ms = performance.now() - t0;
		const probs = async (h) => { const r = []; for (const im of test) r.push((await h.classify(im, {topk: 2})).sort((a, b) => a.index - b.index).map((p) => p.prob)); return r; };
		let hits = 0;
		for (let i = 0; i < test.length; i++) {
			const top = (await ft.classify(test[i], {topk: 1}))[0];
			if (top.label === testLabels[i]) hits++;
		}
		const mc = await ft.classify(test[0], {mcDropout: 16, seed: 3});
		const file = await ft.save();
		const text = await file.text();
		const again = await cnn.load(file, model);
		const a = await probs(ft), b = await probs(again);
		let maxDiff = 0;
		a.forEach((r, i) => r.forEach((p, j) => { maxDiff = Math.max(maxDiff, Math.abs(p - b[i][j])); }));
		let wrongBase = "";
		const other = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		try { await cnn.load(file, other); wrongBase = "loaded"; } catch (err) { wrongBase = err.code; }
		await other.dispose();
		// The loss curve, drawn as the page's panel would (a canvas on the page for the screenshot).
		const c = document.createElement("canvas");
		c.id = "ft-api-plot"; c.width = 360; c.height = 160;
		Object.assign(c.style, {position: "fixed", right: "12px", bottom: "12px", background: "#fff", border: "1px solid #888", zIndex: 99});
		const g = c.getContext("2d"), top = Math.max(...steps.map((s) => s.loss));
		g.font = "12px sans-serif"; g.fillText("fine-tuning: loss (blue), accuracy (green)", 8, 14);
		for (const [key, colour, scale] of [["loss", "#2563eb", top], ["acc", "#16a34a", 1]]) {
			g.strokeStyle = colour; g.beginPath();
			steps.forEach((s, i) => { const x = 8 + i * 344 / (steps.length - 1), y = 150 - 126 * s[key] / scale; i ? g.lineTo(x, y) : g.moveTo(x, y); });
			g.stroke();
		}
		document.body.append(c);
		const r = {steps, hits, total: test.length, ms, maxDiff, labels: ft.labels, again: again.labels, stats: ft.stats,
			mc: mc[0], fileBytes: file.size, format: JSON.parse(text).format, base: JSON.parse(text).base, wrongBase};
		await again.dispose(); await ft.dispose(); await model.dispose();
		return r;
	})()`, js(train), js(test), js(names(trainLabels)), js(names(testLabels)), site.LeNet5, site.PaddleCls))
	var r struct {
		Steps []struct {
			Step, Steps int
			Loss, Acc   float64
		}
		Hits, Total   int
		MS, MaxDiff   float64
		Labels, Again []string
		Stats         map[string]any
		MC            map[string]any
		FileBytes     int
		Format        string
		Base          map[string]any
		WrongBase     string
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("finetune: %s: %v", out, err)
	}
	if len(r.Steps) != 30 || r.Steps[29].Step != 30 || r.Steps[0].Steps != 30 {
		t.Fatalf("finetune: %d progress callbacks (%+v), want 30", len(r.Steps), r.Steps)
	}
	first, last := r.Steps[0].Loss, r.Steps[len(r.Steps)-1].Loss
	if !(last < first) {
		t.Errorf("finetune: loss %.4f -> %.4f: want it to fall", first, last)
	}
	if r.Hits*10 < 8*r.Total {
		t.Errorf("finetune: %d of %d held-out digits right, want >= 80%%", r.Hits, r.Total)
	}
	if r.MaxDiff != 0 {
		t.Errorf("finetune: the reloaded head's probabilities differ by up to %g", r.MaxDiff)
	}
	if strings.Join(r.Labels, ",") != "zero,one" || strings.Join(r.Again, ",") != "zero,one" {
		t.Errorf("finetune: labels %v, reloaded %v: want zero,one", r.Labels, r.Again)
	}
	if _, ok := r.MC["variance"]; !ok {
		t.Errorf("finetune: MC-dropout answer %v has no variance", r.MC)
	}
	if r.Format != "webcnn-delta-1" || r.Base["model"] != site.LeNet5 || !strings.HasSuffix(fmt.Sprint(r.Base["manifest"]), "/models/"+site.LeNet5+"/manifest.json") {
		t.Errorf("finetune: delta file format %q, base %v", r.Format, r.Base)
	}
	if r.WrongBase != "bad-input" {
		t.Errorf("finetune: loading the head onto another model: %q, want bad-input", r.WrongBase)
	}
	t.Logf("finetune (lenet5-mnist features %v, cut %v, %v examples): loss %.3f -> %.3f, train acc %.2f, held-out %d/%d, %.0f ms training, delta file %d bytes, MC variance %v; %v in all",
		r.Stats["features"], r.Stats["cut"], r.Stats["examples"], first, last, r.Steps[len(r.Steps)-1].Acc, r.Hits, r.Total, r.MS, r.FileBytes, r.MC["variance"], time.Since(start).Round(time.Millisecond))
	e.finetuneGraph()

	// On WebGPU (SwiftShader here), where the browser has it: the head
	// trains on the model's backend.
	gpu := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const train = await Promise.all(%s.map(blob));
		const model = await cnn.load("models/%s/manifest.json", {backend: "webgpu"});
		try {
			const steps = [];
			const ft = await model.finetune({images: train, labels: %s, epochs: 10, seed: 5, onStep: (s) => steps.push(s.loss)});
			const p = await ft.classify(train[0], {topk: 1});
			await ft.dispose();
			return {backend: model.backend, first: steps[0], last: steps[steps.length - 1], top: p[0].label};
		} catch (err) { return {backend: model.backend, error: err.code + ": " + err.message}; }
		finally { await model.dispose(); }
	})()`, js(train), site.LeNet5, js(names(trainLabels))))
	var g struct {
		Backend, Error, Top string
		First, Last         float64
	}
	json.Unmarshal([]byte(gpu), &g)
	switch {
	case g.Error != "":
		t.Errorf("finetune on %s: %s", g.Backend, g.Error)
	case g.Backend == "webgpu" && !(g.Last < g.First):
		t.Errorf("finetune on WebGPU: loss %.4f -> %.4f", g.First, g.Last)
	}
	t.Logf("finetune on %s: loss %.3f -> %.3f, first training image read as %s", g.Backend, g.First, g.Last, g.Top)
	e.shot("14-finetune-api")
	e.eval(`(() => { document.getElementById("ft-api-plot")?.remove(); return "" })()`)
	e.finetunePanel(tr, te)
}

// finetunePanel drives the page's panel: LeNet-5 loaded, three training
// zeros and three ones picked as files and added to classes named "zero"
// and "one", Train (the plot fills from onStep), then a held-out digit
// picked as a file is read by the new head.
func (e *env) finetunePanel(tr, te *data.MNIST) {
	t := e.t
	t.Helper()
	start := time.Now()
	e.act(func() {
		e.eval(fmt.Sprintf(`(() => { const s = document.getElementById("model"); s.value = %q; s.dispatchEvent(new Event("change")); return "" })()`, site.LeNet5))
	})
	e.waitLoaded(site.LeNet5)
	file := func(set *data.MNIST, k int, name string) string {
		g := image.NewGray(image.Rect(0, 0, set.Cols, set.Rows))
		copy(g.Pix, set.Pix[k*set.Rows*set.Cols:][:set.Rows*set.Cols])
		p := filepath.Join(e.files, name)
		writePNG(t, p, g)
		return p
	}
	indexes := func(set *data.MNIST, digit, n int) []int {
		var out []int
		for k := 0; k < set.N && len(out) < n; k++ {
			if int(set.Labels[k]) == digit {
				out = append(out, k)
			}
		}
		return out
	}
	ftSeq := func() string { return e.eval(`document.getElementById("ft-status").dataset.seq ?? "0"`) }
	e.eval(`(() => { for (const [i, n] of [[0, "zero"], [1, "one"]]) document.getElementById("ft-name-" + i).value = n; return "" })()`)
	for class, digit := range []int{0, 1} {
		for j, k := range indexes(tr, digit, 3) {
			e.act(func() { e.upload(file(tr, k, fmt.Sprintf("ft-%d-%d.png", digit, j))) })
			before := ftSeq()
			e.eval(fmt.Sprintf(`(() => { document.getElementById("ft-add-%d").click(); return "" })()`, class))
			e.poll(fmt.Sprintf(`document.getElementById("ft-status").dataset.seq !== %q && document.getElementById("ft-status").dataset.state === "idle"`, before), 20*time.Second)
		}
	}
	if got := e.text("ft-count-1"); got != "3 images" {
		t.Errorf("panel: class 2 says %q, want 3 images", got)
	}
	e.eval(`(() => { document.getElementById("ft-epochs").value = "30"; document.getElementById("ft-train").click(); return "" })()`)
	e.poll(`["trained", "error"].includes(document.getElementById("ft-status").dataset.state)`, 60*time.Second)
	if st := e.eval(`document.getElementById("ft-status").dataset.state`); st != "trained" {
		t.Fatalf("panel: training ended in %s: %s", st, e.text("ft-status"))
	}
	hits := 0
	for _, digit := range []int{0, 1} {
		for j, k := range indexes(te, digit, 3) {
			e.act(func() { e.upload(file(te, k, fmt.Sprintf("ft-test-%d-%d.png", digit, j))) })
			want := []string{"zero", "one"}[digit]
			e.poll(`document.getElementById("ft-top").dataset.top !== ""`, 20*time.Second)
			if got := e.eval(`document.getElementById("ft-top").dataset.top`); got == want {
				hits++
			} else {
				t.Logf("panel: held-out %s read as %q", want, got)
			}
		}
	}
	if hits < 5 {
		t.Errorf("panel: %d of 6 held-out digits right", hits)
	}
	t.Logf("panel: %s; held-out %d/6; %v", e.text("ft-status"), hits, time.Since(start).Round(time.Millisecond))
	e.shot("15-finetune-panel")
}

// finetuneGraph trains a head on paddleocr-cls's features (an imported
// graph, cut at its last pooling node): generated text strips, upright
// ("up") and turned by 180° ("down"), 4 of each, and 8 held-out strips.
func (e *env) finetuneGraph() {
	t := e.t
	t.Helper()
	strips := func(from, n int) (imgs, labels []string) {
		for i := range n {
			src := textstrip.Image(textstrip.Letters(uint64(from + i)))
			for _, turned := range []bool{false, true} {
				b := src.Bounds()
				dst := image.NewRGBA(b)
				for y := b.Min.Y; y < b.Max.Y; y++ {
					for x := b.Min.X; x < b.Max.X; x++ {
						sx, sy := x, y
						if turned {
							sx, sy = b.Max.X-1-(x-b.Min.X), b.Max.Y-1-(y-b.Min.Y)
						}
						dst.Set(x, y, src.At(sx, sy))
					}
				}
				var buf bytes.Buffer
				png.Encode(&buf, dst)
				imgs = append(imgs, base64.StdEncoding.EncodeToString(buf.Bytes()))
				labels = append(labels, map[bool]string{false: "up", true: "down"}[turned])
			}
		}
		return imgs, labels
	}
	train, trainLabels := strips(2000, 4)
	test, testLabels := strips(3000, 4)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	out := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const blob = async (s) => (await fetch("data:image/png;base64," + s)).blob();
		const train = await Promise.all(%s.map(blob)), test = await Promise.all(%s.map(blob));
		const testLabels = %s;
		const model = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		const steps = [];
		const t0 = performance.now();
		const ft = await model.finetune({images: train, labels: %s, epochs: 20, augment: true, copies: 2, seed: 9, onStep: (s) => steps.push(s.loss)});
		const ms = performance.now() - t0;
		let hits = 0;
		for (let i = 0; i < test.length; i++) if ((await ft.classify(test[i], {topk: 1}))[0].label === testLabels[i]) hits++;
		const r = {first: steps[0], last: steps[steps.length - 1], n: steps.length, hits, total: test.length, ms, stats: ft.stats};
		await ft.dispose(); await model.dispose();
		return r;
	})()`, js(train), js(test), js(testLabels), site.PaddleCls, js(trainLabels)))
	var r struct {
		First, Last, MS float64
		N, Hits, Total  int
		Stats           map[string]any
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("finetune on paddleocr-cls: %s: %v", out, err)
	}
	if r.N != 20 || !(r.Last < r.First) {
		t.Errorf("finetune on paddleocr-cls: %d steps, loss %.4f -> %.4f: want 20, falling", r.N, r.First, r.Last)
	}
	if r.Hits*10 < 8*r.Total {
		t.Errorf("finetune on paddleocr-cls: %d of %d held-out strips right, want >= 80%%", r.Hits, r.Total)
	}
	t.Logf("finetune on paddleocr-cls (%v features, %v, %v examples): loss %.3f -> %.3f, held-out %d/%d, %.0f ms training",
		r.Stats["features"], r.Stats["cut"], r.Stats["examples"], r.First, r.Last, r.Hits, r.Total, r.MS)
}
