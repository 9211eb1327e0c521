package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/wasm/worker/demo"
	"webcnn/webgpu"
)

func TestKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("chunk a.bin: %w", weights.ErrIntegrity), "integrity"},
		{fmt.Errorf("x: %w", weights.ErrBudget), "budget"},
		{fmt.Errorf("x: %w", weights.ErrManifest), "manifest"},
		{fmt.Errorf("conv: %w", webgpu.ErrDeviceLost), "device-lost"},
		{fmt.Errorf("%w: fetching", ErrNetwork), "network"},
		{image.ErrFormat, "unsupported-image"},
		{ErrUnsupportedImage, "unsupported-image"},
		{ErrBadInput, "bad-input"},
		{ErrDisposed, "disposed"},
		{errors.New("something else"), "internal"},
	} {
		if got := Kind(c.err); got != c.want {
			t.Errorf("Kind(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestMeanVar checks the lecture's formulas on numbers worked by hand:
// y1 = (0.2, 0.8), y2 = (0.6, 0.4): mean (0.4, 0.6), variance
// ((0.2-0.4)^2 + (0.6-0.4)^2)/2 = 0.04 for both classes.
func TestMeanVar(t *testing.T) {
	mean, variance, err := MeanVar([][]float32{{0.2, 0.8}, {0.6, 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]float64{{0.4, 0.04}, {0.6, 0.04}} {
		if math.Abs(float64(mean[i])-want[0]) > 1e-7 || math.Abs(float64(variance[i])-want[1]) > 1e-7 {
			t.Errorf("class %d: mean %v variance %v, want %v %v", i, mean[i], variance[i], want[0], want[1])
		}
	}
	if _, _, err := MeanVar([][]float32{{1, 2}, {1}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("outputs of different lengths: %v, want ErrBadInput", err)
	}
	if _, _, err := MeanVar(nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("no outputs: %v, want ErrBadInput", err)
	}
}

func TestRGBA(t *testing.T) {
	img, err := RGBA([]byte{1, 2, 3, 255, 10, 20, 30, 0}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 2, 3, 10, 20, 30} // alpha dropped, not composited (as data.FromImage)
	if img.H != 1 || img.W != 2 || img.C != 3 || fmt.Sprint(img.Pix) != fmt.Sprint(want) {
		t.Errorf("RGBA: %dx%dx%d %v, want 1x2x3 %v", img.H, img.W, img.C, img.Pix, want)
	}
	if _, err := RGBA(make([]byte, 7), 2, 1); !errors.Is(err, ErrUnsupportedImage) {
		t.Errorf("7 bytes for 2x1: %v, want ErrUnsupportedImage", err)
	}
}

func TestDecode(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	m.Set(1, 1, color.NRGBA{200, 100, 50, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if i := (1*3 + 1) * 3; img.Pix[i] != 200 || img.Pix[i+1] != 100 || img.Pix[i+2] != 50 {
		t.Errorf("pixel (1,1) = %v, want 200 100 50", img.Pix[i:i+3])
	}
	_, err = Decode([]byte("these are notes, not a picture"))
	if !errors.Is(err, ErrUnsupportedImage) || Kind(err) != "unsupported-image" || !strings.Contains(err.Error(), "not a PNG") {
		t.Errorf("text: %v (kind %s), want an unsupported image", err, Kind(err))
	}
}

// Natively WebGPU is unavailable: "webgpu" and "auto" run on the CPU and
// say why.
func TestBackendsFallback(t *testing.T) {
	bs := newBackends()
	for _, want := range []string{"webgpu", "auto", "", "cpu"} {
		l, err := bs.acquire(want)
		if err != nil {
			t.Fatal(err)
		}
		if l.Name != "cpu" || l.B != bs.cpu {
			t.Errorf("acquire(%q) = %s, want the CPU", want, l.Name)
		}
		if want != "cpu" && !strings.Contains(l.Note, "not available") {
			t.Errorf("acquire(%q): note %q does not say WebGPU is not available", want, l.Note)
		}
		l.Release()
	}
	if _, err := bs.acquire("tpu"); !errors.Is(err, ErrBadInput) {
		t.Errorf("acquire(tpu): %v, want ErrBadInput", err)
	}
}

// load writes a demo model and loads it as the browser does.
func load(t *testing.T, id string) *model {
	t.Helper()
	var dm demo.Model
	for _, m := range demo.Models {
		if m.ID == id {
			dm = m
		}
	}
	dir := filepath.Join(t.TempDir(), id)
	if err := demo.WriteModel(dir, dm, 1); err != nil {
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
	m, err := newModel(id, wm, l, bs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// gradient is a generated 40x30 picture.
func gradient() *data.Image {
	img := data.NewImage(30, 40, 3)
	for i := range img.Pix {
		img.Pix[i] = float32((i * 7) % 256)
	}
	return img
}

// TestClassify compares classify with a forward pass and models.Top, and
// checks that the image given is left alone.
func TestClassify(t *testing.T) {
	m := load(t, "lenet5")
	img := gradient()
	before := append([]float32(nil), img.Pix...)
	got, err := m.classify(img, ClassifyOptions{TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(img.Pix) != fmt.Sprint(before) {
		t.Error("classify modified the caller's image")
	}
	x, err := models.Preprocess(img.Clone(), m.man.Input)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := core.FromData(m.lease.B, core.Shape(m.man.Input.Shape), x)
	y, err := m.net.Forward(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := y.Data()
	want := models.Top(out, true, m.man.Labels, 3)
	if len(got) != 3 {
		t.Fatalf("%d classes, want 3", len(got))
	}
	for i := range want {
		if got[i].Index != want[i].Index || got[i].Prob != want[i].Prob || got[i].Label != want[i].Label || got[i].Stats {
			t.Errorf("class %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	info := m.info()
	if info["params"] != float64(44426) || info["classes"] != 10 || info["backend"] != "cpu" || info["dropoutLayers"] != 0 {
		t.Errorf("info: params %v classes %v backend %v dropout %v", info["params"], info["classes"], info["backend"], info["dropoutLayers"])
	}

	// An ensemble of a model with itself: the mean is its probability and
	// the variance 0.
	ens, err := ensembleClassify([]*model{m, m}, img, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if ens[i].Index != want[i].Index || math.Abs(float64(ens[i].Mean-want[i].Prob)) > 1e-7 || ens[i].Var != 0 || !ens[i].Stats {
			t.Errorf("ensemble class %d: %+v, want mean %v variance 0", i, ens[i], want[i].Prob)
		}
	}

	// Without dropout, MC-dropout passes agree: variance 0.
	mc, err := m.classify(img, ClassifyOptions{TopK: 3, MC: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range mc {
		if mc[i].Index != want[i].Index || mc[i].Var > 1e-12 {
			t.Errorf("MC-dropout without dropout, class %d: %+v, want %d with variance 0", i, mc[i], want[i].Index)
		}
	}

	if _, err := m.predictAll(make([]float32, 5), nil, 0, 0); !errors.Is(err, ErrBadInput) {
		t.Errorf("predict of 5 values: %v, want ErrBadInput", err)
	}
	if _, err := m.classify(img, ClassifyOptions{MC: 5000}); !errors.Is(err, ErrBadInput) {
		t.Errorf("5000 MC passes: %v, want ErrBadInput", err)
	}
	m.dispose()
	m.dispose() // twice is harmless
	if _, err := m.classify(img, ClassifyOptions{}); !errors.Is(err, ErrDisposed) {
		t.Errorf("after dispose: %v, want ErrDisposed", err)
	}
}

// TestMCDropout: MobileNetV3-Small has dropout before its last layer, so
// the passes differ; a seed makes them reproducible; the means are
// probabilities.
func TestMCDropout(t *testing.T) {
	if testing.Short() {
		t.Skip("MobileNetV3-Small passes")
	}
	m := load(t, "mobilenet_v3_small")
	x := make([]float32, core.Shape(m.man.Input.Shape).Size())
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	mean, variance, err := m.mc(x, ClassifyOptions{MC: 3, Seed: 7}, true)
	if err != nil {
		t.Fatal(err)
	}
	var sum, maxVar float64
	for i := range mean {
		sum += float64(mean[i])
		maxVar = math.Max(maxVar, float64(variance[i]))
	}
	if math.Abs(sum-1) > 1e-4 || maxVar <= 0 {
		t.Errorf("MC-dropout: means sum to %v (want 1), max variance %v (want > 0)", sum, maxVar)
	}
	again, _, err := m.mc(x, ClassifyOptions{MC: 3, Seed: 7}, true)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(mean) {
		t.Error("MC-dropout with the same seed gave another answer")
	}
	raw, err := m.predictAll(x, nil, 2, 7)
	if err != nil || len(raw) != 1 || len(raw[0].Data) != 1000 || len(raw[0].Var) != 1000 || fmt.Sprint(raw[0].Shape) != "[1 1000]" {
		t.Errorf("predict with MC-dropout: %+v, %v; want one output [1 1000] with means and variances", raw, err)
	}
}

// TestClassifyOptions: classify's options are whole numbers in range or
// a bad-input error that names the option and what was given.
func TestClassifyOptions(t *testing.T) {
	num := func(f float64) Option { return Option{Type: "number", Num: f} }
	none := Option{Type: "undefined"}
	for _, c := range []struct {
		topk, mc, seed Option
		want           ClassifyOptions
		err            string // a part of the message, "" for none
	}{
		{none, none, none, ClassifyOptions{TopK: 5, Seed: 42}, ""},
		{num(3), num(20), num(7), ClassifyOptions{TopK: 3, MC: 20, Seed: 7}, ""},
		{Option{Type: "null"}, Option{Type: "boolean", Text: "false"}, none, ClassifyOptions{TopK: 5, Seed: 42}, ""},
		{num(0), none, none, ClassifyOptions{}, "option topk: want a whole number from 1 to 65536, got 0"},
		{num(-3), none, none, ClassifyOptions{}, "option topk: want a whole number from 1 to 65536, got -3"},
		{num(2.5), none, none, ClassifyOptions{}, "got 2.5"},
		{Option{Type: "string", Text: "5"}, none, none, ClassifyOptions{}, `option topk: want a whole number from 1 to 65536, got "5"`},
		{none, Option{Type: "string", Text: "abc"}, none, ClassifyOptions{}, `option mcDropout: want a whole number from 0 to 10000, got "abc"`},
		{none, Option{Type: "boolean", Text: "true"}, none, ClassifyOptions{}, "option mcDropout: want a whole number from 0 to 10000, got boolean true"},
		{none, num(1), none, ClassifyOptions{}, "1 pass has no spread"},
		{none, num(1e6), none, ClassifyOptions{}, "got 1e+06"},
		{none, none, num(-1), ClassifyOptions{}, "option seed"},
		{none, none, Option{Type: "object"}, ClassifyOptions{}, "option seed: want a whole number from 0 to 9007199254740992, got object"},
	} {
		got, err := ClassifyOptionsOf(c.topk, c.mc, c.seed, 42)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ClassifyOptionsOf(%v, %v, %v) = %+v, %v; want %+v", c.topk, c.mc, c.seed, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || Kind(err) != "bad-input"):
			t.Errorf("ClassifyOptionsOf(%v, %v, %v): error %v (kind %s), want bad-input mentioning %q", c.topk, c.mc, c.seed, err, Kind(err), c.err)
		}
	}
}

// TestDecodeTooLarge: a PNG whose header says 20000x20000 is refused from
// its header (bad-input), before 4.8 GB of pixels would be allocated.
func TestDecodeTooLarge(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	// IHDR: its type and 13 bytes of data at 12-28 (width and height at
	// 16-23), then their CRC-32.
	raw := b.Bytes()
	binary.BigEndian.PutUint32(raw[16:], 20000)
	binary.BigEndian.PutUint32(raw[20:], 20000)
	binary.BigEndian.PutUint32(raw[29:], crc32.ChecksumIEEE(raw[12:29]))
	if _, err := Decode(raw); Kind(err) != "bad-input" || !strings.Contains(err.Error(), "20000x20000") {
		t.Errorf("Decode of a 20000x20000 PNG header: %v (kind %s), want bad-input naming the size", err, Kind(err))
	}
	if err := CheckSize(2048, 2048); err != nil {
		t.Errorf("CheckSize(2048, 2048): %v", err)
	}
	if err := CheckSize(8000, 8000); Kind(err) != "bad-input" {
		t.Errorf("CheckSize(8000, 8000): %v, want bad-input", err)
	}
}
