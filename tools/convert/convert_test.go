package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/pytorch"
	"webcnn/tools/convert/safetensors"
	"webcnn/tools/convert/zoomap"
)

// original builds a zoo model with seeded He weights (nn.NewBuilder) and
// gives its 1-D tensors seeded values too (biases, batch-norm weights
// around 1, running variances in 0.5..1.5), so that every tensor of the
// state_dict matters; it returns the model and its values by name.
func original(t *testing.T, spec models.Spec, seed uint64) (nn.Layer, map[string][]float32) {
	t.Helper()
	l, err := spec.New(nn.NewBuilder(cpu.New(), seed))
	if err != nil {
		t.Fatal(err)
	}
	rng := core.NewRNG(seed + 1)
	values := map[string][]float32{}
	for _, p := range l.Params() {
		v, err := p.T.Data()
		if err != nil {
			t.Fatal(err)
		}
		if p.T.Shape().Rank() == 1 {
			for i := range v {
				switch {
				case strings.HasSuffix(p.Name, "running_var"):
					v[i] = 0.5 + rng.Float32()
				case strings.HasSuffix(p.Name, "weight"):
					v[i] = 1 + 0.2*rng.NormFloat32()
				default:
					v[i] = 0.1 * rng.NormFloat32()
				}
			}
		}
		values[p.Name] = v
	}
	if err := nn.Load(l, values); err != nil {
		t.Fatal(err)
	}
	return l, values
}

// setMomentum sets the momentum of every batch norm of a layer tree.
func setMomentum(l nn.Layer, m float32) {
	switch v := l.(type) {
	case nn.Sequential:
		for _, c := range v {
			setMomentum(c.Layer, m)
		}
	case *nn.Residual:
		setMomentum(v.Body, m)
		if v.Shortcut != nil {
			setMomentum(v.Shortcut, m)
		}
	case *nn.BatchNorm:
		v.Momentum = m
	}
}

// calibrate sets every batch norm's running statistics to those of a
// seeded batch (one training-mode pass with momentum 1), as training
// leaves them: a random ReLU network without this gives every input the
// same top class (the activations' common positive mean dominates), which
// would make top-1 agreement meaningless. It returns the new values.
func calibrate(t *testing.T, l nn.Layer, spec models.Spec, seed uint64) map[string][]float32 {
	t.Helper()
	setMomentum(l, 1)
	defer setMomentum(l, 0.1)
	x := input(t, spec, 2, seed)
	s := spec.Input.Clone()
	s[0] = 2
	xt, err := core.FromData(l.Params()[0].T.Backend(), s, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Forward(&nn.Context{Mode: core.Training, RNG: core.NewRNG(seed)}, xt); err != nil {
		t.Fatal(err)
	}
	values := map[string][]float32{}
	for _, p := range l.Params() {
		if values[p.Name], err = p.T.Data(); err != nil {
			t.Fatal(err)
		}
	}
	return values
}

// exportPyTorch writes values as torch.save(model.state_dict()) would:
// torch layouts (zoomap.ToTorch), PyTorch's zip format (pytorch.Write).
func exportPyTorch(t *testing.T, spec models.Spec, values map[string][]float32, name string) {
	t.Helper()
	ts, err := zoomap.ToTorch(spec, values)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pytorch.Write(f, ts); err != nil {
		t.Fatal(err)
	}
}

// fromManifest loads a converted directory and builds its model.
func fromManifest(t *testing.T, dir string) (nn.Layer, *weights.Model) {
	t.Helper()
	m, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := models.Build(cpu.New(), m)
	if err != nil {
		t.Fatal(err)
	}
	return l, m
}

// input is a seeded normal batch of the spec's input shape.
func input(t *testing.T, spec models.Spec, n int, seed uint64) []float32 {
	s := spec.Input.Clone()
	s[0] = n
	rng := core.NewRNG(seed)
	v := make([]float32, s.Size())
	for i := range v {
		v[i] = rng.NormFloat32()
	}
	return v
}

func forward(t *testing.T, l nn.Layer, spec models.Spec, x []float32) []float32 {
	t.Helper()
	s := spec.Input.Clone()
	s[0] = len(x) / (s.Size() / s[0])
	xt, err := core.FromData(l.Params()[0].T.Backend(), s, x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(nn.Eval, xt)
	if err != nil {
		t.Fatal(err)
	}
	v, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPyTorchRoundTrip: a zoo model exported as a PyTorch zip state_dict,
// converted by the command, loaded with weights.Load and built by
// models.Build gives the original model's logits bit for bit, and the
// manifest describes the architecture, its input and its memory.
func TestPyTorchRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		id    string
		batch int
		input weights.Input
	}{
		{"lenet5", 4, weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1.0 / 255}},
		{"resnet18", 1, weights.Input{Shape: []int{1, 224, 224, 3}, ChannelOrder: "RGB", Scale: 1.0 / 255,
			Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}},
	} {
		spec, _ := models.Lookup(tc.id)
		l, values := original(t, spec, 7)
		dir := t.TempDir()
		pth := filepath.Join(dir, tc.id+".pth")
		exportPyTorch(t, spec, values, pth)
		out := filepath.Join(dir, "out")
		if err := convert(options{From: "pytorch", Arch: tc.id, In: pth, Out: out}); err != nil {
			t.Fatal(err)
		}
		got, m := fromManifest(t, out)
		x := input(t, spec, tc.batch, 11)
		want, have := forward(t, l, spec, x), forward(t, got, spec, x)
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(have[i]) {
				t.Fatalf("%s: logit %d = %v after conversion, %v before", tc.id, i, have[i], want[i])
			}
		}
		sum, err := models.Summarize(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		man := m.Manifest
		if man.Model != tc.id || man.Arch.ID != tc.id || man.Arch.Config["classes"] != float64(spec.Classes) || man.Labels != nil {
			t.Errorf("%s: manifest model %q arch %+v labels %v", tc.id, man.Model, man.Arch, man.Labels)
		}
		if !reflect.DeepEqual(man.Input, tc.input) {
			t.Errorf("%s: input %+v, want %+v", tc.id, man.Input, tc.input)
		}
		if man.Memory != (weights.Memory{ParamBytes: sum.ParamBytes(), ActivationBytes: sum.ActivationBytes()}) {
			t.Errorf("%s: memory %+v, summary %d + %d", tc.id, man.Memory, sum.ParamBytes(), sum.ActivationBytes())
		}
	}
}

// TestSafetensors converts LeNet-5 from a safetensors file in torch
// layouts: the same logits bit for bit.
func TestSafetensors(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	l, values := original(t, spec, 3)
	ts, err := zoomap.ToTorch(spec, values)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "lenet5.safetensors")
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, "F32", map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var progress, log bytes.Buffer
	if err := convert(options{From: "safetensors", Arch: "lenet5", In: in, Out: out, Progress: &progress, Log: &log}); err != nil {
		t.Fatal(err)
	}
	got, _ := fromManifest(t, out)
	x := input(t, spec, 2, 5)
	want, have := forward(t, l, spec, x), forward(t, got, spec, x)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(have[i]) {
			t.Fatalf("logit %d = %v after conversion, %v before", i, have[i], want[i])
		}
	}
	if !strings.Contains(progress.String(), "writing") || !strings.HasPrefix(log.String(), "lenet5: "+in+" -> "+out+": 10 tensors, 44426 values, 1 chunks") {
		t.Errorf("progress %q, log %q", progress.String(), log.String())
	}
}

// TestQuantized converts ResNet-18 (He weights, batch norms calibrated on
// two seeded images) with --dtype f16 and int8 and compares the logits of
// 8 other seeded images with the float32 model's: the largest absolute
// difference and the top-1 agreement are logged (they go in the README);
// the bounds held here are those measured, with a margin. These are
// figures for a random network on noise, not for trained weights.
func TestQuantized(t *testing.T) {
	if testing.Short() {
		t.Skip("three ResNet-18 forward passes of 8 images")
	}
	spec, _ := models.Lookup("resnet18")
	l, _ := original(t, spec, 7)
	values := calibrate(t, l, spec, 99)
	dir := t.TempDir()
	pth := filepath.Join(dir, "resnet18.pth")
	exportPyTorch(t, spec, values, pth)
	x := input(t, spec, 8, 13)
	ref := forward(t, l, spec, x)
	top1 := func(v []float32) []int {
		var out []int
		for i := 0; i < len(v); i += spec.Classes {
			best := i
			for j := i; j < i+spec.Classes; j++ {
				if v[j] > v[best] {
					best = j
				}
			}
			out = append(out, best-i)
		}
		return out
	}
	var refMax float64
	for _, v := range ref {
		refMax = math.Max(refMax, math.Abs(float64(v)))
	}
	for _, tc := range []struct {
		dtype  string
		maxAbs float64 // bound on max |logit - f32 logit|
		agree  int     // of 8
	}{{"f16", 0.02, 8}, {"int8", 0.5, 6}} {
		out := filepath.Join(dir, tc.dtype)
		if err := convert(options{From: "pytorch", Arch: "resnet18", In: pth, Out: out, DType: tc.dtype}); err != nil {
			t.Fatal(err)
		}
		q, _ := fromManifest(t, out)
		got := forward(t, q, spec, x)
		var d float64
		for i := range ref {
			d = math.Max(d, math.Abs(float64(got[i]-ref[i])))
		}
		a, b := top1(ref), top1(got)
		agree := 0
		for i := range a {
			if a[i] == b[i] {
				agree++
			}
		}
		t.Logf("resnet18 --dtype %s: max |logit - f32 logit| = %.3g (f32 logits up to %.3g in magnitude), top-1 agrees on %d of 8 (f32 %v, %s %v)",
			tc.dtype, d, refMax, agree, a, tc.dtype, b)
		if d > tc.maxAbs || agree < tc.agree {
			t.Errorf("%s: max abs difference %.3g (bound %g), top-1 agreement %d/8 (bound %d)", tc.dtype, d, tc.maxAbs, agree, tc.agree)
		}
	}
}

// TestOptions: labels, name, chunk size and input flags reach the manifest.
func TestOptions(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	_, values := original(t, spec, 1)
	dir := t.TempDir()
	pth := filepath.Join(dir, "lenet5.pth")
	exportPyTorch(t, spec, values, pth)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("zero\none\r\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n"), 0o644)
	o, err := parseFlags([]string{"--from", "pytorch", "--arch", "lenet5", "--in", pth, "--out", filepath.Join(dir, "out"),
		"--name", "mnist-lenet5", "--labels", labels, "--chunk", "64KiB", "--scale", "1/255", "--offset", "-0.1307",
		"--mean", "0", "--std", "0.3081", "--dtype", "f16"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if err := convert(o); err != nil {
		t.Fatal(err)
	}
	_, m := fromManifest(t, o.Out)
	man := m.Manifest
	want := weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1.0 / 255, Offset: -0.1307, Mean: []float32{0}, Std: []float32{0.3081}}
	if man.Model != "mnist-lenet5" || len(man.Labels) != 10 || man.Labels[1] != "one" || man.Labels[9] != "nine" || !reflect.DeepEqual(man.Input, want) {
		t.Errorf("manifest %q labels %q input %+v", man.Model, man.Labels, man.Input)
	}
	// f16: 44,426 values * 2 bytes = 88,852 bytes in chunks of at most
	// 64 KiB: fc1.weight (61,440 B) cannot share, so at least 2 chunks.
	var size int64
	for _, c := range man.Chunks {
		size += c.Size
		if c.Size > 64<<10 {
			t.Errorf("chunk %s has %d bytes", c.File, c.Size)
		}
	}
	if size != 88852 || len(man.Chunks) < 2 || man.Tensors[0].DType != weights.F16 {
		t.Errorf("%d chunks, %d bytes, dtype %s", len(man.Chunks), size, man.Tensors[0].DType)
	}
}

func TestErrors(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	_, values := original(t, spec, 1)
	dir := t.TempDir()
	pth := filepath.Join(dir, "lenet5.pth")
	exportPyTorch(t, spec, values, pth)
	nine := filepath.Join(dir, "nine.txt")
	os.WriteFile(nine, []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\n"), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{From: "onnx", In: pth}, "--from pytorch needs --arch"}, // read as what its bytes say
		{options{From: "onnx", In: pth, Preset: "mnist-9"}, "--preset is for ONNX and TF.js models; " + pth + " is a pytorch file"},
		{options{From: "tfjs", In: pth}, "--from pytorch needs --arch"},
		{options{From: "keras", In: pth}, `--from "keras": want pytorch, safetensors, onnx or tfjs`},
		{options{From: "pytorch", In: pth}, "--from pytorch needs --arch"},
		{options{From: "pytorch", Arch: "lenet6", In: pth}, `unknown model "lenet6"`},
		{options{From: "pytorch", Arch: "resnet18", In: pth}, "resnet18: state_dict does not fit the architecture: 111 problems"},
		{options{From: "pytorch", Arch: "resnet18", In: pth}, "conv1.weight: found [6 1 5 5], want [64 3 7 7] (ours [7 7 3 64])"},
		{options{From: "pytorch", Arch: "resnet18", In: pth}, "unexpected fc1.weight [120 256]"},
		{options{From: "pytorch", Arch: "lenet5", In: pth, Labels: nine}, "has 9 labels, the model 10 classes"},
		{options{From: "pytorch", Arch: "lenet5", In: pth, ChannelOrder: "rgb"}, "--channel-order RGB for a model of 1 input channels"},
		{options{From: "pytorch", Arch: "lenet5", In: pth, Mean: []float32{0.5, 0.5, 0.5}}, "want 1 values each"},
		{options{From: "pytorch", Arch: "alexnet", In: pth, InputSize: 200}, "--input-size 200: summary alexnet"},
		{options{From: "pytorch", Arch: "lenet5", In: filepath.Join(dir, "none.pth")}, "no such file"},
	} {
		tc.o.Out = out
		err := convert(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%+v: a failed conversion created %s", tc.o, out)
		}
	}
}

func TestParseFlags(t *testing.T) {
	base := []string{"--from", "pytorch", "--arch", "resnet50", "--in", "r.pth", "--out", "o"}
	f := func(v float32) *float32 { return &v }
	for _, tc := range []struct {
		args []string
		want options
		err  string
	}{
		{base, options{From: "pytorch", Arch: "resnet50", In: "r.pth", Out: "o", DType: "f32", Chunk: 4 << 20}, ""},
		{append(base, "--chunk", "512KiB", "--dtype", "int8", "--scale", "2/255", "--offset", "-1", "--input-size", "192",
			"--mean", "0.5,0.5,0.5", "--std", "0.5, 0.5, 0.5", "--channel-order", "BGR"),
			options{From: "pytorch", Arch: "resnet50", In: "r.pth", Out: "o", DType: "int8", Chunk: 512 << 10, Scale: f(2.0 / 255), Offset: f(-1),
				InputSize: 192, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}, ChannelOrder: "BGR"}, ""},
		{append(base, "--chunk", "1MB"), options{From: "pytorch", Arch: "resnet50", In: "r.pth", Out: "o", DType: "f32", Chunk: 1e6}, ""},
		{[]string{"--from", "pytorch"}, options{}, "--in and --out are required"},
		{[]string{"--from", "keras", "--in", "a", "--out", "b"}, options{}, `--from "keras"`},
		{append(base, "--dtype", "f64"), options{}, `--dtype "f64"`},
		{append(base, "--chunk", "-4MiB"), options{}, "--chunk"},
		{append(base, "--scale", "1/0"), options{}, `--scale: "1/0" is not a fraction`},
		{append(base, "--mean", "0.5,x"), options{}, `--mean: "x" is not a number`},
		{append(base, "extra"), options{}, "unexpected arguments"},
		{append(base, "--input-size", "48x192"), options{From: "pytorch", Arch: "resnet50", In: "r.pth", Out: "o", DType: "f32", Chunk: 4 << 20,
			InputSize: 48, InputWidth: 192}, ""},
		{append(base, "--input-size", "48x"), options{}, `--input-size "48x"`},
		{append(base, "--input-size", "-3"), options{}, `--input-size "-3"`},
		{append(base, "--force"), options{From: "pytorch", Arch: "resnet50", In: "r.pth", Out: "o", DType: "f32", Chunk: 4 << 20, Force: true}, ""},
	} {
		var stderr bytes.Buffer
		got, err := parseFlags(tc.args, &stderr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(stderr.String(), "usage: convert") {
				t.Errorf("%v: error %v (stderr %q), want %q and the usage line", tc.args, err, stderr.String(), tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v:\n got %+v %v\nwant %+v", tc.args, got, err, tc.want)
		}
	}
}

func TestDefaultInput(t *testing.T) {
	for id, want := range map[string]string{
		"lenet5":       "GRAY scale 0.003921569 offset 0 mean [] std []",
		"resnet50":     "RGB scale 0.003921569 offset 0 mean [0.485 0.456 0.406] std [0.229 0.224 0.225]",
		"inception_v3": "RGB scale 0.003921569 offset 0 mean [0.485 0.456 0.406] std [0.229 0.224 0.225]",
		"mobilenet_v1": "RGB scale 0.007843138 offset -1 mean [] std []",
		"xception":     "RGB scale 0.007843138 offset -1 mean [] std []",
	} {
		spec, err := models.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		in := defaultInput(spec)
		if got := fmt.Sprintf("%s scale %v offset %v mean %v std %v", in.ChannelOrder, in.Scale, in.Offset, in.Mean, in.Std); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
}
