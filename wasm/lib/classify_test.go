package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnx/ort"
	"webcnn/tools/convert/onnximport"
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

// TestPredictNamed runs PaddleOCR's orientation classifier (ONNX, from
// node_modules) through the library's predict() with its input by name in
// ONNX's NCHW layout, as an onnxruntime-web user would pass it: the output
// comes back by its ONNX name with its shape [1 2] and equals
// onnxruntime-node's on the same file and input; the NHWC Float32Array
// form gives the same values; a wrong name or layout is ErrBadInput.
func TestPredictNamed(t *testing.T) {
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(rt.Script)))))
	file := filepath.Join(root, "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	b, err := os.ReadFile(file)
	if err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	man, ts, err := onnximport.ImportPreset(b, "paddleocr-cls")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cls")
	if err := weights.WriteModel(dir, weights.WriterOptions{}, man, ts, nil); err != nil {
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
	m, err := newModel("cls", wm, l, bs)
	if err != nil {
		t.Fatal(err)
	}
	defer m.dispose()
	in := man.Inputs[0]
	if ins := m.info()["inputs"].([]any); len(ins) != 1 || ins[0].(map[string]any)["name"] != in.Name || ins[0].(map[string]any)["layout"] != "NCHW" {
		t.Errorf("summary().inputs = %v, want %q NCHW", ins, in.Name)
	}
	x := make([]float32, 3*48*192)
	for i := range x {
		x[i] = float32((i*13)%255)/127.5 - 1
	}
	got, err := m.predictAll(nil, map[string]Tensor{in.Name: {Data: x, Shape: []int{1, 3, 48, 192}}}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, dims, err := rt.Run(file, x, []int{1, 3, 48, 192})
	if err != nil {
		t.Fatal(err)
	}
	o := man.Outputs[0]
	if len(got) != 1 || got[0].Name != o.Name || fmt.Sprint(got[0].Shape) != fmt.Sprint(dims) || got[0].Kind != "probabilities" {
		t.Fatalf("predict: %+v, want one output %q of shape %v (probabilities)", got, o.Name, dims)
	}
	for i := range want {
		if d := math.Abs(float64(got[0].Data[i] - want[i])); d > 1e-5 {
			t.Errorf("value %d: %v, onnxruntime %v", i, got[0].Data[i], want[i])
		}
	}
	nhwc := make([]float32, len(x)) // the same input in the runtime's layout
	for c := 0; c < 3; c++ {
		for p := 0; p < 48*192; p++ {
			nhwc[p*3+c] = x[c*48*192+p]
		}
	}
	flat, err := m.predictAll(nhwc, nil, 0, 0)
	if err != nil || fmt.Sprint(flat[0].Data) != fmt.Sprint(got[0].Data) {
		t.Errorf("the NHWC Float32Array form: %+v %v, want %v", flat, err, got[0].Data)
	}
	for i, bad := range []map[string]Tensor{
		{"image": {Data: x, Shape: []int{1, 3, 48, 192}}},
		{in.Name: {Data: nhwc, Shape: []int{1, 48, 192, 3}}},
	} {
		if _, err := m.predictAll(nil, bad, 0, 0); !errors.Is(err, ErrBadInput) {
			t.Errorf("bad input %d (a wrong name, NHWC for NCHW): %v, want ErrBadInput", i, err)
		}
	}
}
