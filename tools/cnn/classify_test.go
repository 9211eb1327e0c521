package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/site/textstrip"
	"webcnn/tools/convert/onnx/ort"
	"webcnn/tools/convert/onnximport"
	"webcnn/tools/convert/tfjs/tfjsref"
)

// writePNG writes an RGB image (pixels 0..255) as a PNG file.
func writePNG(t *testing.T, path string, img *data.Image) {
	t.Helper()
	b, err := tfjsref.PNG(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// printed runs `cnn predict --image` and returns the classes as printed
// (label, index, probability with 4 decimals) and as --json gives them.
func printed(t *testing.T, model, image string, k int) (text, js []models.Class) {
	t.Helper()
	var out bytes.Buffer
	if err := predict(&out, []string{"--model", model, "--image", image, "--topk", strconv.Itoa(k)}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("predict printed %q", line)
		}
		idx, err1 := strconv.Atoi(f[len(f)-2])
		p, err2 := strconv.ParseFloat(f[len(f)-1], 32)
		if err1 != nil || err2 != nil {
			t.Fatalf("predict printed %q", line)
		}
		text = append(text, models.Class{Label: strings.Join(f[:len(f)-2], " "), Index: idx, Prob: float32(p)})
	}
	out.Reset()
	if err := predict(&out, []string{"--model", model, "--image", image, "--topk", strconv.Itoa(k), "--json"}); err != nil {
		t.Fatal(err)
	}
	var r struct{ Top []models.Class }
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return text, r.Top
}

// TestPredictNSFWJS holds what `cnn predict --image` prints for nsfwjs's
// MobileNetV2 (converted from node_modules as `convert --preset nsfwjs`
// does) to what nsfwjs.classify returns in Node for the same pictures:
// the five labels in the same order and every probability within 1e-4,
// for a 224x224 picture (no resize: the model ends in a softmax, which
// must not be applied twice) and for pictures of other sizes (resized
// with align corners, as nsfwjs resizes).
func TestPredictNSFWJS(t *testing.T) {
	r := tfjsref.Require(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "nsfwjs")
	if err := r.WriteNSFWJS(model); err != nil {
		t.Fatal(err)
	}
	imgs := tfjsref.Images()
	want, err := r.ClassifyNSFWJS("MobileNetV2", imgs)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, img := range imgs {
		file := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		writePNG(t, file, img)
		text, js := printed(t, model, file, 5)
		if len(text) != 5 || len(js) != 5 {
			t.Fatalf("image %d: predict printed %d classes and %d in JSON, want 5", i, len(text), len(js))
		}
		for j, w := range want[i] {
			g := js[j]
			d := math.Abs(float64(g.Prob) - w.Prob)
			worst = max(worst, d)
			if g.Label != w.Label || d > 1e-4 {
				t.Errorf("image %d (%dx%d) class %d: predict %s %.6f, nsfwjs.classify %s %.6f", i, img.H, img.W, j, g.Label, g.Prob, w.Label, w.Prob)
			}
			if text[j].Label != g.Label || math.Abs(float64(text[j].Prob-g.Prob)) > 0.5e-4+1e-7 {
				t.Errorf("image %d class %d: printed %s %.4f, JSON %s %.6f", i, j, text[j].Label, text[j].Prob, g.Label, g.Prob)
			}
		}
		t.Logf("image %d (%dx%d): predict %s %.4f, nsfwjs.classify %s %.4f", i, img.H, img.W, js[0].Label, js[0].Prob, want[i][0].Label, want[i][0].Prob)
	}
	t.Logf("worst |probability - nsfwjs.classify's| %.2g", worst)
}

// TestPredictPaddleOCR holds what `cnn predict --image` prints for
// PaddleOCR's orientation classifier (an ONNX graph ending in Softmax) to
// onnxruntime's probabilities on the same preprocessed strips, upright
// and turned by 180 degrees.
func TestPredictPaddleOCR(t *testing.T) {
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	root := filepath.Dir(filepath.Dir(rt.Script)) // tools/convert/onnx
	root = filepath.Dir(filepath.Dir(filepath.Dir(root)))
	file := filepath.Join(root, "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	b, err := os.ReadFile(file)
	if err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	m, ts, err := onnximport.ImportPreset(b, "paddleocr-cls")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "paddleocr-cls")
	if err := weights.WriteModel(model, weights.WriterOptions{}, m, ts, nil); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range 4 {
		rs := textstrip.Letters(uint64(i + 1))
		if i%2 == 1 {
			rs = textstrip.Turn(rs)
		}
		img := data.FromImage(textstrip.Image(rs))
		png := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		writePNG(t, png, img)
		x, err := models.Preprocess(img.Clone(), m.Input)
		if err != nil {
			t.Fatal(err)
		}
		h, w := m.Input.Shape[1], m.Input.Shape[2]
		want, dims, err := rt.Run(file, toNCHW(x, h, w, 3), []int{1, 3, h, w})
		if err != nil {
			t.Fatal(err)
		}
		if len(dims) != 2 || dims[1] != 2 {
			t.Fatalf("onnxruntime output %v", dims)
		}
		text, js := printed(t, model, png, 2)
		for j, g := range js {
			d := math.Abs(float64(g.Prob - want[g.Index]))
			worst = max(worst, d)
			if d > 1e-4 || g.Label != m.Labels[g.Index] {
				t.Errorf("strip %d: predict %s (%d) %.6f, onnxruntime %.6f", i, g.Label, g.Index, g.Prob, want[g.Index])
			}
			if text[j].Label != g.Label {
				t.Errorf("strip %d: printed %v, JSON %v", i, text[j], g)
			}
		}
		t.Logf("strip %d: predict %s %.4f, onnxruntime %v", i, js[0].Label, js[0].Prob, want)
	}
	t.Logf("worst |probability - onnxruntime's| %.2g", worst)
}

// toNCHW reorders an NHWC image of batch 1.
func toNCHW(x []float32, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for ch := 0; ch < c; ch++ {
				out[(ch*h+y)*w+xx] = x[(y*w+xx)*c+ch]
			}
		}
	}
	return out
}
