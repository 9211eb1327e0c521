package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core/weights"
	"webcnn/tools/convert/tfjs/tfjsref"
)

// TestClassifyNSFWJS holds what the library's classify() returns for
// nsfwjs's MobileNetV2 (converted from node_modules) to what
// nsfwjs.classify returns in Node for the same pictures, at the model's
// size and at others (resized with align corners, as nsfwjs does): the
// same labels in the same order, probabilities within 1e-4. The model
// ends in a softmax: classify must not apply another.
func TestClassifyNSFWJS(t *testing.T) {
	r := tfjsref.Require(t)
	dir := filepath.Join(t.TempDir(), "nsfwjs")
	if err := r.WriteNSFWJS(dir); err != nil {
		t.Fatal(err)
	}
	wm, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBackends()
	l, err := bs.acquire("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel("nsfwjs", wm, l, bs)
	if err != nil {
		t.Fatal(err)
	}
	defer m.dispose()
	if got := m.info()["output"]; got != "probabilities" {
		t.Errorf("summary().output = %v, want probabilities", got)
	}
	imgs := tfjsref.Images()
	want, err := r.ClassifyNSFWJS("MobileNetV2", imgs)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, img := range imgs {
		got, err := m.classify(img, ClassifyOptions{TopK: 5})
		if err != nil {
			t.Fatal(err)
		}
		for j, w := range want[i] {
			d := math.Abs(float64(got[j].Prob) - w.Prob)
			worst = max(worst, d)
			if got[j].Label != w.Label || d > 1e-4 {
				t.Errorf("image %d (%dx%d) class %d: classify %s %.6f, nsfwjs.classify %s %.6f", i, img.H, img.W, j, got[j].Label, got[j].Prob, w.Label, w.Prob)
			}
		}
	}
	t.Logf("worst |probability - nsfwjs.classify's| %.2g", worst)
}
