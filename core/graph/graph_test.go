package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// randTensor returns a named host tensor of normal values from rng.
func randTensor(rng *core.RNG, name string, shape ...int) weights.Tensor {
	n := core.Shape(shape).Size()
	d := make([]float32, n)
	for i := range d {
		d[i] = rng.NormFloat32()
	}
	return weights.Tensor{Name: name, Shape: shape, Data: d}
}

// dev puts a host tensor on b.
func dev(t *testing.T, b core.Backend, w weights.Tensor) *core.Tensor {
	t.Helper()
	x, err := core.FromData(b, w.Shape, w.Data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// checker returns a function that unwraps an op's result or fails t.
func checker(t *testing.T) func(*core.Tensor, error) *core.Tensor {
	return func(x *core.Tensor, err error) *core.Tensor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
}

func specJSON(t testing.TB, s Spec) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// close reports the largest absolute difference of two equal-length slices.
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestGraphMobileBlock runs an inverted-residual block with a classifier
// head through the graph and through the same core op calls, which must
// agree exactly (the same kernels in the same order).
func TestGraphMobileBlock(t *testing.T) {
	must := checker(t)
	b := cpu.New()
	rng := core.NewRNG(7)
	ts := []weights.Tensor{
		randTensor(rng, "stem/kernel", 3, 3, 3, 8),
		randTensor(rng, "bn/gamma", 8), randTensor(rng, "bn/beta", 8),
		randTensor(rng, "bn/mean", 8), randTensor(rng, "bn/var", 8),
		randTensor(rng, "dw/kernel", 3, 3, 1, 16),
		randTensor(rng, "pw/kernel", 1, 1, 16, 8), randTensor(rng, "pw/bias", 8),
		randTensor(rng, "fc/kernel", 8, 5), randTensor(rng, "fc/bias", 5),
	}
	for i := range ts[4].Data { // variances are positive
		ts[4].Data[i] = float32(math.Abs(float64(ts[4].Data[i]))) + 0.1
	}
	s := Spec{Inputs: []string{"input"}, Outputs: []string{"probs"}, Nodes: []Node{
		NewNode("pad", "stem_pad", []string{"input"}, []string{"p"}, PadAttrs{Before: []int{0, 0, 0, 0}, After: []int{0, 1, 1, 0}}),
		NewNode("conv", "stem", []string{"p", "stem/kernel"}, []string{"c"}, ConvAttrs{Stride: []int{2, 2}}),
		NewNode("batch_norm", "bn", []string{"c", "bn/gamma", "bn/beta", "bn/mean", "bn/var"}, []string{"n"}, Eps(1e-3)),
		NewNode("act", "relu", []string{"n"}, []string{"r"}, Act{Op: "relu6"}),
		NewNode("conv", "dw", []string{"r", "dw/kernel"}, []string{"d"}, ConvAttrs{Pad: "same", Groups: 8, Act: &Act{Op: "relu6"}}),
		NewNode("conv", "pw", []string{"d", "pw/kernel", "pw/bias"}, []string{"q"}, nil),
		NewNode("add", "res", []string{"r", "q"}, []string{"sum"}, nil),
		NewNode("global_avg_pool", "gap", []string{"sum"}, []string{"g"}, nil),
		NewNode("flatten", "flat", []string{"g"}, []string{"f"}, nil),
		NewNode("dense", "fc", []string{"f", "fc/kernel", "fc/bias"}, []string{"logits"}, nil),
		NewNode("softmax", "sm", []string{"logits"}, []string{"probs"}, nil),
	}}
	// As written (Build would fold bn and relu into stem: TestGraphFuse).
	g, err := s.build(b, ts)
	if err != nil {
		t.Fatal(err)
	}
	in := randTensor(rng, "x", 2, 9, 9, 3)
	x := dev(t, b, in)
	got := must(g.Forward(nn.Eval, x))
	if xs, _ := x.Data(); maxDiff(xs, in.Data) != 0 {
		t.Errorf("the graph changed its input")
	}

	// The same computation with core's op functions.
	w := map[string]*core.Tensor{}
	for _, tt := range ts {
		w[tt.Name] = dev(t, b, tt)
	}
	p := must(core.Pad(x, []int{0, 0, 0, 0}, []int{0, 1, 1, 0}, 0))
	c := must(core.Convolve(p, w["stem/kernel"], nil, core.Conv{Stride: []int{2, 2}}))
	n := must(core.BatchNorm(c, w["bn/gamma"], w["bn/beta"], w["bn/mean"], w["bn/var"], 1e-3))
	r := must(core.Apply(n, core.Act(core.ReLU6)))
	dp := core.ConvPadding(core.Conv{Groups: 8, Act: core.Act(core.ReLU6)}, r.Shape(), []int{3, 3}, core.Same)
	d := must(core.Convolve(r, w["dw/kernel"], nil, dp))
	q := must(core.Convolve(d, w["pw/kernel"], w["pw/bias"], core.Conv{}))
	sum := must(core.Elementwise(r, q, core.Add))
	gp := must(core.GlobalAvgPool(sum))
	lg := must(core.Dense(gp, w["fc/kernel"], w["fc/bias"], core.Unary{}))
	want := must(core.Softmax(lg, -1))

	gd, _ := got.Data()
	wd, _ := want.Data()
	if !got.Shape().Equal(core.Shape{2, 5}) || maxDiff(gd, wd) != 0 {
		t.Errorf("graph gives %v %v, core ops %v %v", got.Shape(), gd, want.Shape(), wd)
	}

	// A second run gives the same values: no weight was freed or overwritten.
	again := must(g.Forward(nn.Eval, x))
	if ad, _ := again.Data(); maxDiff(ad, wd) != 0 {
		t.Errorf("second run differs: %v vs %v", ad, wd)
	}

	// Params carry the manifest names; batch norm statistics are buffers.
	ps := nn.Lookup(g)
	if len(ps) != len(ts) || !ps["bn/mean"].Buffer || !ps["bn/var"].Buffer || ps["bn/gamma"].Buffer {
		t.Errorf("params %v", ps)
	}

	// Plan: shapes, and the conv rows' MACs (outputs x kernel x Cin/groups).
	out, rows, err := nn.PlanOf(g, core.Shape{2, 9, 9, 3})
	if err != nil || !out.Equal(core.Shape{2, 5}) {
		t.Fatalf("plan: %v %v", out, err)
	}
	macs := map[string]int64{}
	for _, r := range rows {
		macs[r.Name] = r.MACs
	}
	// 9x9 padded to 10x10, 3x3 stride 2: 4x4 outputs. stem: 2*4*4*8 outputs
	// x 3*3*3; dw: 2*4*4*16 x 9; pw: 2*4*4*8 x 16; fc: 2 x 8*5.
	wantMACs := map[string]int64{"stem": 256 * 27, "dw": 512 * 9, "pw": 256 * 16, "fc": 80}
	for k, v := range wantMACs {
		if macs[k] != v {
			t.Errorf("plan row %s: %d MACs, want %d (rows %v)", k, macs[k], v, rows)
		}
	}
	if got, want := nn.Count(g), int64(3*3*3*8+2*8+3*3*16+16*8+8+8*5+5); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
}

// TestGraphFuse folds a batch norm and an activation into the conv before
// them. By hand: a 1x1 conv from one channel to two, W = [2, -1], no bias;
// batch norm gamma [1, 3], beta [0.5, 0], mean [1, 2], var [3, 8], eps 1,
// so s = gamma / sqrt(var + eps) = [1/2, 1]: W' = [1, -1] and
// b' = (0 - mean) * s + beta = [0, -2]; then ReLU. For x = 3: the conv
// gives [6, -3], the batch norm [(6-1)/2 + 0.5, (-3-2)*1] = [3, -5], the
// ReLU [3, 0]; fused, [3*1 + 0, 3*(-1) - 2] = [3, -5], ReLU [3, 0].
func TestGraphFuse(t *testing.T) {
	b := cpu.New()
	must := checker(t)
	kernel := []float32{2, -1}
	ts := []weights.Tensor{
		{Name: "k", Shape: []int{1, 1, 1, 2}, Data: kernel},
		{Name: "g", Shape: []int{2}, Data: []float32{1, 3}},
		{Name: "be", Shape: []int{2}, Data: []float32{0.5, 0}},
		{Name: "m", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "v", Shape: []int{2}, Data: []float32{3, 8}},
	}
	s := Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: []Node{
		NewNode("conv", "c", []string{"x", "k"}, []string{"c"}, nil),
		NewNode("batch_norm", "bn", []string{"c", "g", "be", "m", "v"}, []string{"n"}, Eps(1)),
		NewNode("act", "r", []string{"n"}, []string{"y"}, Act{Op: "relu"}),
	}}
	fs, ft, n := s.Fuse(ts)
	if n != 2 || len(fs.Nodes) != 1 || len(ft) != 2 {
		t.Fatalf("fused %d nodes: %d nodes and %d tensors left, want 2, 1 and 2", n, len(fs.Nodes), len(ft))
	}
	var a ConvAttrs
	if err := json.Unmarshal(fs.Nodes[0].Attrs, &a); err != nil || a.Act == nil || a.Act.Op != "relu" {
		t.Errorf("fused conv attrs %s, want act relu", fs.Nodes[0].Attrs)
	}
	if got := fmt.Sprintln(fs.Nodes[0].Inputs, ft[0].Data, ft[1].Name, ft[1].Data); got != "[x k be] [1 -1] be [0 -2]\n" {
		t.Errorf("fused conv: %s, want [x k be] [1 -1] be [0 -2]", got)
	}
	if fmt.Sprint(kernel, ts[1].Data) != "[2 -1] [1 3]" {
		t.Errorf("Fuse changed its input tensors: %v %v", kernel, ts[1].Data)
	}
	for _, build := range []func() (*Graph, error){
		func() (*Graph, error) { return s.build(b, ts) },
		func() (*Graph, error) { return s.Build(b, ts) },
	} {
		g, err := build()
		if err != nil {
			t.Fatal(err)
		}
		x := dev(t, b, weights.Tensor{Shape: []int{1, 1, 1, 1}, Data: []float32{3}})
		y, _ := must(g.Forward(nn.Eval, x)).Data()
		if fmt.Sprint(y) != "[3 0]" {
			t.Errorf("%d nodes: %v, want [3 0]", len(g.nodes), y)
		}
	}

	// A conv output read twice, or a graph output, is not fused.
	shared := Spec{Inputs: []string{"x"}, Outputs: []string{"y", "c"}, Nodes: s.Nodes}
	if _, _, n := shared.Fuse(ts); n != 0 {
		t.Errorf("conv output that is also a graph output: %d nodes fused, want 0", n)
	}
}

// TestGraphFuseMobileBlock compares the mobile block of TestGraphMobileBlock
// fused (batch norm and ReLU6 into the stem) and as written.
func TestGraphFuseMobileBlock(t *testing.T) {
	b := cpu.New()
	must := checker(t)
	rng := core.NewRNG(21)
	ts := []weights.Tensor{
		randTensor(rng, "stem/kernel", 3, 3, 3, 8),
		randTensor(rng, "bn/gamma", 8), randTensor(rng, "bn/beta", 8),
		randTensor(rng, "bn/mean", 8), randTensor(rng, "bn/var", 8),
		randTensor(rng, "dw/kernel", 3, 3, 1, 8),
		randTensor(rng, "fc/kernel", 8, 5), randTensor(rng, "fc/bias", 5),
	}
	for i := range ts[4].Data {
		ts[4].Data[i] = float32(math.Abs(float64(ts[4].Data[i]))) + 0.1
	}
	s := Spec{Inputs: []string{"input"}, Outputs: []string{"logits"}, Nodes: []Node{
		NewNode("conv", "stem", []string{"input", "stem/kernel"}, []string{"c"}, ConvAttrs{Stride: []int{2, 2}, Pad: "same"}),
		NewNode("batch_norm", "bn", []string{"c", "bn/gamma", "bn/beta", "bn/mean", "bn/var"}, []string{"n"}, Eps(1e-3)),
		NewNode("act", "relu", []string{"n"}, []string{"r"}, Act{Op: "relu6"}),
		NewNode("conv", "dw", []string{"r", "dw/kernel"}, []string{"d"}, ConvAttrs{Pad: "same", Groups: 8}),
		NewNode("act", "relu2", []string{"d"}, []string{"d2"}, Act{Op: "relu6"}),
		NewNode("add", "res", []string{"r", "d2"}, []string{"sum"}, nil),
		NewNode("global_avg_pool", "gap", []string{"sum"}, []string{"g"}, nil),
		NewNode("flatten", "flat", []string{"g"}, []string{"f"}, nil),
		NewNode("dense", "fc", []string{"f", "fc/kernel", "fc/bias"}, []string{"logits"}, nil),
	}}
	raw, err := s.build(b, ts)
	if err != nil {
		t.Fatal(err)
	}
	fused, err := s.Build(b, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.nodes)-len(fused.nodes) != 3 {
		t.Errorf("%d nodes as written, %d fused: want 3 fewer (bn, relu, relu2)", len(raw.nodes), len(fused.nodes))
	}
	x := dev(t, b, randTensor(rng, "x", 2, 9, 9, 3))
	want, _ := must(raw.Forward(nn.Eval, x)).Data()
	got, _ := must(fused.Forward(nn.Eval, x)).Data()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if d := maxDiff(got, want); !(d <= 1e-5*scale) {
		t.Errorf("fused logits differ by %.3g (scale %.3g): %v vs %v", d, scale, got, want)
	}
}

// TestGraphOps checks each remaining op against its core function.
func TestGraphOps(t *testing.T) {
	b := cpu.New()
	rng := core.NewRNG(3)
	x4 := randTensor(rng, "x", 1, 4, 6, 3)
	scale := randTensor(rng, "scale", 3)
	lnG, lnB := randTensor(rng, "ln/g", 3), randTensor(rng, "ln/b", 3)
	w3 := randTensor(rng, "w", 3, 2)
	keepFalse := false
	cases := []struct {
		name  string
		nodes []Node
		ts    []weights.Tensor
		want  func(x *core.Tensor, w map[string]*core.Tensor) (*core.Tensor, error)
	}{
		{"max pool same", []Node{NewNode("pool", "n", []string{"x"}, []string{"y"}, PoolAttrs{Op: "max", Kernel: []int{3, 3}, Stride: []int{2, 2}, Pad: "same"})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				// TF "same" on 4x6, 3x3/2: outputs 2x3, one row and one column of padding after.
				return core.PoolND(x, core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{0, 0}, PadAfter: []int{1, 1}})
			}},
		{"avg pool ceil", []Node{NewNode("pool", "n", []string{"x"}, []string{"y"}, PoolAttrs{Op: "avg", Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, Ceil: true, CountIncludePad: true})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				return core.PoolND(x, core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true, CountIncludePad: true})
			}},
		{"global max pool", []Node{NewNode("global_max_pool", "n", []string{"x"}, []string{"y"}, nil)}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) { return core.GlobalMaxPool(x) }},
		{"leaky relu", []Node{NewNode("act", "n", []string{"x"}, []string{"y"}, Act{Op: "leaky_relu", Alpha: 0.2})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				return core.Apply(x, core.Unary{Op: core.LeakyReLU, Alpha: 0.2})
			}},
		{"mul by a weight", []Node{NewNode("mul", "n", []string{"x", "scale"}, []string{"y"}, nil)}, []weights.Tensor{scale},
			func(x *core.Tensor, w map[string]*core.Tensor) (*core.Tensor, error) {
				return core.Elementwise(x, w["scale"], core.Mul)
			}},
		{"weight minus x", []Node{NewNode("sub", "n", []string{"scale", "x"}, []string{"y"}, nil)}, []weights.Tensor{scale},
			func(x *core.Tensor, w map[string]*core.Tensor) (*core.Tensor, error) {
				return core.Elementwise(w["scale"], x, core.Sub)
			}},
		{"concat with itself", []Node{NewNode("concat", "n", []string{"x", "x"}, []string{"y"}, Axis(2))}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) { return core.Concat(2, x, x) }},
		{"log softmax axis 1", []Node{NewNode("log_softmax", "n", []string{"x"}, []string{"y"}, Axis(1))}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) { return core.LogSoftmax(x, 1) }},
		{"layer norm", []Node{NewNode("layer_norm", "n", []string{"x", "ln/g", "ln/b"}, []string{"y"}, Eps(1e-6))}, []weights.Tensor{lnG, lnB},
			func(x *core.Tensor, w map[string]*core.Tensor) (*core.Tensor, error) {
				return core.LayerNorm(x, w["ln/g"], w["ln/b"], 1e-6)
			}},
		{"transpose to NCHW and reshape", []Node{
			NewNode("transpose", "t", []string{"x"}, []string{"t"}, TransposeAttrs{Perm: []int{0, 3, 1, 2}}),
			NewNode("reshape", "r", []string{"t"}, []string{"y"}, ReshapeAttrs{Shape: []int{0, -1}})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				y, err := core.Transpose(x, 0, 3, 1, 2)
				if err != nil {
					return nil, err
				}
				return y.Reshape(1, 72)
			}},
		{"mean without keep", []Node{NewNode("mean", "n", []string{"x"}, []string{"y"}, ReduceAttrs{Axes: []int{1, 2}, Keep: &keepFalse})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				y, err := core.Reduce(x, core.Mean, 1, 2)
				if err != nil {
					return nil, err
				}
				return y.Reshape(1, 3)
			}},
		{"slice", []Node{NewNode("slice", "n", []string{"x"}, []string{"y"}, SliceAttrs{Axes: []int{1, -1}, Starts: []int{1, 0}, Ends: []int{-1, 2}})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				y, err := core.Slice(x, 1, 1, 2)
				if err != nil {
					return nil, err
				}
				return core.Slice(y, 3, 0, 2)
			}},
		{"split and add the parts", []Node{
			NewNode("split", "s", []string{"x"}, []string{"a", "b"}, SplitAttrs{Axis: 2, Sizes: []int{3, 3}}),
			NewNode("add", "n", []string{"a", "b"}, []string{"y"}, nil)}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				p, err := core.Split(x, 2, 3, 3)
				if err != nil {
					return nil, err
				}
				return core.Elementwise(p[0], p[1], core.Add)
			}},
		{"dense on the last axis", []Node{NewNode("dense", "n", []string{"x", "w"}, []string{"y"}, DenseAttrs{Act: &Act{Op: "tanh"}})}, []weights.Tensor{w3},
			func(x *core.Tensor, w map[string]*core.Tensor) (*core.Tensor, error) {
				m, err := x.Reshape(24, 3)
				if err != nil {
					return nil, err
				}
				y, err := core.MatMulT(m, w["w"], nil, core.MatMul{Act: core.Act(core.Tanh)})
				if err != nil {
					return nil, err
				}
				return y.Reshape(1, 4, 6, 2)
			}},
		{"identity and pad with a value", []Node{
			NewNode("identity", "i", []string{"x"}, []string{"i"}, nil),
			NewNode("pad", "n", []string{"i"}, []string{"y"}, PadAttrs{Before: []int{0, 1, 0, 0}, After: []int{0, 0, 2, 1}, Value: -1})}, nil,
			func(x *core.Tensor, _ map[string]*core.Tensor) (*core.Tensor, error) {
				return core.Pad(x, []int{0, 1, 0, 0}, []int{0, 0, 2, 1}, -1)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must := checker(t)
			s := Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: c.nodes}
			g, err := New(b, specJSON(t, s), c.ts)
			if err != nil {
				t.Fatal(err)
			}
			x := dev(t, b, x4)
			w := map[string]*core.Tensor{}
			for _, tt := range c.ts {
				w[tt.Name] = dev(t, b, tt)
			}
			got := must(g.Forward(nn.Eval, x))
			want := must(c.want(x, w))
			gd, _ := got.Data()
			wd, _ := want.Data()
			if !got.Shape().Equal(want.Shape()) || maxDiff(gd, wd) != 0 {
				t.Errorf("graph gives %v %v\ncore gives %v %v", got.Shape(), gd, want.Shape(), wd)
			}
			planned, err := g.OutputShapes(core.Shape(x4.Shape))
			if err != nil || !planned[0].Equal(want.Shape()) {
				t.Errorf("plan gives %v (%v), run %v", planned, err, want.Shape())
			}
			if xs, _ := x.Data(); maxDiff(xs, x4.Data) != 0 {
				t.Errorf("the graph changed its input")
			}
		})
	}
}

// TestGraphInPlace checks that an activation after a fresh value reuses
// its memory and that a value read twice is not overwritten.
func TestGraphInPlace(t *testing.T) {
	must := checker(t)
	b := cpu.New()
	s := Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: []Node{
		NewNode("act", "neg", []string{"x"}, []string{"n"}, Act{Op: "neg"}),
		NewNode("act", "relu", []string{"n"}, []string{"r"}, Act{Op: "relu"}), // n is read again below
		NewNode("add", "sum", []string{"r", "n"}, []string{"s"}, nil),
		NewNode("act", "abs", []string{"s"}, []string{"y"}, Act{Op: "abs"}), // last read of s: in place
	}}
	g, err := New(b, specJSON(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := must(core.FromData(b, core.Shape{1, 4}, []float32{-2, -1, 1, 2}))
	y := must(g.Forward(nn.Eval, x))
	// n = 2 1 -1 -2; r = 2 1 0 0; s = 4 2 -1 -2; |s| = 4 2 1 2.
	got, _ := y.Data()
	if want := []float32{4, 2, 1, 2}; maxDiff(got, want) != 0 {
		t.Errorf("got %v, want %v", got, want)
	}
	if xs, _ := x.Data(); maxDiff(xs, []float32{-2, -1, 1, 2}) != 0 {
		t.Errorf("input changed: %v", xs)
	}
}

// TestGraphErrors checks that invalid graphs are refused with errors that
// name the node and the problem.
func TestGraphErrors(t *testing.T) {
	k := weights.Tensor{Name: "k", Shape: []int{3, 3, 3, 4}, Data: make([]float32, 108)}
	bias := weights.Tensor{Name: "b", Shape: []int{5}, Data: make([]float32, 5)}
	conv := func(in ...string) Node { return NewNode("conv", "c1", in, []string{"y"}, nil) }
	cases := []struct {
		name string
		json string
		ts   []weights.Tensor
		want string
	}{
		{"bad json", `{"inputs": [`, nil, "unexpected EOF"},
		{"unknown field", `{"inputs":["x"],"outputs":["x"],"nodes":[],"extra":1}`, nil, `unknown field "extra"`},
		{"no outputs", `{"inputs":["x"],"outputs":[],"nodes":[]}`, nil, "0 outputs"},
		{"unknown op", mk(NewNode("gelu_conv", "c1", []string{"x"}, []string{"y"}, nil)), nil, `node "c1": unknown op "gelu_conv"`},
		{"unknown attr", `{"inputs":["x"],"outputs":["y"],"nodes":[{"op":"act","name":"a","inputs":["x"],"outputs":["y"],"attrs":{"op":"relu","slope":1}}]}`, nil, `node "a" (act): attrs: activation: json: unknown field "slope"`},
		{"unknown activation", mk(NewNode("act", "a", []string{"x"}, []string{"y"}, Act{Op: "mish"})), nil, `unknown activation "mish"`},
		{"missing tensor", mk(conv("x", "k")), nil, `node "c1" (conv): input 1 "k" is neither a tensor`},
		{"too few inputs", mk(conv("x")), nil, `node "c1" (conv): 1 inputs, want 2 to 3`},
		{"too many outputs", mk(NewNode("act", "a", []string{"x"}, []string{"y", "z"}, Act{Op: "relu"})), nil, `node "a" (act): 2 outputs, want 1`},
		{"weight first", mk(conv("k", "x")), []weights.Tensor{k}, `input 0 "k" is a tensor`},
		{"bias size", mk(conv("x", "k", "b")), []weights.Tensor{k, bias}, `node "c1" (conv): bias [5] for weights [3 3 3 4]`},
		{"unused tensor", mk(NewNode("act", "a", []string{"x"}, []string{"y"}, Act{Op: "relu"})), []weights.Tensor{k}, `tensor "k" [3 3 3 4] is not used`},
		{"wrong tensor length", mk(conv("x", "k")), []weights.Tensor{{Name: "k", Shape: []int{3, 3, 3, 4}, Data: make([]float32, 5)}}, `tensor "k" [3 3 3 4] has 5 values, want 108`},
		{"redefined value", mk(NewNode("act", "a", []string{"x"}, []string{"x"}, Act{Op: "relu"})), nil, `node "a" redefines value "x"`},
		{"duplicate node name", mk(NewNode("act", "a", []string{"x"}, []string{"z"}, Act{Op: "relu"}), NewNode("act", "a", []string{"z"}, []string{"y"}, Act{Op: "relu"})), nil, "node names must be unique"},
		{"use before definition", mk(NewNode("add", "a", []string{"x", "z"}, []string{"y"}, nil), NewNode("act", "b", []string{"x"}, []string{"z"}, Act{Op: "relu"})), nil, `input 1 "z" is neither`},
		{"output not produced", `{"inputs":["x"],"outputs":["nope"],"nodes":[]}`, nil, `graph output "nope" is not produced`},
		{"pad mode and pads", mk(NewNode("conv", "c1", []string{"x", "k"}, []string{"y"}, ConvAttrs{Pad: "same", PadBefore: []int{1, 1}})), []weights.Tensor{k}, "excludes pad_before"},
		{"bad pool op", mk(NewNode("pool", "p", []string{"x"}, []string{"y"}, PoolAttrs{Op: "min", Kernel: []int{2, 2}})), nil, `pool op "min"`},
		{"not a permutation", mk(NewNode("transpose", "t", []string{"x"}, []string{"y"}, TransposeAttrs{Perm: []int{0, 0}})), nil, "not a permutation"},
		{"two -1", mk(NewNode("reshape", "r", []string{"x"}, []string{"y"}, ReshapeAttrs{Shape: []int{-1, -1}})), nil, "at most one -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(cpu.New(), json.RawMessage(c.json), c.ts)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an ErrInvalid containing %q", err, c.want)
			}
		})
	}
}

// mk writes a one-input one-output graph from x to y of the given nodes.
func mk(nodes ...Node) string {
	b, _ := json.Marshal(Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: nodes})
	return string(b)
}

// TestGraphShapeErrors checks that shape mismatches found when planning or
// running name the node.
func TestGraphShapeErrors(t *testing.T) {
	must := checker(t)
	b := cpu.New()
	k := weights.Tensor{Name: "k", Shape: []int{3, 3, 4, 2}, Data: make([]float32, 72)}
	g, err := New(b, json.RawMessage(mk(NewNode("conv", "c1", []string{"x", "k"}, []string{"y"}, nil))), []weights.Tensor{k})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.Plan(nil, core.Shape{1, 8, 8, 3}, nn.Field{Size: 1, Jump: 1})
	if err == nil || !strings.Contains(err.Error(), `node "c1" (conv)`) {
		t.Errorf("plan: %v", err)
	}
	x := must(core.New(b, core.Shape{1, 8, 8, 3}))
	if _, err := g.Forward(nn.Eval, x); err == nil || !strings.Contains(err.Error(), `node "c1" (conv)`) {
		t.Errorf("forward: %v", err)
	}
	g.Free()
	if _, err := g.Forward(nn.Eval, x); err == nil {
		t.Errorf("forward after Free: no error")
	}
}

// TestActJSON checks both spellings of an activation.
func TestActJSON(t *testing.T) {
	for _, c := range []struct {
		a    Act
		json string
	}{{Act{Op: "relu"}, `{"op":"relu"}`}, {Act{Op: "leaky_relu", Alpha: 0.5}, `{"op":"leaky_relu","alpha":0.5}`}} {
		b, err := json.Marshal(c.a)
		if err != nil || string(b) != c.json {
			t.Errorf("marshal %v: %s %v, want %s", c.a, b, err, c.json)
		}
		var back Act
		if err := json.Unmarshal(b, &back); err != nil || back != c.a {
			t.Errorf("unmarshal %s: %v %v", b, back, err)
		}
	}
	var short Act
	if err := json.Unmarshal([]byte(`"relu6"`), &short); err != nil || short != (Act{Op: "relu6"}) {
		t.Errorf("unmarshal \"relu6\": %v %v", short, err)
	}
}

// FuzzGraphJSON feeds arbitrary graph JSON to the decoder, the validator,
// the planner and (for small graphs) the executor: none may panic.
func FuzzGraphJSON(f *testing.F) {
	f.Add(mk(NewNode("conv", "c", []string{"x", "k"}, []string{"y"}, ConvAttrs{Pad: "same", Stride: []int{2, 2}, Act: &Act{Op: "relu6"}})))
	f.Add(mk(NewNode("pool", "p", []string{"x"}, []string{"y"}, PoolAttrs{Op: "avg", Kernel: []int{2, 2}, Pad: "same"})))
	f.Add(mk(NewNode("split", "s", []string{"x"}, []string{"a", "y"}, SplitAttrs{Axis: -1, Sizes: []int{1, 2}})))
	f.Add(mk(NewNode("reshape", "r", []string{"x"}, []string{"y"}, ReshapeAttrs{Shape: []int{0, -1, 3}})))
	f.Add(mk(NewNode("dense", "d", []string{"x", "w"}, []string{"y"}, nil)))
	f.Add(mk(NewNode("mul", "m", []string{"k", "x"}, []string{"y"}, nil)))
	f.Add(mk(NewNode("slice", "s", []string{"x"}, []string{"y"}, SliceAttrs{Axes: []int{1}, Starts: []int{-2}, Ends: []int{9}})))
	f.Add(mk(NewNode("resize", "r", []string{"x"}, []string{"y"}, ResizeAttrs{Mode: "cubic", Coord: "tf_crop_and_resize", Scales: []float32{1, 1.5, 0.5, 1}, Roi: []float32{0, 0.1, 0, 0, 1, 0.9, 1, 1}, Extrapolation: 2})))
	f.Add(mk(NewNode("resize", "r", []string{"x"}, []string{"y"}, ResizeAttrs{Mode: "nearest", Sizes: []int{0, 8, 12, 0}})))
	f.Add(mk(NewNode("conv_transpose", "c", []string{"x", "k"}, []string{"y"}, ConvTransposeAttrs{Stride: []int{2, 3}, OutputPadding: []int{1, 0}, Pad: "same_upper"})))
	f.Add(mk(NewNode("matmul", "m", []string{"x", "x"}, []string{"y"}, nil)))
	f.Add(`{"inputs":["x"],"outputs":["y"],"nodes":[{"op":"batch_norm","name":"b","inputs":["x","g","g","g","g"],"outputs":["y"]}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		ts := []weights.Tensor{
			{Name: "k", Shape: []int{1, 1, 3, 3}, Data: make([]float32, 9)},
			{Name: "w", Shape: []int{3, 2}, Data: make([]float32, 6)},
			{Name: "g", Shape: []int{3}, Data: []float32{1, 1, 1}},
		}
		// Drop the tensors the graph does not name, so that it may build.
		var used []weights.Tensor
		for _, tt := range ts {
			if strings.Contains(raw, `"`+tt.Name+`"`) {
				used = append(used, tt)
			}
		}
		b := cpu.New()
		g, err := New(b, json.RawMessage(raw), used)
		if err != nil {
			return
		}
		in := make([]core.Shape, len(g.Inputs()))
		xs := make([]*core.Tensor, len(in))
		for i := range in {
			in[i] = core.Shape{1, 4, 4, 3}
			xs[i], _ = core.New(b, in[i])
		}
		shapes, _, err := g.planAll(nil, in, nn.Field{Size: 1, Jump: 1})
		if err != nil {
			return
		}
		total := 0
		for _, s := range shapes {
			total += s.Size()
		}
		if total > 1<<16 {
			return
		}
		outs, err := g.Run(nn.Eval, xs...)
		if err != nil {
			return
		}
		for i, o := range outs {
			if o == nil || !o.Shape().Equal(shapes[g.outputs[i]]) {
				t.Fatalf("output %d: %v, planned %v", i, o, shapes[g.outputs[i]])
			}
			if _, err := o.Data(); err != nil {
				t.Fatalf("output %d: %v", i, err)
			}
		}
	})
}

// countingBackend is the CPU backend that tracks live buffers and
// reports double frees.
type countingBackend struct {
	*cpu.Backend
	live   map[core.Buffer]bool
	double int
}

func (c *countingBackend) Alloc(n int) (core.Buffer, error) {
	b, err := c.Backend.Alloc(n)
	if err == nil {
		c.live[b] = true
	}
	return b, err
}

func (c *countingBackend) Free(b core.Buffer) {
	if !c.live[b] {
		c.double++
	}
	delete(c.live, b)
	c.Backend.Free(b)
}

// TestGraphMemory checks that a run frees every intermediate exactly once,
// keeps outputs and views of them alive, and frees everything on failure.
func TestGraphMemory(t *testing.T) {
	must := checker(t)
	b := &countingBackend{Backend: cpu.New(), live: map[core.Buffer]bool{}}
	s := Spec{Inputs: []string{"x"}, Outputs: []string{"y", "f"}, Nodes: []Node{
		NewNode("act", "neg", []string{"x"}, []string{"n"}, Act{Op: "neg"}),
		NewNode("flatten", "flat", []string{"n"}, []string{"f"}, nil),
		NewNode("reshape", "back", []string{"f"}, []string{"r"}, ReshapeAttrs{Shape: []int{1, 2, 2, 2}}),
		NewNode("add", "sum", []string{"r", "n"}, []string{"s"}, nil),
		NewNode("split", "halves", []string{"s"}, []string{"a", "b"}, SplitAttrs{Axis: -1, Sizes: []int{1, 1}}),
		NewNode("concat", "swap", []string{"b", "a"}, []string{"c"}, nil),
		NewNode("act", "relu", []string{"c"}, []string{"c2"}, Act{Op: "relu"}),
		NewNode("identity", "out", []string{"c2"}, []string{"y"}, nil),
	}}
	g, err := New(b, specJSON(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{1, -2, 3, -4, 5, -6, 7, -8}
	x := must(core.FromData(b, core.Shape{1, 2, 2, 2}, in))
	outs, err := g.Run(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	// s = -2x; swapped channels; relu.
	y, _ := outs[0].Data()
	if want := []float32{4, 0, 8, 0, 12, 0, 16, 0}; maxDiff(y, want) != 0 {
		t.Errorf("y = %v, want %v", y, want)
	}
	f, _ := outs[1].Data()
	if want := []float32{-1, 2, -3, 4, -5, 6, -7, 8}; !outs[1].Shape().Equal(core.Shape{1, 8}) || maxDiff(f, want) != 0 {
		t.Errorf("f = %v %v, want %v", outs[1].Shape(), f, want)
	}
	// Live: the input, y's memory and n's (kept by its view f).
	if len(b.live) != 3 || b.double != 0 {
		t.Errorf("%d live buffers after the run (want 3), %d double frees", len(b.live), b.double)
	}
	for _, o := range outs {
		o.Free()
	}

	// A failing last node: everything the run allocated is released.
	s.Nodes = append(s.Nodes[:len(s.Nodes)-1], NewNode("add", "bad", []string{"c2", "f"}, []string{"y"}, nil))
	g, err = New(b, specJSON(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Run(nn.Eval, x); err == nil || !strings.Contains(err.Error(), `node "bad" (add)`) {
		t.Fatalf("run: %v", err)
	}
	if len(b.live) != 1 || b.double != 0 {
		t.Errorf("%d live buffers after a failed run (want 1: the input), %d double frees", len(b.live), b.double)
	}
}
