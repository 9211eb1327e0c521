package onnximport

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/tools/convert/onnx"
)

// TestQuantizedSuite runs the quantized node tests of ONNX's backend test
// suite (ONNX 1.12). Their scales, zero points and second operands are
// graph inputs there; here they become initializers with the stored
// values (the runtime takes one input, and quantized models keep these
// constant), and the first input is fed as float32 values (a rank-1 one
// as [1, n]: these tests quantize per tensor). Every output
// must equal the stored one: integer outputs exactly, float outputs
// within 1e-6 relative.
func TestQuantizedSuite(t *testing.T) {
	tests := []string{"test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear", "test_dequantizelinear_axis",
		"test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted", "test_dynamicquantizelinear_min_adjusted",
		"test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding",
		"test_matmulinteger", "test_qlinearconv", "test_qlinearmatmul_2D", "test_qlinearmatmul_3D"}
	if _, err := os.Stat(suiteDir + "/node"); err != nil {
		missing(t, "CNN_REQUIRE_ORT", "ONNX's backend test data is missing (apt-get install libonnx-testdata): "+err.Error())
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(suiteDir, "node", name)
			raw, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			var m onnx.Model
			if err := m.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			read := func(file string) *onnx.Tensor {
				b, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", file))
				if err != nil {
					t.Fatal(err)
				}
				var tt onnx.Tensor
				if err := tt.Unmarshal(b); err != nil {
					t.Fatal(err)
				}
				return &tt
			}
			g := m.Graph
			for i := 1; i < len(g.Input); i++ {
				tt := read(fmt.Sprintf("input_%d.pb", i))
				tt.Name = g.Input[i].Name
				g.Initializer = append(g.Initializer, tt)
			}
			x := read("input_0.pb")
			g.Input = g.Input[:1]
			g.Input[0].Type.Tensor.ElemType = onnx.Float
			if len(x.Dims) == 1 {
				// The importer's inputs have a batch axis; these ops are
				// elementwise with one scale, so [n] runs as [1, n].
				g.Input[0].Type.Tensor.Shape.Dim = []onnx.Dimension{{Value: 1}, {Value: x.Dims[0]}}
				x.Dims = []int64{1, x.Dims[0]}
			}
			xc, err := decodeTensor(x)
			if err != nil {
				t.Fatal(err)
			}
			man, ts, err := ImportWith(m.Marshal(), Options{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			gr, err := graph.New(backend, man.Graph, ts)
			if err != nil {
				t.Fatal(err)
			}
			defer gr.Free()
			// Rank-4 inputs are images, fed NHWC; outputs of rank 4 come back NHWC.
			shape := make(core.Shape, len(x.Dims))
			for i, d := range x.Dims {
				shape[i] = int(d)
			}
			in := xc.floats()
			if len(shape) == 4 {
				in = nhwc(in, shape[0], shape[1], shape[2], shape[3])
				shape = core.Shape{shape[0], shape[2], shape[3], shape[1]}
			}
			xt, err := core.FromData(backend, shape, in)
			if err != nil {
				t.Fatal(err)
			}
			defer xt.Free()
			ys, err := gr.Run(nn.Eval, xt)
			if err != nil {
				t.Fatal(err)
			}
			for i, y := range ys {
				defer y.Free()
				want := read(fmt.Sprintf("output_%d.pb", i))
				wc, err := decodeTensor(want)
				if err != nil {
					t.Fatal(err)
				}
				wv := wc.floats()
				if len(want.Dims) == 4 {
					d := want.Dims
					wv = nhwc(wv, int(d[0]), int(d[1]), int(d[2]), int(d[3]))
				}
				got, err := y.Data()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(wv) {
					t.Fatalf("output %d: %v, want dims %v", i, y.Shape(), want.Dims)
				}
				tol := 0.0
				if want.DataType == onnx.Float {
					tol = 1e-6 * math.Max(1, maxAbsF(wv))
				}
				if d, _ := maxDiff(got, wv); d > tol {
					t.Errorf("output %d differs by %g:\n got %v\nwant %v", i, d, got[:min(16, len(got))], wv[:min(16, len(wv))])
				}
			}
		})
	}
}

func maxAbsF(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// q8 adds an 8-bit constant (uint8, or int8 when signed) of the given
// dims, seeded uniform over the type's range.
func (b *builder) q8(signed bool, dims ...int64) string {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(b.rng.IntN(256))
	}
	t := &onnx.Tensor{Name: b.name("q"), Dims: dims, DataType: onnx.Uint8, RawData: raw}
	if signed {
		t.DataType = onnx.Int8
	}
	return b.tensor(t)
}

// zp adds a scalar (or per-channel) zero point of an 8-bit type.
func (b *builder) zp(signed bool, v ...byte) string {
	t := &onnx.Tensor{Name: b.name("z"), DataType: onnx.Uint8, RawData: v}
	if len(v) > 1 {
		t.Dims = []int64{int64(len(v))}
	}
	if signed {
		t.DataType = onnx.Int8
	}
	return b.tensor(t)
}

// i32 adds an int32 constant (QLinearConv's bias).
func (b *builder) i32(v ...int32) string {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return b.tensor(&onnx.Tensor{Name: b.name("b"), Dims: []int64{int64(len(v))}, DataType: onnx.Int32, RawData: raw})
}

// TestQuantizedModels holds small quantized graphs in the three forms
// quantization tools write to onnxruntime: dynamic quantization
// (DynamicQuantizeLinear, ConvInteger, MatMulInteger), QDQ (Quantize- and
// DequantizeLinear around float ops, which onnxruntime fuses into integer
// kernels) and QOperator (QLinearConv, QLinearMatMul). The quantization
// allows one step of difference (a value within float rounding of a half
// may round either way when onnxruntime sums integers and we sum float32);
// on these graphs every output agreed to 1e-5 relative, so the test holds
// to that.
func TestQuantizedModels(t *testing.T) { checkCases(t, 17, quantCases()) }

// quantCases are the quantized graphs of TestQuantizedModels.
func quantCases() []ortCase {
	in := []int64{2, 3, 6, 5}
	f := func(b *builder, v ...float32) string { return b.f(v...) }
	return []ortCase{
		{"dynamic: DynamicQuantizeLinear ConvInteger Cast Mul Add Relu", 13, in, func(b *builder) string {
			q := b.nodeN("DynamicQuantizeLinear", []string{"x"}, 3)
			c := b.op("ConvInteger", []string{q[0], b.q8(false, 4, 3, 3, 3), q[2], b.zp(false, 128)}, iattr("pads", 1, 1, 1, 1))
			scale := b.op("Mul", []string{q[1], f(b, 0.01)})
			y := b.op("Mul", []string{b.op("Cast", []string{c}, onnx.IntAttr("to", 1)), scale})
			return b.op("Relu", []string{b.op("Add", []string{y, b.w(0.5, 4, 1, 1)})})
		}, 0},
		{"dynamic: DynamicQuantizeLinear MatMulInteger (per-column zero points)", 13, []int64{2, 6}, func(b *builder) string {
			q := b.nodeN("DynamicQuantizeLinear", []string{"x"}, 3)
			m := b.op("MatMulInteger", []string{q[0], b.q8(false, 6, 4), q[2], b.zp(false, 120, 128, 131, 125)})
			return b.op("Mul", []string{b.op("Cast", []string{m}, onnx.IntAttr("to", 1)), b.op("Mul", []string{q[1], f(b, 0.02)})})
		}, 0},
		{"QDQ: conv with per-channel int8 weights", 13, in, func(b *builder) string {
			x := b.op("DequantizeLinear", []string{b.op("QuantizeLinear", []string{"x", f(b, 0.01), b.zp(false, 128)}), f(b, 0.01), b.zp(false, 128)})
			w := b.op("DequantizeLinear", []string{b.q8(true, 4, 3, 3, 3), b.floats(0.002, 0.003, 0.001, 0.004), b.zp(true, 0, 0, 0, 0)}, onnx.IntAttr("axis", 0))
			c := b.op("Conv", []string{x, w, b.w(0.1, 4)}, iattr("pads", 1, 1, 1, 1))
			return b.op("DequantizeLinear", []string{b.op("QuantizeLinear", []string{c, f(b, 0.02), b.zp(false, 128)}), f(b, 0.02), b.zp(false, 128)})
		}, 0},
		{"QOperator: uint8 QLinearConv", 13, in, func(b *builder) string {
			x := b.op("QuantizeLinear", []string{"x", f(b, 0.01), b.zp(false, 128)})
			c := b.op("QLinearConv", []string{x, f(b, 0.01), b.zp(false, 128), b.q8(false, 4, 3, 3, 3), f(b, 0.003), b.zp(false, 128),
				f(b, 0.05), b.zp(false, 100), b.i32(100, -200, 300, 0)}, iattr("pads", 1, 1, 1, 1), iattr("strides", 2, 1))
			return b.op("DequantizeLinear", []string{c, f(b, 0.05), b.zp(false, 100)})
		}, 0},
		{"QOperator: QLinearConv int8 per-channel weights, grouped", 13, in, func(b *builder) string {
			x := b.op("QuantizeLinear", []string{"x", f(b, 0.008), b.zp(true, 253)})
			c := b.op("QLinearConv", []string{x, f(b, 0.008), b.zp(true, 253), b.q8(true, 6, 1, 3, 3), b.floats(0.002, 0.003, 0.001, 0.004, 0.002, 0.005), b.zp(true, 0, 0, 0, 0, 0, 0),
				f(b, 0.01), b.zp(true, 2)}, iattr("pads", 1, 1, 1, 1), onnx.IntAttr("group", 3))
			return b.op("DequantizeLinear", []string{c, f(b, 0.01), b.zp(true, 2)})
		}, 0},
		{"QOperator: QLinearMatMul int8", 13, []int64{2, 6}, func(b *builder) string {
			x := b.op("QuantizeLinear", []string{"x", f(b, 0.01), b.zp(true, 0)})
			y := b.op("QLinearMatMul", []string{x, f(b, 0.01), b.zp(true, 0), b.q8(true, 6, 5), f(b, 0.004), b.zp(true, 0), f(b, 0.003), b.zp(true, 5)})
			return b.op("DequantizeLinear", []string{y, f(b, 1), b.zp(true, 0)}) // the integers, as floats
		}, 0},
	}
}

// nodeN adds a node with k outputs and returns their names.
func (b *builder) nodeN(typ string, in []string, k int, attrs ...*onnx.Attribute) []string {
	name := b.name(typ)
	outs := make([]string, k)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_%d", name, i)
	}
	b.nodes = append(b.nodes, &onnx.Node{OpType: typ, Name: name, Input: in, Output: outs, Attribute: attrs})
	return outs
}
