package models_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnx/ort"
)

// crossCheckTol bounds max |ours - onnxruntime| / max |ours| over the
// logits: float32 sums in another order (im2col GEMM vs MLAS, folded vs
// unfolded batch norm) drift by about 1e-6 relative over 100+ layers; a
// semantic difference (padding, eps, window, flatten order) gives 1e-2 or
// more.
const crossCheckTol = 1e-4

// crossCheckFull lists the models whose ONNX files or run times are too
// large for every `go test` (VGG's file is over 500 MB; these take 8-30 s
// each here); CNN_ZOO_FULL=1 runs them (make test-zoo-full).
func crossCheckFull(id string) bool {
	switch id {
	case "resnet101", "resnet152", "wide_resnet50_2":
		return true
	}
	return strings.HasPrefix(id, "vgg")
}

// TestCrossCheckONNXRuntime runs every zoo model on our CPU backend and,
// exported to ONNX, in onnxruntime-node (an independent runtime, NCHW
// kernels), on the same seeded input, and compares the logits. Weights are
// seeded He, and batch norm statistics, gammas, betas, biases and layer
// scales are randomized so that their conventions (eps, mean/var order,
// NCHW broadcasting) change the answer. Without node or
// node_modules/onnxruntime-node the test skips, unless CNN_REQUIRE_ORT=1.
func TestCrossCheckONNXRuntime(t *testing.T) {
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatalf("CNN_REQUIRE_ORT=1: %v", err)
		}
		t.Skipf("skipping the onnxruntime cross-check: %v", err)
	}
	full := os.Getenv("CNN_ZOO_FULL") == "1"
	var report []string
	for _, spec := range models.Zoo {
		t.Run(spec.ID, func(t *testing.T) {
			switch {
			case crossCheckFull(spec.ID) && !full:
				t.Skip("large model: set CNN_ZOO_FULL=1 (make test-zoo-full)")
			case testing.Short() && spec.ID != "lenet5":
				t.Skip("-short: only lenet5")
			}
			start := time.Now()
			abs, rel, ops := crossCheckModel(t, rt, spec)
			line := fmt.Sprintf("%-22s max|diff| %.3g  rel %.3g  (%.1fs)", spec.ID, abs, rel, time.Since(start).Seconds())
			t.Log(line, "ops:", strings.Join(ops, " "))
			report = append(report, line)
			if rel > crossCheckTol {
				t.Errorf("max |ours - onnxruntime| / max |ours| = %.3g, want <= %g (max |diff| %.3g)", rel, crossCheckTol, abs)
			}
		})
	}
	t.Log("cross-check against onnxruntime-node:\n" + strings.Join(report, "\n"))
}

// crossCheckModel returns the largest absolute difference of the logits,
// that difference relative to the largest |logit|, and the ONNX ops used.
func crossCheckModel(t *testing.T, rt *ort.Runtime, spec models.Spec) (abs, rel float64, ops []string) {
	b := cpu.New()
	l, err := spec.New(nn.NewBuilder(b, 1))
	if err != nil {
		t.Fatal(err)
	}
	rng := core.NewRNG(2)
	in := make([]float32, spec.Input.Size())
	for i := range in {
		in[i] = rng.NormFloat32()
	}
	x, err := core.FromData(b, spec.Input, in)
	if err != nil {
		t.Fatal(err)
	}
	randomizeStats(t, l, x, rng)
	m, err := onnx.ExportModel(l, spec.Input)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), spec.ID+".onnx")
	if err := os.WriteFile(path, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	ops = onnx.OpTypes(m)
	m = nil
	// onnxruntime runs in its own process while we run ours.
	type result struct {
		out  []float32
		dims []int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		out, dims, err := rt.Run(path, in, spec.Input)
		done <- result{out, dims, err}
	}()
	y, err := l.Forward(nn.Eval, x)
	r := <-done
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	want, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	got, dims := r.out, r.dims
	if wantDims := (core.Shape{spec.Input[0], spec.Classes}); !core.Shape(dims).Equal(wantDims) || !y.Shape().Equal(wantDims) {
		t.Fatalf("onnxruntime gives %v, ours %v, want %v", dims, y.Shape(), wantDims)
	}
	var maxAbs float64
	for i := range want {
		maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		abs = math.Max(abs, d)
	}
	return abs, abs / math.Max(maxAbs, 1e-30), ops
}

// randomizeStats moves the parameters that He initialization leaves at
// identity values, keeping activations at the scale of a trained network
// (uncalibrated random statistics blow up deep nets to logits of 1e8, where
// SE gates saturate and the comparison measures conditioning, not
// semantics):
//  1. per-channel scales (batch and layer norm gammas, layer scales) ~
//     U(0.5, 1.5); biases (batch norm betas included) ~ N(0, 0.1);
//  2. one training-mode pass over x with momentum 1 sets every batch
//     norm's running statistics to its batch statistics;
//  3. running mean += N(0, 0.1) * sqrt(running var), running var *=
//     U(0.5, 1.5).
//
// Conv and linear weights keep their seeded He values.
func randomizeStats(t *testing.T, l nn.Layer, x *core.Tensor, rng *core.RNG) {
	t.Helper()
	for _, p := range l.Params() {
		name := p.Name[strings.LastIndex(p.Name, ".")+1:]
		if name == "running_mean" || name == "running_var" {
			continue
		}
		var f func() float32
		switch {
		case name == "bias":
			f = func() float32 { return 0.1 * rng.NormFloat32() }
		case p.T.Shape().Rank() == 1: // gammas and layer scales
			f = func() float32 { return 0.5 + rng.Float32() }
		default:
			continue
		}
		v := make([]float32, p.T.Size())
		for i := range v {
			v[i] = f()
		}
		if err := p.T.Backend().Write(p.T.Buffer(), 0, v); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
	}
	var bns []*nn.BatchNorm
	walk(l, func(l nn.Layer) {
		if bn, ok := l.(*nn.BatchNorm); ok {
			bns = append(bns, bn)
		}
	})
	if len(bns) == 0 {
		return
	}
	for _, bn := range bns {
		m := bn.Momentum
		bn.Momentum = 1
		defer func() { bn.Momentum = m }()
	}
	if _, err := l.Forward(&nn.Context{Mode: core.Training, RNG: rng}, x); err != nil {
		t.Fatalf("calibrating batch norms: %v", err)
	}
	for _, bn := range bns {
		mean, err := bn.Mean.Data()
		if err != nil {
			t.Fatal(err)
		}
		variance, err := bn.Var.Data()
		if err != nil {
			t.Fatal(err)
		}
		for i := range mean {
			mean[i] += 0.1 * rng.NormFloat32() * float32(math.Sqrt(float64(variance[i])))
			variance[i] *= 0.5 + rng.Float32()
		}
		b := bn.Mean.Backend()
		if err := b.Write(bn.Mean.Buffer(), 0, mean); err != nil {
			t.Fatal(err)
		}
		if err := b.Write(bn.Var.Buffer(), 0, variance); err != nil {
			t.Fatal(err)
		}
	}
}

// walk calls f on l and every layer inside the nn containers.
func walk(l nn.Layer, f func(nn.Layer)) {
	f(l)
	switch l := l.(type) {
	case nn.Sequential:
		for _, c := range l {
			walk(c.Layer, f)
		}
	case nn.Concat:
		for _, c := range l {
			walk(c.Layer, f)
		}
	case *nn.Residual:
		walk(l.Body, f)
		if l.Shortcut != nil {
			walk(l.Shortcut, f)
		}
	case *nn.SqueezeExcite:
		walk(l.FC1, f)
		walk(l.FC2, f)
	}
}
