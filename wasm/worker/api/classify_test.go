package api_test

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"webcnn/tools/convert/tfjs/tfjsref"
	"webcnn/wasm/worker/api"
)

// TestClassifyNSFWJS holds what POST /v1/classify answers for nsfwjs's
// MobileNetV2 (converted from node_modules) to what nsfwjs.classify
// returns in Node for the same PNG pictures, at the model's size and at
// others (resized with align corners, as nsfwjs does): the same labels in
// the same order, probabilities within 1e-4.
func TestClassifyNSFWJS(t *testing.T) {
	r := tfjsref.Require(t)
	assets := t.TempDir()
	if err := r.WriteNSFWJS(filepath.Join(assets, "models", "nsfwjs")); err != nil {
		t.Fatal(err)
	}
	s := newServer(api.Config{Assets: os.DirFS(assets), Budget: 256 << 20}) // nsfwjs needs 58 MB while loading
	imgs := tfjsref.Images()
	want, err := r.ClassifyNSFWJS("MobileNetV2", imgs)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, img := range imgs {
		body, err := tfjsref.PNG(img)
		if err != nil {
			t.Fatal(err)
		}
		var got api.Classification
		if w := do(t, s, http.MethodPost, "/v1/classify?model=nsfwjs&topk=5", "image/png", body, &got); w.Code != http.StatusOK {
			t.Fatalf("image %d: %d %s", i, w.Code, w.Body)
		}
		for j, w := range want[i] {
			d := math.Abs(float64(got.Top[j].Prob) - w.Prob)
			worst = max(worst, d)
			if got.Top[j].Label != w.Label || d > 1e-4 {
				t.Errorf("image %d (%dx%d) class %d: /v1/classify %s %.6f, nsfwjs.classify %s %.6f", i, img.H, img.W, j, got.Top[j].Label, got.Top[j].Prob, w.Label, w.Prob)
			}
		}
	}
	t.Logf("worst |probability - nsfwjs.classify's| %.2g", worst)
}
