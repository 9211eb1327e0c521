package webgpu

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// modelsDir is where the native step writes the imported models
// (go run ./webgpu/bench -prepare nsfwjs): $WEBGPU_MODELS, or
// build/webgpu-models in the module. The browser test reads it through
// wasmbrowsertest's file-system bridge (os calls in the page are served
// by the host over HTTP), which needs an absolute path.
func modelsDir() (dir string, explicit bool) {
	if d := os.Getenv("WEBGPU_MODELS"); d != "" {
		return d, true
	}
	_, file, _, _ := runtime.Caller(0) // .../webgpu/nsfwjs_test.go
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "build", "webgpu-models"), false
}

// nsfwjsReference is the file the native step writes beside the models
// (webgpu/bench/prepare.go): generated images and TF.js's probabilities.
type nsfwjsReference struct {
	Images        []string               `json:"images"`
	Size          int                    `json:"size"`
	Input         string                 `json:"input"`
	Probabilities map[string][][]float32 `json:"probabilities"`
}

// TestNSFWJS runs the real nsfwjs models (imported from the npm package's
// TF.js files into a manifest + chunks: MobileNetV2, a Keras layers model,
// and MobileNetV2 x1.4, a graph model) at 224x224 on the GPU and on the
// CPU, loaded through the manifest as a browser would, and compares the
// class probabilities with TF.js's (computed natively by the prepare step;
// |gpu - tfjs| and |cpu - tfjs| <= 1e-4), the GPU's with the CPU's (<= 1e-4)
// and the logits before the softmax (|gpu - cpu| <= 1e-4 * max |cpu logit|).
func TestNSFWJS(t *testing.T) {
	b := gpu(t)
	dir, explicit := modelsDir()
	missing := func(what string, err error) {
		msg := what + " is missing (go run ./webgpu/bench -prepare nsfwjs): "
		if explicit {
			t.Fatal(msg, err)
		}
		t.Skip(msg, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "nsfwjs-reference.json"))
	if err != nil {
		missing("the TF.js reference", err)
	}
	var ref nsfwjsReference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(filepath.Join(dir, ref.Input))
	if err != nil {
		missing("the reference's images", err)
	}
	imgs := make([]float32, len(in)/4)
	for i := range imgs {
		imgs[i] = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
	}
	if len(imgs) != len(ref.Images)*ref.Size*ref.Size*3 {
		t.Fatalf("%d input values for %d images of %d", len(imgs), len(ref.Images), ref.Size)
	}
	for _, name := range []string{"nsfwjs-mobilenet_v2", "nsfwjs-mobilenet_v2_mid"} {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, name, "manifest.json")); err != nil {
				missing("the imported model", err)
			}
			testNSFWJS(t, b, dir, name, imgs, ref)
		})
	}
}

func testNSFWJS(t *testing.T, b *Backend, dir, name string, imgs []float32, ref nsfwjsReference) {
	start := time.Now()
	m, err := weights.Load(context.Background(), os.DirFS(dir), name, weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %s (%d tensors, %d chunks) in %v", name, len(m.Tensors), len(m.Manifest.Chunks), time.Since(start).Round(time.Millisecond))

	// Return the logits as well: the softmax's input becomes a second output.
	spec, err := graph.Parse(m.Manifest.Graph)
	if err != nil {
		t.Fatal(err)
	}
	last := spec.Nodes[len(spec.Nodes)-1]
	if last.Op != "softmax" || len(spec.Outputs) != 1 || last.Outputs[0] != spec.Outputs[0] {
		t.Fatalf("want a graph ending in its softmax output, got %s %v -> %v (outputs %v)", last.Op, last.Inputs, last.Outputs, spec.Outputs)
	}
	spec.Outputs = append(spec.Outputs, last.Inputs[0])
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]weights.Tensor, len(m.Manifest.Tensors))
	for i, e := range m.Manifest.Tensors {
		ts[i] = weights.Tensor{Name: e.Name, Shape: e.Shape, Data: m.Tensors[e.Name]}
	}

	names, size := ref.Images, ref.Size
	shape := core.Shape{len(names), size, size, 3}
	run := func(be core.Backend) (probs, logits []float32, d time.Duration) {
		t.Helper()
		g, err := graph.New(be, raw, ts)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Free()
		x, err := core.FromData(be, shape, imgs)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Free()
		if err := be.Sync(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ys, err := g.Run(nn.Eval, x)
		if err != nil {
			t.Fatalf("forward on %s: %v", be.Name(), err)
		}
		defer func() {
			for _, y := range ys {
				y.Free()
			}
		}()
		if !ys[0].Shape().Equal(core.Shape{len(names), 5}) {
			t.Fatalf("output %v, want [%d 5]", ys[0].Shape(), len(names))
		}
		if probs, err = ys[0].Data(); err != nil {
			t.Fatal(err)
		}
		if logits, err = ys[1].Data(); err != nil {
			t.Fatal(err)
		}
		return probs, logits, time.Since(start)
	}
	wantP, wantL, tc := run(cpu.New())
	gotP, gotL, tg := run(b)

	// The same pass planned: rehearsed with zero weights (as the browser
	// library does before the chunks arrive), then replayed on the plan's
	// buffers: bit-identical outputs, no miss, no pipeline compiled.
	pass := func(be core.Backend, g *graph.Graph, probs, logits *[]float32) error {
		x, err := core.FromData(be, shape, imgs)
		if err != nil {
			return err
		}
		defer x.Free()
		ys, err := g.Run(nn.Eval, x)
		if err != nil {
			return err
		}
		defer func() {
			for _, y := range ys {
				y.Free()
			}
		}()
		if *probs, err = ys[0].Data(); err != nil {
			return err
		}
		*logits, err = ys[1].Data()
		return err
	}
	zeros := make([]weights.Tensor, len(ts))
	for i, t := range ts {
		zeros[i] = weights.Tensor{Name: t.Name, Shape: t.Shape, Data: make([]float32, len(t.Data))}
	}
	r := b.Rehearsal()
	rg, err := graph.New(r, raw, zeros)
	if err != nil {
		t.Fatal(err)
	}
	var sink []float32
	plan, err := r.Record(func() error { return pass(r, rg, &sink, &sink) })
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.check(plan.log); err != nil {
		t.Fatal(err)
	}
	arena, err := b.Prepare(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer arena.Release()
	g, err := graph.New(b, raw, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	if err := b.Ready(); err != nil {
		t.Fatal(err)
	}
	compiles := b.dev.counters().Compiles
	var planP, planL []float32
	if err := arena.Run(func() error { return pass(b, g, &planP, &planL) }); err != nil {
		t.Fatal(err)
	}
	if arena.Misses != 0 || b.dev.counters().Compiles != compiles {
		t.Errorf("planned pass: %d misses, %d pipelines compiled; want 0 and 0", arena.Misses, b.dev.counters().Compiles-compiles)
	}
	if !slices.Equal(planP, gotP) || !slices.Equal(planL, gotL) {
		t.Errorf("the planned pass's outputs differ from the pooled pass's")
	}
	t.Logf("planned %s %v: %v", name, shape, plan)

	scale := 0.0
	for _, v := range wantL {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	maxDiff := func(a, c []float32) float64 {
		m := 0.0
		for i := range a {
			e := math.Abs(float64(a[i]) - float64(c[i]))
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			m = math.Max(m, e)
		}
		return m
	}
	tfjs := ref.Probabilities[name]
	if len(tfjs) != len(names) {
		t.Fatalf("the reference has %d rows of TF.js probabilities for %s, want %d", len(tfjs), name, len(names))
	}
	dt := 0.0 // max |x - tfjs| over the GPU's and the CPU's probabilities
	for i, n := range names {
		t.Logf("%-12s tfjs %v\n%-12s cpu  %v\n%-12s gpu  %v", n, tfjs[i], "", wantP[5*i:5*i+5], "", gotP[5*i:5*i+5])
		if a, c := argmax(gotP[5*i:5*i+5]), argmax(wantP[5*i:5*i+5]); a != c {
			t.Errorf("%s: top-1 class %s on the GPU, %s on the CPU", n, m.Manifest.Labels[a], m.Manifest.Labels[c])
		}
		dt = math.Max(dt, math.Max(maxDiff(gotP[5*i:5*i+5], tfjs[i]), maxDiff(wantP[5*i:5*i+5], tfjs[i])))
	}
	t.Logf("%s: max |probability - TF.js's| %.3g (GPU and CPU)", name, dt)
	if !(dt <= 1e-4) {
		t.Errorf("probabilities differ from TF.js's by %.3g > 1e-4", dt)
	}
	dp, dl := maxDiff(gotP, wantP), maxDiff(gotL, wantL)
	t.Logf("%s %v: max |gpu - cpu| probabilities %.3g, logits %.3g (max |logit| %.4g, relative %.3g); forward cpu %v, gpu %v (first: pipelines compiled)",
		name, shape, dp, dl, scale, dl/scale, tc.Round(time.Millisecond), tg.Round(time.Millisecond))
	if !(dp <= 1e-4) {
		t.Errorf("probabilities differ by %.3g > 1e-4", dp)
	}
	if !(dl <= 1e-4*scale) {
		t.Errorf("logits differ by %.3g, more than 1e-4 of their scale %.4g", dl, scale)
	}
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
