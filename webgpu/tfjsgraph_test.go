package webgpu

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// TestTFJSGraphOps runs the synthetic TF.js graph model that uses every op
// the graph-model importer translates (tools/convert/tfjs/synthgraph:
// fused convolutions with every padding mode and activation, depthwise
// convolutions, pools, mirror and constant pads, strided slices with
// every mask, resizes in every coordinate mode, products of computed
// values, reductions, PReLU...), imported natively (go run ./webgpu/bench
// -prepare tfjs), on the CPU (natively, or in the page) and on the GPU
// where there is one, and holds its 20 outputs to TF.js's (cpu backend,
// computed natively on the same input) within 1e-5 of max(1, |value|) on
// the CPU and 1e-4 on the GPU.
func TestTFJSGraphOps(t *testing.T) {
	dir, explicit := modelsDir()
	ref := filepath.Join(dir, "tfjs-synth-ref")
	raw, err := os.ReadFile(filepath.Join(ref, "case.json"))
	if err != nil {
		msg := "the synthetic TF.js graph model and its reference are missing (go run ./webgpu/bench -prepare tfjs): "
		if explicit {
			t.Fatal(msg, err)
		}
		t.Skip(msg, err)
	}
	var c struct {
		Input   []int    `json:"input"`
		Outputs []string `json:"outputs"`
		Shapes  [][]int  `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var b core.Backend
	sharedOnce.Do(func() { shared, sharedErr = New() })
	switch {
	case sharedErr == nil:
		b = shared
	case errors.Is(sharedErr, ErrUnavailable) && os.Getenv("WEBGPU_REQUIRE") == "":
		t.Logf("no WebGPU here (%v): the CPU only", sharedErr)
	default:
		t.Fatalf("webgpu.New: %v", sharedErr)
	}
	m, err := weights.Load(context.Background(), os.DirFS(dir), "tfjs-synth", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := readF32(t, filepath.Join(ref, "in.f32"))
	want := readF32(t, filepath.Join(ref, "out.f32"))
	run := func(be core.Backend) [][]float32 {
		t.Helper()
		g, err := graph.Load(be, m)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Free()
		in, err := core.FromData(be, core.Shape(c.Input), x)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Free()
		ys, err := g.Run(nn.Eval, in)
		if err != nil {
			t.Fatalf("forward on %s: %v", be.Name(), err)
		}
		if len(ys) != len(c.Outputs) {
			t.Fatalf("%d outputs on %s, TF.js %d", len(ys), be.Name(), len(c.Outputs))
		}
		out := make([][]float32, len(ys))
		for i, y := range ys {
			if !y.Shape().Equal(core.Shape(c.Shapes[i])) {
				t.Errorf("output %s on %s: shape %v, TF.js %v", c.Outputs[i], be.Name(), y.Shape(), c.Shapes[i])
			}
			if out[i], err = y.Data(); err != nil {
				t.Fatal(err)
			}
			y.Free()
		}
		return out
	}
	// rel is max |a - tfjs| / max(1, |tfjs|) over output i.
	rel := func(a []float32, w []float32) float64 {
		d := 0.0
		for j := range a {
			e := math.Abs(float64(a[j])-float64(w[j])) / math.Max(1, math.Abs(float64(w[j])))
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			d = math.Max(d, e)
		}
		if len(a) != len(w) {
			return math.Inf(1)
		}
		return d
	}
	check := func(be core.Backend, tol float64) {
		outs := run(be)
		off, worst := 0, 0.0
		for i, o := range outs {
			n := core.Shape(c.Shapes[i]).Size()
			if off+n > len(want) {
				t.Fatalf("the reference has %d values, output %s needs %d more", len(want), c.Outputs[i], n)
			}
			d := rel(o, want[off:off+n])
			off += n
			worst = math.Max(worst, d)
			if d > tol {
				t.Errorf("output %s on %s: max relative |diff| from TF.js %.3g > %g", c.Outputs[i], be.Name(), d, tol)
			}
		}
		t.Logf("%s: %d outputs, max relative |diff| from TF.js %.3g", be.Name(), len(outs), worst)
	}
	check(cpu.New(), 1e-5)
	if b != nil {
		check(b, 1e-4)
	}
}
