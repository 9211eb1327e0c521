package onnximport

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"webcnn/core"
	"webcnn/tools/convert/onnx"
)

// builder writes small ONNX graphs for the op tests: weights are seeded
// random initializers (or Constant nodes), every op's output a fresh name.
type builder struct {
	nodes []*onnx.Node
	inits []*onnx.Tensor
	rng   *rand.Rand
	k     int
	// consts writes weights as Constant nodes instead of initializers.
	consts bool
}

func (b *builder) name(base string) string {
	b.k++
	return fmt.Sprintf("%s%d", base, b.k)
}

// w adds a float weight of the given dims, uniform in [-s, s].
func (b *builder) w(s float64, dims ...int64) string {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s * (2*b.rng.Float64() - 1))
	}
	return b.tensor(onnx.FloatTensor(b.name("w"), dims, v))
}

// pos adds a float weight uniform in [lo, hi] (batch norm variances).
func (b *builder) pos(lo, hi float64, dims ...int64) string {
	v := make([]float32, dims[0])
	for i := range v {
		v[i] = float32(lo + (hi-lo)*b.rng.Float64())
	}
	return b.tensor(onnx.FloatTensor(b.name("p"), dims, v))
}

func (b *builder) f(v ...float32) string {
	return b.tensor(onnx.FloatTensor(b.name("f"), nil, v[:1]))
}

func (b *builder) ints(v ...int64) string {
	return b.tensor(onnx.Int64Tensor(b.name("i"), []int64{int64(len(v))}, v))
}

func (b *builder) tensor(t *onnx.Tensor) string {
	if b.consts {
		b.nodes = append(b.nodes, &onnx.Node{OpType: "Constant", Output: []string{t.Name}, Attribute: []*onnx.Attribute{onnx.TensorAttr("value", t)}})
	} else {
		b.inits = append(b.inits, t)
	}
	return t.Name
}

// op adds a node and returns its output.
func (b *builder) op(typ string, in []string, attrs ...*onnx.Attribute) string {
	out := b.name(typ)
	b.nodes = append(b.nodes, &onnx.Node{OpType: typ, Name: out, Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

func iattr(name string, v ...int64) *onnx.Attribute { return onnx.IntsAttr(name, v...) }

// opCases are small graphs covering every supported op and its layout
// handling; each runs at batch 2 on input "x" (NCHW unless in says NHWC).
var opCases = []struct {
	name  string
	opset int64
	in    []int64
	graph func(b *builder) string
}{
	{"conv pads bias", 13, nil, func(b *builder) string {
		return b.op("Conv", []string{"x", b.w(0.3, 4, 3, 3, 3), b.w(0.5, 4)}, iattr("pads", 1, 1, 1, 1))
	}},
	{"conv stride 2 asymmetric pads", 13, nil, func(b *builder) string {
		return b.op("Conv", []string{"x", b.w(0.3, 5, 3, 3, 2)}, iattr("pads", 0, 1, 1, 2), iattr("strides", 2, 2))
	}},
	{"conv SAME_UPPER stride 2", 13, nil, func(b *builder) string {
		return b.op("Conv", []string{"x", b.w(0.3, 4, 3, 3, 3)}, onnx.StringAttr("auto_pad", "SAME_UPPER"), iattr("strides", 2, 2), iattr("kernel_shape", 3, 3))
	}},
	{"conv SAME_LOWER stride 2 kernel 4", 13, nil, func(b *builder) string {
		return b.op("Conv", []string{"x", b.w(0.3, 4, 3, 4, 4)}, onnx.StringAttr("auto_pad", "SAME_LOWER"), iattr("strides", 2, 2))
	}},
	{"conv VALID dilation 2", 13, nil, func(b *builder) string {
		return b.op("Conv", []string{"x", b.w(0.3, 4, 3, 3, 2)}, onnx.StringAttr("auto_pad", "VALID"), iattr("dilations", 2, 2))
	}},
	{"depthwise and grouped conv", 13, []int64{2, 4, 7, 6}, func(b *builder) string {
		d := b.op("Conv", []string{"x", b.w(0.5, 4, 1, 3, 3), b.w(0.5, 4)}, onnx.IntAttr("group", 4), iattr("pads", 1, 1, 1, 1), iattr("strides", 2, 1))
		return b.op("Conv", []string{d, b.w(0.5, 6, 2, 1, 1)}, onnx.IntAttr("group", 2))
	}},
	{"conv batchnorm relu (folded)", 13, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(0.3, 4, 3, 3, 3)}, iattr("pads", 1, 1, 1, 1))
		n := b.op("BatchNormalization", []string{c, b.pos(0.5, 1.5, 4), b.w(0.5, 4), b.w(0.5, 4), b.pos(0.2, 2, 4)}, onnx.FloatAttr("epsilon", 1e-3))
		return b.op("Relu", []string{n})
	}},
	{"batchnorm of the input", 13, nil, func(b *builder) string {
		return b.op("BatchNormalization", []string{"x", b.pos(0.5, 1.5, 3), b.w(0.5, 3), b.w(0.5, 3), b.pos(0.2, 2, 3)})
	}},
	{"conv bias [C,1,1] clip 0..6 (opset 11 inputs)", 11, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(2, 4, 3, 1, 1)})
		a := b.op("Add", []string{c, b.w(2, 4, 1, 1)})
		return b.op("Clip", []string{a, b.f(0), b.f(6)})
	}},
	{"hard swish as Add Clip Mul Div", 11, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(3, 4, 3, 1, 1)})
		a := b.op("Add", []string{c, b.f(3)})
		k := b.op("Clip", []string{a, b.f(0), b.f(6)})
		m := b.op("Mul", []string{c, k})
		return b.op("Div", []string{m, b.f(6)})
	}},
	{"HardSwish and HardSigmoid ops", 14, nil, func(b *builder) string {
		h := b.op("HardSwish", []string{b.op("Mul", []string{"x", b.f(4)})})
		s := b.op("HardSigmoid", []string{h})
		return b.op("HardSigmoid", []string{b.op("Mul", []string{s, b.f(5)})}, onnx.FloatAttr("alpha", 1.0/6), onnx.FloatAttr("beta", 0.5))
	}},
	{"activations", 13, nil, func(b *builder) string {
		x := b.op("LeakyRelu", []string{"x"}, onnx.FloatAttr("alpha", 0.1))
		x = b.op("Tanh", []string{b.op("Mul", []string{x, b.f(2)})})
		x = b.op("Elu", []string{b.op("Sub", []string{x, b.f(0.5)})}, onnx.FloatAttr("alpha", 0.7))
		return b.op("Sigmoid", []string{b.op("Mul", []string{x, b.f(3)})})
	}},
	{"math", 13, nil, func(b *builder) string {
		x := b.op("Add", []string{b.op("Abs", []string{"x"}), b.f(1)})
		x = b.op("Log", []string{b.op("Reciprocal", []string{b.op("Sqrt", []string{x})})})
		return b.op("Exp", []string{b.op("Neg", []string{x})})
	}},
	{"clip one bound (opset 6 attrs, opset 11 inputs)", 6, nil, func(b *builder) string {
		return b.op("Clip", []string{"x"}, onnx.FloatAttr("min", -0.5))
	}},
	{"clip upper bound", 11, nil, func(b *builder) string {
		return b.op("Clip", []string{"x", "", b.f(0.25)})
	}},
	{"broadcast constants", 13, nil, func(b *builder) string {
		x := b.op("Mul", []string{"x", b.w(1, 1, 3, 1, 1)})
		x = b.op("Sub", []string{b.w(1, 3, 1, 1), x})
		x = b.op("Div", []string{x, b.f(4)})
		x = b.op("Add", []string{x, b.w(1, 6)})    // along W
		x = b.op("Max", []string{x, b.w(1, 7, 1)}) // along H
		x = b.op("Min", []string{b.f(0.4), x})
		return b.op("Div", []string{b.f(1), b.op("Add", []string{b.op("Abs", []string{x}), b.f(1)})})
	}},
	{"residual and squeeze-excite", 13, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(0.5, 8, 3, 1, 1), b.w(0.5, 8)})
		g := b.op("GlobalAveragePool", []string{c})
		s := b.op("Relu", []string{b.op("Conv", []string{g, b.w(0.5, 4, 8, 1, 1), b.w(0.5, 4)})})
		s = b.op("HardSigmoid", []string{b.op("Conv", []string{s, b.w(0.5, 8, 4, 1, 1), b.w(0.5, 8)})})
		m := b.op("Mul", []string{c, s})
		return b.op("Add", []string{m, b.op("Conv", []string{"x", b.w(0.5, 8, 3, 3, 3)}, iattr("pads", 1, 1, 1, 1))})
	}},
	{"max pool stride 2 pads 1, ceil mode", 13, nil, func(b *builder) string {
		p := b.op("MaxPool", []string{"x"}, iattr("kernel_shape", 3, 3), iattr("strides", 2, 2), iattr("pads", 1, 1, 1, 1))
		return b.op("MaxPool", []string{p}, iattr("kernel_shape", 2, 2), iattr("strides", 2, 2), onnx.IntAttr("ceil_mode", 1))
	}},
	{"average pool pads (excluded, included), same", 13, []int64{2, 3, 9, 8}, func(b *builder) string {
		p := b.op("AveragePool", []string{"x"}, iattr("kernel_shape", 3, 3), iattr("pads", 1, 0, 1, 2))
		p = b.op("AveragePool", []string{p}, iattr("kernel_shape", 2, 3), iattr("strides", 1, 2), iattr("pads", 1, 1, 0, 1), onnx.IntAttr("count_include_pad", 1))
		return b.op("AveragePool", []string{p}, iattr("kernel_shape", 2, 2), iattr("strides", 2, 2), onnx.StringAttr("auto_pad", "SAME_UPPER"))
	}},
	{"global max pool, flatten, gemm transB alpha beta", 13, nil, func(b *builder) string {
		f := b.op("Flatten", []string{b.op("GlobalMaxPool", []string{"x"})})
		return b.op("Gemm", []string{f, b.w(1, 5, 3), b.w(1, 5)}, onnx.IntAttr("transB", 1), onnx.FloatAttr("alpha", 0.5), onnx.FloatAttr("beta", 2))
	}},
	{"conv flatten matmul add (NCHW order)", 13, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(0.5, 4, 3, 3, 3)}, iattr("strides", 2, 2))
		f := b.op("Flatten", []string{c})
		return b.op("Add", []string{b.op("MatMul", []string{f, b.w(0.3, 24, 7)}), b.w(1, 1, 7)})
	}},
	{"conv reshape gemm softmax", 13, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(0.5, 4, 3, 3, 3)}, iattr("strides", 2, 2))
		r := b.op("Reshape", []string{c, b.ints(-1, 24)})
		return b.op("Softmax", []string{b.op("Gemm", []string{r, b.w(0.5, 24, 6)})})
	}},
	{"log softmax (opset 11, axis 1)", 11, nil, func(b *builder) string {
		f := b.op("Flatten", []string{b.op("GlobalAveragePool", []string{"x"})})
		return b.op("LogSoftmax", []string{b.op("Mul", []string{f, b.f(3)})}, onnx.IntAttr("axis", 1))
	}},
	{"concat channels", 13, nil, func(b *builder) string {
		a := b.op("Conv", []string{"x", b.w(0.5, 2, 3, 1, 1)})
		c := b.op("Relu", []string{b.op("Conv", []string{"x", b.w(0.5, 3, 3, 3, 3)}, iattr("pads", 1, 1, 1, 1))})
		return b.op("Conv", []string{b.op("Concat", []string{a, c, "x"}, onnx.IntAttr("axis", 1)), b.w(0.5, 4, 8, 1, 1)})
	}},
	{"NHWC input transposed (TF export)", 13, []int64{2, 7, 6, 3}, func(b *builder) string {
		t := b.op("Transpose", []string{"x"}, iattr("perm", 0, 3, 1, 2))
		c := b.op("Relu", []string{b.op("Conv", []string{t, b.w(0.5, 4, 3, 3, 3)}, iattr("pads", 1, 1, 1, 1))})
		return b.op("Transpose", []string{c}, iattr("perm", 0, 2, 3, 1))
	}},
	{"transpose then flatten", 13, nil, func(b *builder) string {
		t := b.op("Transpose", []string{"x"}, iattr("perm", 0, 2, 1, 3))
		return b.op("Gemm", []string{b.op("Flatten", []string{t}), b.w(0.2, 126, 5)})
	}},
	{"squeeze unsqueeze (axes inputs)", 13, nil, func(b *builder) string {
		s := b.op("Squeeze", []string{b.op("GlobalAveragePool", []string{"x"}), b.ints(2, 3)})
		u := b.op("Unsqueeze", []string{b.op("Gemm", []string{s, b.w(1, 3, 4)}), b.ints(2, 3)})
		return b.op("Squeeze", []string{b.op("Conv", []string{u, b.w(1, 5, 4, 1, 1)}), b.ints(3)})
	}},
	{"squeeze (opset 11 attrs)", 11, nil, func(b *builder) string {
		s := b.op("Squeeze", []string{b.op("GlobalAveragePool", []string{"x"})}, iattr("axes", 2, 3))
		return b.op("Unsqueeze", []string{s}, iattr("axes", 0))
	}},
	{"view(x.size(0), -1) via Shape Gather Concat", 13, nil, func(b *builder) string {
		c := b.op("Conv", []string{"x", b.w(0.5, 4, 3, 3, 3)}, iattr("strides", 2, 2))
		n := b.op("Unsqueeze", []string{b.op("Gather", []string{b.op("Shape", []string{c}), b.tensor(onnx.Int64Tensor(b.name("zero"), nil, []int64{0}))}), b.ints(0)})
		shape := b.op("Concat", []string{b.op("Cast", []string{n}, onnx.IntAttr("to", 7)), b.ints(-1)}, onnx.IntAttr("axis", 0))
		return b.op("Gemm", []string{b.op("Reshape", []string{c, shape}), b.w(0.2, 24, 3)})
	}},
	{"pad constant value", 13, nil, func(b *builder) string {
		p := b.op("Pad", []string{"x", b.ints(0, 0, 1, 2, 0, 1, 0, 1), b.f(0.5)})
		return b.op("Conv", []string{p, b.w(0.5, 4, 4, 3, 3)})
	}},
	{"reduce mean and sum", 13, nil, func(b *builder) string {
		m := b.op("ReduceMean", []string{"x"}, iattr("axes", 2, 3), onnx.IntAttr("keepdims", 0))
		s := b.op("ReduceSum", []string{"x", b.ints(1)})
		mx := b.op("ReduceMax", []string{s}, iattr("axes", 3), onnx.IntAttr("keepdims", 0))
		f := b.op("Flatten", []string{mx})
		return b.op("Concat", []string{m, f}, onnx.IntAttr("axis", 1))
	}},
	{"slice channels and rows", 13, nil, func(b *builder) string {
		s := b.op("Slice", []string{"x", b.ints(1, 2), b.ints(3, -1), b.ints(1, 2)})
		return b.op("Conv", []string{s, b.w(0.5, 3, 2, 1, 1)})
	}},
	{"constant nodes, identity, dropout", 13, nil, func(b *builder) string {
		b.consts = true
		c := b.op("Conv", []string{"x", b.w(0.5, 4, 3, 3, 3), b.w(0.5, 4)}, iattr("pads", 1, 1, 1, 1))
		return b.op("Dropout", []string{b.op("Identity", []string{c})})
	}},
}

// TestOps runs each op case with onnxruntime and with the imported graph
// on the CPU backend: outputs within 1e-5 of the largest |output|.
func TestOps(t *testing.T) {
	rt := runtime(t)
	dir := t.TempDir()
	for i, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			b := &builder{rng: rand.New(rand.NewPCG(uint64(i), 7))}
			out := c.graph(b)
			in := c.in
			if in == nil {
				in = []int64{2, 3, 7, 6}
			}
			m := &onnx.Model{IRVersion: onnx.IRVersion, OpsetImport: []onnx.OperatorSetID{{Version: c.opset}}, Graph: &onnx.Graph{
				Name: "case", Node: b.nodes, Initializer: b.inits,
				Input:  []*onnx.ValueInfo{onnx.TensorInfo("x", in...)},
				Output: []*onnx.ValueInfo{{Name: out, Type: &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Float}}}},
			}}
			raw := m.Marshal()
			path := filepath.Join(dir, fmt.Sprintf("case%d.onnx", i))
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			man, ts, err := Import(raw, "case")
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			x := make([]float32, in[0]*in[1]*in[2]*in[3])
			for k := range x {
				x[k] = float32(2*rng.Float64() - 1)
			}
			want, dims, err := rt.Run(path, x, []int{int(in[0]), int(in[1]), int(in[2]), int(in[3])})
			if err != nil {
				t.Fatal(err)
			}
			ours := x
			shape := core.Shape{int(in[0]), int(in[2]), int(in[3]), int(in[1])}
			if !slices.Equal(man.Input.Shape[1:], []int(shape[1:])) {
				shape = core.Shape{int(in[0]), int(in[1]), int(in[2]), int(in[3])} // NHWC already
			} else {
				ours = nhwc(x, shape[0], shape[3], shape[1], shape[2])
			}
			g := build(t, man, ts)
			got, gs := forward(t, g, shape, ours)
			if len(dims) == 4 && !slices.Equal([]int(gs), dims) {
				if !slices.Equal([]int(gs), []int{dims[0], dims[2], dims[3], dims[1]}) {
					t.Fatalf("output shape %v, onnxruntime %v", gs, dims)
				}
				want = nhwc(want, dims[0], dims[1], dims[2], dims[3])
			} else if gs.Size() != len(want) {
				t.Fatalf("output shape %v, onnxruntime %v", gs, dims)
			}
			d, s := maxDiff(got, want)
			if d > 1e-5*math.Max(s, 1) || math.IsNaN(d) {
				t.Errorf("outputs differ by %g (max |output| %g)\n ours %v\n  ort %v", d, s, got[:min(8, len(got))], want[:min(8, len(want))])
			}
		})
	}
}
