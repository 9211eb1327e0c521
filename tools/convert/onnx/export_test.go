package onnx_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnx/ort"
)

// runtime returns onnxruntime-node, skipping the test when it is not
// installed unless CNN_REQUIRE_ORT=1 (make test) makes that a failure.
func runtime(t *testing.T) *ort.Runtime {
	t.Helper()
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatalf("CNN_REQUIRE_ORT=1: %v", err)
		}
		t.Skipf("skipping the onnxruntime cross-check: %v", err)
	}
	return rt
}

// randomize fills every tensor of l: weights N(0, 0.5), and batch norm
// statistics away from their identity defaults.
func randomize(t *testing.T, l nn.Layer, rng *core.RNG) {
	t.Helper()
	for _, p := range l.Params() {
		v := make([]float32, p.T.Size())
		for i := range v {
			switch {
			case strings.HasSuffix(p.Name, "running_var"):
				v[i] = 0.5 + rng.Float32()
			default:
				v[i] = 0.5 * rng.NormFloat32()
			}
		}
		if err := p.T.Backend().Write(p.T.Buffer(), 0, v); err != nil {
			t.Fatal(err)
		}
	}
}

func randn(rng *core.RNG, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.NormFloat32()
	}
	return v
}

// crossCheck runs l on x natively and in onnxruntime and returns the
// largest difference relative to the largest |output|.
func crossCheck(t *testing.T, rt *ort.Runtime, l nn.Layer, x *core.Tensor) float64 {
	t.Helper()
	y, err := l.Forward(nn.Eval, x)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	want, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Export(l, x.Shape())
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := x.Data()
	if err != nil {
		t.Fatal(err)
	}
	got, dims, err := rt.Run(path, in, x.Shape())
	if err != nil {
		t.Fatal(err)
	}
	if !core.Shape(dims).Equal(y.Shape()) {
		t.Fatalf("onnxruntime output %v, ours %v", dims, y.Shape())
	}
	var maxAbs, maxDiff float64
	for i := range want {
		maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		maxDiff = math.Max(maxDiff, d)
	}
	return maxDiff / math.Max(maxAbs, 1e-30)
}

// TestExportMatchesORT runs small networks around every layer type and
// op parameter Export handles, natively and in onnxruntime-node. The
// tolerance is 1e-5 of the largest |output| (float32 sums in another order).
func TestExportMatchesORT(t *testing.T) {
	rt := runtime(t)
	act := func(f core.Unary) nn.Layer { return &nn.Activation{F: f} }
	pool := func(p core.Pool) nn.Layer { return &nn.Pool{P: p} }
	// positive maps x to 0.5 + |x| for functions defined on positives.
	positive := nn.Sequential{nn.N("", nn.Act(core.Abs)), nn.N("", act(core.Unary{Op: core.Affine, Alpha: 1, Beta: 0.5}))}
	for _, tc := range []struct {
		name  string
		in    core.Shape
		build func(bd *nn.Builder) nn.Layer
	}{
		{"conv 3x3 pad 1 bias relu", core.Shape{2, 7, 6, 3}, func(bd *nn.Builder) nn.Layer {
			return bd.Conv2D(3, 5, 3, nn.ConvOpt{Pad: 1, Bias: true, Act: core.ReLU})
		}},
		{"conv 3x3/2 same (pads 0/1)", core.Shape{1, 8, 8, 4}, func(bd *nn.Builder) nn.Layer {
			return bd.Conv2D(4, 6, 3, nn.ConvOpt{Stride: 2, Same: true})
		}},
		{"conv 1x7 and 7x1", core.Shape{1, 9, 9, 2}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.ConvKxK(2, 3, 1, 7, nn.ConvOpt{Pad: -1}), bd.ConvKxK(3, 4, 7, 1, nn.ConvOpt{Pad: -1}))
		}},
		{"conv dilation 2 groups 2", core.Shape{1, 10, 10, 4}, func(bd *nn.Builder) nn.Layer {
			return bd.Conv2D(4, 6, 3, nn.ConvOpt{Dilation: 2, Pad: 2, Groups: 2, Bias: true})
		}},
		{"depthwise 5x5/2 asymmetric pads", core.Shape{1, 11, 9, 6}, func(bd *nn.Builder) nn.Layer {
			c := bd.Conv2D(6, 6, 5, nn.ConvOpt{Stride: 2, Groups: 6})
			c.P.PadBefore, c.P.PadAfter = []int{1, 2}, []int{2, 0}
			return c
		}},
		{"batch norm eps 1e-3", core.Shape{2, 4, 4, 5}, func(bd *nn.Builder) nn.Layer {
			n := bd.BatchNorm(5)
			n.Eps = 1e-3
			return nn.Sequential{nn.N("bn", n)}
		}},
		{"conv then linear on a map (HWC order)", core.Shape{2, 3, 4, 5}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(5, 5, 1, nn.ConvOpt{}), bd.Linear(60, 7, core.Tanh), bd.LinearNoBias(7, 3))
		}},
		{"conv, flatten, linear", core.Shape{1, 2, 3, 4}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 4, 1, nn.ConvOpt{}), nn.Flatten{}, bd.Linear(24, 4, core.Identity), &nn.Dropout{P: 0.5}, nn.Identity{})
		}},
		{"batch norm on features", core.Shape{3, 6}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.BatchNorm(6), bd.Linear(6, 2, core.Identity))
		}},
		{"max 3x3/2 pad 1", core.Shape{1, 9, 8, 3}, func(*nn.Builder) nn.Layer { return nn.MaxPool2D(3, 2, 1, false) }},
		{"max 3x3/2 ceil", core.Shape{1, 8, 10, 3}, func(*nn.Builder) nn.Layer { return nn.MaxPool2D(3, 2, 0, true) }},
		{"max 2x2/2 ceil odd", core.Shape{1, 7, 7, 2}, func(*nn.Builder) nn.Layer { return nn.MaxPool2D(2, 2, 0, true) }},
		{"max 3x3/2 pad 1 ceil (last window dropped)", core.Shape{1, 6, 7, 2}, func(*nn.Builder) nn.Layer {
			return nn.MaxPool2D(3, 2, 1, true)
		}},
		{"avg 3x3/1 pad 1 count pad", core.Shape{1, 5, 6, 3}, func(*nn.Builder) nn.Layer { return nn.AvgPool2D(3, 1, 1) }},
		{"avg 3x3/1 pad 1 exclude pad", core.Shape{1, 5, 6, 3}, func(*nn.Builder) nn.Layer {
			return pool(core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}})
		}},
		{"avg 2x3 asymmetric pads", core.Shape{1, 7, 8, 2}, func(*nn.Builder) nn.Layer {
			return pool(core.Pool{Op: core.AvgPool, Kernel: []int{2, 3}, Stride: []int{2, 1}, PadBefore: []int{0, 2}, PadAfter: []int{1, 0}, CountIncludePad: true})
		}},
		{"avg 3x3/2 ceil exclude pad", core.Shape{1, 8, 8, 2}, func(*nn.Builder) nn.Layer {
			return pool(core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true})
		}},
		{"avg 3x3/2 pad 1 ceil count pad", core.Shape{1, 8, 8, 2}, func(*nn.Builder) nn.Layer {
			return pool(core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CountIncludePad: true, CeilMode: true})
		}},
		{"global avg pool", core.Shape{2, 5, 3, 4}, func(*nn.Builder) nn.Layer { return nn.GlobalAvgPool{} }},
		{"lrn 5", core.Shape{1, 3, 3, 8}, func(*nn.Builder) nn.Layer {
			return &nn.LRN{Size: 5, Alpha: 1e-2, Beta: 0.75, Bias: 2}
		}},
		{"layer norm channels-last", core.Shape{2, 3, 4, 6}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(6, 6, 3, nn.ConvOpt{Pad: 1, Groups: 6}), bd.LayerNorm(6), bd.Scale(6, 0.5))
		}},
		{"layer norm over HWC", core.Shape{2, 3, 4, 5}, func(bd *nn.Builder) nn.Layer {
			return &nn.LayerNorm{Gamma: tensor(bd, core.Shape{3, 4, 5}), Beta: tensor(bd, core.Shape{3, 4, 5}), Eps: 1e-5}
		}},
		{"scale on input (NHWC)", core.Shape{2, 3, 3, 4}, func(bd *nn.Builder) nn.Layer { return bd.Scale(4, 1.5) }},
		{"scale after conv (NCHW)", core.Shape{2, 3, 3, 4}, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 4, 1, nn.ConvOpt{}), bd.Scale(4, 1.5))
		}},
		{"residual with shortcut and post relu", core.Shape{1, 6, 6, 4}, func(bd *nn.Builder) nn.Layer {
			return &nn.Residual{
				Body:         nn.Sequential{nn.N("conv1", bd.Conv2D(4, 8, 3, nn.ConvOpt{Stride: 2, Pad: 1})), nn.N("bn1", bd.BatchNorm(8))},
				Shortcut:     nn.Sequential{nn.N("0", bd.Conv2D(4, 8, 1, nn.ConvOpt{Stride: 2})), nn.N("1", bd.BatchNorm(8))},
				ShortcutName: "downsample", Post: core.Act(core.ReLU),
			}
		}},
		{"identity residual", core.Shape{1, 4, 4, 3}, func(bd *nn.Builder) nn.Layer {
			return &nn.Residual{Body: bd.Conv2D(3, 3, 3, nn.ConvOpt{Pad: 1}), Post: core.Act(core.ReLU6)}
		}},
		{"concat with identity", core.Shape{1, 5, 5, 3}, func(bd *nn.Builder) nn.Layer {
			return nn.Concat{nn.N("id", nn.Identity{}), nn.N("a", bd.Conv2D(3, 2, 1, nn.ConvOpt{})),
				nn.N("b", nn.Seq(bd.Conv2D(3, 4, 3, nn.ConvOpt{Pad: 1}), nn.MaxPool2D(3, 1, 1, false)))}
		}},
		{"squeeze excite hard sigmoid", core.Shape{2, 4, 4, 8}, func(bd *nn.Builder) nn.Layer {
			return &nn.SqueezeExcite{
				FC1:   bd.Conv2D(8, 4, 1, nn.ConvOpt{Bias: true, Act: core.ReLU}),
				FC2:   bd.Conv2D(4, 8, 1, nn.ConvOpt{Bias: true, Act: core.HardSigmoid}),
				Name1: "fc1", Name2: "fc2",
			}
		}},
		{"sigmoid tanh relu", core.Shape{1, 2, 2, 8}, func(*nn.Builder) nn.Layer {
			return nn.Seq(nn.Act(core.Sigmoid), act(core.Unary{Op: core.Affine, Alpha: 4, Beta: -2}), nn.Act(core.Tanh), nn.Act(core.ReLU))
		}},
		{"leaky relu elu relu6 clip", core.Shape{1, 3, 3, 8}, func(*nn.Builder) nn.Layer {
			return nn.Concat{
				nn.N("a", act(core.Unary{Op: core.LeakyReLU, Alpha: 0.1})), nn.N("b", act(core.Unary{Op: core.ELU, Alpha: 1.5})),
				nn.N("c", nn.Seq(act(core.Unary{Op: core.Affine, Alpha: 5}), nn.Act(core.ReLU6))),
				nn.N("d", act(core.Unary{Op: core.Clip, Alpha: -0.5, Beta: 0.25})),
			}
		}},
		{"gelu gelu-tanh silu hard-sigmoid hard-swish", core.Shape{1, 4, 4, 4}, func(*nn.Builder) nn.Layer {
			wide := act(core.Unary{Op: core.Affine, Alpha: 3})
			return nn.Seq(wide, nn.Concat{nn.N("a", nn.Act(core.GELU)), nn.N("b", nn.Act(core.GELUTanh)),
				nn.N("c", nn.Act(core.SiLU)), nn.N("d", nn.Act(core.HardSigmoid)), nn.N("e", nn.Act(core.HardSwish))})
		}},
		{"neg abs square exp identity", core.Shape{1, 2, 3, 4}, func(*nn.Builder) nn.Layer {
			return nn.Concat{nn.N("a", nn.Act(core.Neg)), nn.N("b", nn.Act(core.Abs)), nn.N("c", nn.Act(core.Square)),
				nn.N("d", nn.Act(core.Exp)), nn.N("e", nn.Act(core.Identity))}
		}},
		{"sqrt rsqrt recip log pow", core.Shape{1, 2, 3, 4}, func(*nn.Builder) nn.Layer {
			return nn.Seq(positive, nn.Concat{nn.N("a", nn.Act(core.Sqrt)), nn.N("b", nn.Act(core.Rsqrt)),
				nn.N("c", nn.Act(core.Recip)), nn.N("d", nn.Act(core.Log)), nn.N("e", act(core.Unary{Op: core.Pow, Alpha: 1.5}))})
		}},
		{"activation on features", core.Shape{2, 5}, func(*nn.Builder) nn.Layer { return nn.Act(core.GELU) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := cpu.New()
			bd := nn.NewBuilder(b, 1)
			l := tc.build(bd)
			if err := bd.Err(); err != nil {
				t.Fatal(err)
			}
			rng := core.NewRNG(7)
			randomize(t, l, rng)
			x, err := core.FromData(b, tc.in, randn(rng, tc.in.Size()))
			if err != nil {
				t.Fatal(err)
			}
			if rel := crossCheck(t, rt, l, x); rel > 1e-5 {
				t.Errorf("max |ours - onnxruntime| / max |ours| = %.3g, want <= 1e-5", rel)
			}
		})
	}
}

func tensor(bd *nn.Builder, s core.Shape) *core.Tensor {
	t, err := core.New(bd.B, s)
	if err != nil {
		panic(err)
	}
	return t
}

type unknownLayer struct{ nn.Identity }

func TestExportErrors(t *testing.T) {
	bd := nn.NewBuilder(cpu.New(), 1)
	for _, tc := range []struct {
		l    nn.Layer
		in   core.Shape
		want string
	}{
		{nn.Sequential{nn.N("features", nn.Sequential{nn.N("3", &unknownLayer{})})}, core.Shape{1, 4, 4, 3},
			"layer features.3: unsupported layer type *onnx_test.unknownLayer"},
		{&nn.LRN{Size: 4, Alpha: 1, Beta: 1, Bias: 1}, core.Shape{1, 2, 2, 4}, "even size 4"},
		{nn.Seq(bd.Linear(5, 2, core.Identity)), core.Shape{1, 2, 2, 1}, "linear 0: input [1 4], weights [5 2]"},
		{bd.Conv2D(3, 2, 5, nn.ConvOpt{}), core.Shape{1, 4, 4, 3}, "does not fit"},
	} {
		_, err := onnx.Export(tc.l, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Export(%T): error %v, want it to contain %q", tc.l, err, tc.want)
		}
	}
}

// TestExportStructure checks the graph Export writes without running it:
// NHWC input, one transpose in, weights in OIHW, the output shape, and a
// byte-exact round trip through the reader.
func TestExportStructure(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 1)
	conv := bd.Conv2D(3, 4, 3, nn.ConvOpt{Pad: 1, Bias: true, Act: core.ReLU})
	w := make([]float32, 3*3*3*4)
	for i := range w {
		w[i] = float32(i)
	}
	if err := b.Write(conv.W.Buffer(), 0, w); err != nil {
		t.Fatal(err)
	}
	net := nn.Sequential{nn.N("conv1", conv), nn.N("pool", nn.GlobalAvgPool{}), nn.N("flatten", nn.Flatten{}), nn.N("fc", bd.Linear(4, 10, core.Identity))}
	m, err := onnx.ExportModel(net, core.Shape{1, 8, 8, 3})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range m.Graph.Node {
		ops = append(ops, n.OpType)
	}
	// After the global pool, [N, C, 1, 1] flattens as [N, 1, 1, C] would:
	// no transpose back.
	want := "Transpose Conv Relu GlobalAveragePool Flatten Gemm Identity"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("ops %q, want %q", got, want)
	}
	if in := m.Graph.Input[0]; in.Name != "input" || dimsOf(in) != "[1 8 8 3]" {
		t.Errorf("input %s %s, want input [1 8 8 3]", in.Name, dimsOf(in))
	}
	if out := m.Graph.Output[0]; out.Name != "output" || dimsOf(out) != "[1 10]" {
		t.Errorf("output %s %s, want output [1 10]", out.Name, dimsOf(out))
	}
	var cw *onnx.Tensor
	for _, it := range m.Graph.Initializer {
		if it.Name == "conv1.weight" {
			cw = it
		}
	}
	if cw == nil {
		t.Fatal("no initializer conv1.weight")
	}
	v, err := cw.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	// OIHW [o=1, i=2, h=0, w=1] is HWIO [0, 1, 2, 1]: ((0*3+1)*3+2)*4+1 = 21.
	if got := v[((1*3+2)*3+0)*3+1]; got != 21 || len(cw.Dims) != 4 || cw.Dims[0] != 4 || cw.Dims[1] != 3 {
		t.Errorf("conv1.weight dims %v, OIHW[1,2,0,1] = %v; want [4 3 3 3], 21", cw.Dims, got)
	}
	data := m.Marshal()
	var back onnx.Model
	if err := back.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), data) {
		t.Error("exported model does not round-trip byte for byte")
	}
	if m.IRVersion != 8 || m.OpsetImport[0].Version != onnx.Opset {
		t.Errorf("ir %d opset %v", m.IRVersion, m.OpsetImport)
	}
}

func dimsOf(v *onnx.ValueInfo) string {
	var d []int
	for _, x := range v.Type.Tensor.Shape.Dim {
		d = append(d, int(x.Value))
	}
	return core.Shape(d).String()
}
