//go:build !js

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"webcnn/site"
)

// guards checks the library's input guards through cnn.mjs in the page
// (TestOffline calls it after the first visit's bytes are counted): one
// picture, a 7 drawn large, given as every kind of image input that
// classify takes (an 8000x8000 ImageData, a 3000x3000 canvas,
// OffscreenCanvas, ImageBitmap, PNG Blob and <img>) answers as the same
// picture drawn at 1024x1024 does, within 1e-3 (every input is scaled down the same
// way before it reaches Go), and the runtime's WebAssembly memory grows
// by less than 64 MB (it grew to 2.19 GB for the 8000x8000 ImageData
// before); options that are not whole numbers in range reject with
// bad-input and a message that names them.
func (e *env) guards() {
	t := e.t
	t.Helper()
	out := e.eval(fmt.Sprintf(`(async () => {
		const cnn = await import("./cnn.mjs");
		const m = await cnn.load("models/%s/manifest.json", {backend: "cpu"});
		const paint = (c, n) => {
			const g = c.getContext("2d");
			g.fillStyle = "#000"; g.fillRect(0, 0, n, n);
			g.strokeStyle = "#fff"; g.lineWidth = n / 9; g.lineCap = "round";
			g.beginPath(); g.moveTo(0.3 * n, 0.25 * n); g.lineTo(0.7 * n, 0.25 * n); g.lineTo(0.45 * n, 0.8 * n); g.stroke();
			return c;
		};
		const probs = async (img) => (await m.classify(img, {topk: 10})).sort((a, b) => a.index - b.index).map((c) => c.prob);
		const before = await cnn.memoryBytes();
		const ref = await probs(paint(new OffscreenCanvas(1024, 1024), 1024));
		const bigCanvas = paint(new OffscreenCanvas(8000, 8000), 8000);
		const inputs = {
			imageData: bigCanvas.getContext("2d").getImageData(0, 0, 8000, 8000),
			canvas: paint(Object.assign(document.createElement("canvas"), {width: 3000, height: 3000}), 3000),
			offscreen: paint(new OffscreenCanvas(3000, 3000), 3000),
		};
		inputs.bitmap = await createImageBitmap(inputs.offscreen);
		inputs.blob = await inputs.offscreen.convertToBlob({type: "image/png"});
		inputs.img = new Image(); inputs.img.src = URL.createObjectURL(inputs.blob);
		const diff = {};
		for (const [k, v] of Object.entries(inputs)) {
			const p = await probs(v);
			diff[k] = Math.max(...p.map((x, i) => Math.abs(x - ref[i])));
		}
		const after = await cnn.memoryBytes();
		const code = async (opts) => { try { await m.classify(inputs.offscreen, opts); return "accepted" } catch (e) { return e.code + ": " + e.message } };
		const bad = {topk0: await code({topk: 0}), topkNeg: await code({topk: -3}), mcAbc: await code({mcDropout: "abc"}), topkText: await code({topk: "5"})};
		const good = await code({topk: 2, mcDropout: 0});
		await m.dispose();
		return {before, after, diff, bad, good, top: ref.indexOf(Math.max(...ref))};
	})()`, site.LeNet5))
	var r struct {
		Before, After float64
		Diff          map[string]float64
		Bad           map[string]string
		Good          string
		Top           int
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("guards: %v: %.300s", err, out)
	}
	t.Logf("guards: wasm memory %.1f MB -> %.1f MB; the 7 drawn at 1024 reads as %d; largest differences from it: %v", r.Before/1e6, r.After/1e6, r.Top, r.Diff)
	if len(r.Diff) != 6 {
		t.Errorf("guards: %d kinds of input answered, want 6: %v", len(r.Diff), r.Diff)
	}
	for k, d := range r.Diff {
		// The same picture scaled down by the browser from other sizes:
		// not the same pixels, so not the same probabilities to the last
		// bit (they differed by 7e-6 at most when this was written).
		if math.IsNaN(d) || d > 1e-3 {
			t.Errorf("guards: a large %s answers %v away from the same picture at 1024x1024", k, d)
		}
	}
	if r.After-r.Before > 64<<20 {
		t.Errorf("guards: wasm memory grew from %.0f to %.0f bytes for large pictures", r.Before, r.After)
	}
	for k, want := range map[string]string{
		"topk0":    "option topk: want a whole number from 1 to 65536, got 0",
		"topkNeg":  "got -3",
		"mcAbc":    `option mcDropout: want a whole number from 0 to 10000, got "abc"`,
		"topkText": `got "5"`,
	} {
		if got := r.Bad[k]; !strings.HasPrefix(got, "bad-input: ") || !strings.Contains(got, want) {
			t.Errorf("guards: %s gave %q, want bad-input: ...%s", k, got, want)
		}
	}
	if r.Good != "accepted" {
		t.Errorf("guards: {topk: 2, mcDropout: 0} gave %q", r.Good)
	}
}
