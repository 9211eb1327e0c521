package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// graphBuilder writes a TF.js graph model (GraphDef JSON as the TF.js
// converter writes it, weights in one shard) for tests.
type graphBuilder struct {
	rng     *core.RNG
	nodes   []map[string]any
	specs   []map[string]any
	shard   []byte
	outputs []string
}

func newGraphBuilder(seed uint64) *graphBuilder { return &graphBuilder{rng: core.NewRNG(seed)} }

// node adds a node; attrs are AttrValue JSON objects.
func (g *graphBuilder) node(name, op string, attrs map[string]any, inputs ...string) string {
	if attrs == nil {
		attrs = map[string]any{}
	}
	n := map[string]any{"name": name, "op": op, "attr": attrs}
	if len(inputs) > 0 {
		n["input"] = inputs
	}
	g.nodes = append(g.nodes, n)
	return name
}

// Attribute values in protobuf's JSON mapping.
func aS(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func aI(i int) map[string]any     { return map[string]any{"i": strconv.Itoa(i)} }
func aF(f float64) map[string]any { return map[string]any{"f": f} }
func aB(b bool) map[string]any    { return map[string]any{"b": b} }
func aT() map[string]any          { return map[string]any{"type": "DT_FLOAT"} }
func aInts(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func aStrs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

// dims is a tensorShape.
func dims(shape []int) map[string]any {
	d := make([]any, len(shape))
	for i, x := range shape {
		d[i] = map[string]any{"size": strconv.Itoa(x)}
	}
	return map[string]any{"dim": d}
}

// input adds a Placeholder.
func (g *graphBuilder) input(name string, shape ...int) string {
	return g.node(name, "Placeholder", map[string]any{"dtype": aT(), "shape": map[string]any{"shape": dims(shape)}})
}

// konst adds a float32 Const with the given values, stored in turn as
// float32, uint8, float16 and uint16 (as the TF.js converter's
// quantization does).
func (g *graphBuilder) konst(name string, shape []int, v []float32) string {
	shape = append([]int{}, shape...) // a scalar is [], not null
	spec := map[string]any{"name": name, "shape": shape, "dtype": "float32"}
	switch len(g.specs) % 4 {
	case 0:
		for _, x := range v {
			g.shard = binary.LittleEndian.AppendUint32(g.shard, math.Float32bits(x))
		}
	case 1, 3:
		levels, dtype := 255.0, "uint8"
		if len(g.specs)%4 == 3 {
			levels, dtype = 65535, "uint16"
		}
		lo, hi := float64(v[0]), float64(v[0])
		for _, x := range v {
			lo, hi = min(lo, float64(x)), max(hi, float64(x))
		}
		scale := (hi - lo) / levels
		if scale == 0 {
			scale = 1
		}
		for _, x := range v {
			q := math.Round((float64(x) - lo) / scale)
			if dtype == "uint8" {
				g.shard = append(g.shard, byte(q))
			} else {
				g.shard = binary.LittleEndian.AppendUint16(g.shard, uint16(q))
			}
		}
		spec["quantization"] = map[string]any{"dtype": dtype, "scale": scale, "min": lo}
	case 2:
		for _, x := range v {
			g.shard = binary.LittleEndian.AppendUint16(g.shard, weights.F32ToF16(x))
		}
		spec["quantization"] = map[string]any{"dtype": "float16"}
	}
	g.specs = append(g.specs, spec)
	return g.node(name, "Const", map[string]any{"dtype": aT(),
		"value": map[string]any{"tensor": map[string]any{"dtype": "DT_FLOAT", "tensorShape": dims(shape)}}})
}

// random adds a Const of normal values (positive: |v| + 0.2).
func (g *graphBuilder) random(name string, positive bool, shape ...int) string {
	v := make([]float32, core.Shape(shape).Size())
	for i := range v {
		v[i] = g.rng.NormFloat32() * 0.5
		if positive {
			v[i] = float32(math.Abs(float64(v[i]))) + 0.2
		}
	}
	return g.konst(name, shape, v)
}

// ints adds an int32 Const.
func (g *graphBuilder) ints(name string, shape []int, v ...int) string {
	shape = append([]int{}, shape...)
	for _, x := range v {
		g.shard = binary.LittleEndian.AppendUint32(g.shard, uint32(int32(x)))
	}
	g.specs = append(g.specs, map[string]any{"name": name, "shape": shape, "dtype": "int32"})
	return g.node(name, "Const", map[string]any{"dtype": map[string]any{"type": "DT_INT32"},
		"value": map[string]any{"tensor": map[string]any{"dtype": "DT_INT32", "tensorShape": dims(shape)}}})
}

// write writes model.json and the shard into dir; the nodes are listed
// in reverse order (the importer sorts them).
func (g *graphBuilder) write(t testing.TB, dir string) {
	nodes := slices.Clone(g.nodes)
	slices.Reverse(nodes)
	outs := "{" // in order: the first output is the model's
	for i, o := range g.outputs {
		if i > 0 {
			outs += ","
		}
		outs += strconv.Quote(o+":0") + `:{"name":` + strconv.Quote(o+":0") + `,"dtype":"DT_FLOAT"}`
	}
	outs += "}"
	model := map[string]any{
		"format": "graph-model", "generatedBy": "test", "convertedBy": "graph_synth_test.go",
		"signature":       map[string]any{"outputs": json.RawMessage(outs)},
		"modelTopology":   map[string]any{"node": nodes, "versions": map[string]any{"producer": 1}},
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": g.specs}},
	}
	js, err := json.MarshalIndent(model, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), g.shard, 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthGraph builds a graph model with every op the importer translates,
// on an input [N, 9, 8, 3]; its outputs are listed in g.outputs.
func synthGraph() *graphBuilder {
	g := newGraphBuilder(17)
	T := aT()
	nhwc := aS("NHWC")
	in := g.input("in", -1, 9, 8, 3)
	g.node("init", "NoOp", nil, "^in")
	two := g.konst("two", nil, []float32{2})
	one := g.konst("one", nil, []float32{1})
	x := g.node("scaled", "Mul", map[string]any{"T": T}, two, in)
	x = g.node("centred", "Sub", map[string]any{"T": T}, x, one)

	conv := func(name, op string, x, w, b string, strides, dil []int, pad string, fused []string, extra map[string]any) string {
		a := map[string]any{"T": T, "data_format": nhwc, "strides": aInts(strides...), "dilations": aInts(dil...), "padding": aS(pad)}
		if fused != nil {
			a["fused_ops"] = aStrs(fused...)
			a["num_args"] = aI(1)
		}
		for k, v := range extra {
			a[k] = v
		}
		if b == "" {
			return g.node(name, op, a, x, w)
		}
		return g.node(name, op, a, x, w, b)
	}
	// [N,5,4,4]: SAME, stride 2, bias and ReLU fused.
	ca := conv("ca", "_FusedConv2D", x, g.random("ca_w", false, 3, 3, 3, 4), g.random("ca_b", false, 4),
		[]int{1, 2, 2, 1}, []int{1, 1, 1, 1}, "SAME", []string{"BiasAdd", "Relu"}, nil)
	// [N,8,8,4]: explicit padding, dilation 2 on the height, LeakyReLU 0.3.
	cb := conv("cb", "_FusedConv2D", x, g.random("cb_w", false, 2, 3, 3, 4), g.random("cb_b", false, 4),
		[]int{1, 1, 1, 1}, []int{1, 2, 1, 1}, "EXPLICIT", []string{"BiasAdd", "LeakyRelu"},
		map[string]any{"explicit_paddings": aInts(0, 0, 1, 0, 0, 2, 0, 0), "leakyrelu_alpha": aF(0.3)})
	// [N,6,6,8]: depthwise, multiplier 2, VALID, ReLU6.
	da := conv("da", "FusedDepthwiseConv2dNative", cb, g.random("da_w", false, 3, 3, 4, 2), g.random("da_b", false, 8),
		[]int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "VALID", []string{"BiasAdd", "Relu6"}, nil)
	// [N,4,4,4]: plain depthwise, SAME, stride 2, then BiasAdd and Elu.
	db := conv("db", "DepthwiseConv2dNative", cb, g.random("db_w", false, 3, 3, 4, 1), "",
		[]int{1, 2, 2, 1}, []int{1, 1, 1, 1}, "SAME", nil, nil)
	db = g.node("db_bias", "BiasAdd", map[string]any{"T": T, "data_format": nhwc}, db, g.random("db_b", false, 4))
	db = g.node("db_elu", "Elu", map[string]any{"T": T}, db)
	// [N,3,3,8] and [N,4,4,4].
	p1 := g.node("p1", "MaxPool", map[string]any{"T": T, "data_format": nhwc, "ksize": aInts(1, 2, 2, 1), "strides": aInts(1, 2, 2, 1), "padding": aS("VALID")}, da)
	p2 := g.node("p2", "AvgPool", map[string]any{"T": T, "data_format": nhwc, "ksize": aInts(1, 3, 3, 1), "strides": aInts(1, 1, 1, 1), "padding": aS("SAME")}, db)
	// [N,4,4,8]: plain 1x1 conv, BiasAdd, sigmoid.
	cv := conv("cv", "Conv2D", p2, g.random("cv_w", false, 1, 1, 4, 8), "", []int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "VALID", nil, nil)
	cv = g.node("cv_bias", "BiasAdd", map[string]any{"T": T, "data_format": nhwc}, cv, g.random("cv_b", false, 8))
	sg := g.node("sg", "Sigmoid", map[string]any{"T": T}, cv)
	// [N,4,4,4]: PReLU fused (num_args 2: bias, slopes), then a plain Prelu.
	pr := conv("pr", "_FusedConv2D", p2, g.random("pr_w", false, 3, 3, 4, 4), g.random("pr_b", false, 4),
		[]int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "SAME", []string{"BiasAdd", "Prelu"}, map[string]any{"num_args": aI(2)})
	g.nodes[len(g.nodes)-1]["input"] = append(g.nodes[len(g.nodes)-1]["input"].([]string), g.random("pr_a", false, 4))
	pr = g.node("pr2", "Prelu", map[string]any{"T": T}, pr, g.random("pr2_a", false, 4, 4, 4))
	pd := g.node("pd", "Pad", map[string]any{"T": T}, p1, g.ints("pd_p", []int{4, 2}, 0, 0, 1, 0, 0, 1, 0, 0))
	mx := g.node("mx", "Maximum", map[string]any{"T": T}, sg, g.random("mx_c", false, 8))
	mn := g.node("mn", "Minimum", map[string]any{"T": T}, pd, g.random("mn_c", false, 1, 1, 1, 8))
	sum := g.node("sum", "AddV2", map[string]any{"T": T}, mx, mn)
	// [N,7,7,8], [N,5,5,8] -> [N,7,7,8] and a batch norm.
	mp := g.node("mp", "MirrorPad", map[string]any{"T": T, "mode": aS("REFLECT")}, sum, g.ints("mp_p", []int{4, 2}, 0, 0, 2, 1, 1, 2, 0, 0))
	ms := g.node("ms", "MirrorPad", map[string]any{"T": T, "mode": aS("SYMMETRIC")}, sum, g.ints("ms_p", []int{4, 2}, 0, 0, 1, 0, 0, 1, 0, 0))
	pv := g.node("pv", "PadV2", map[string]any{"T": T}, ms, g.ints("pv_p", []int{4, 2}, 0, 0, 1, 1, 1, 1, 0, 0), g.konst("pv_v", nil, []float32{0.5}))
	bn := g.node("bn", "FusedBatchNormV3", map[string]any{"T": T, "data_format": nhwc, "epsilon": aF(0.001), "is_training": aB(false)},
		pv, g.random("bn_g", false, 8), g.random("bn_b", false, 8), g.random("bn_m", false, 8), g.random("bn_v", true, 8))
	cat := g.node("cat", "ConcatV2", map[string]any{"T": T, "N": aI(2)}, mp, bn, g.ints("cat_axis", nil, -1)) // [N,7,7,16]
	// x[:, 1:6, :, 2:14] -> [N,5,7,12]; [..., 3] -> [N,5,7]; [:, newaxis, 1:4, :] -> [N,1,3,7].
	ss := g.node("ss", "StridedSlice", map[string]any{"T": T, "begin_mask": aI(5), "end_mask": aI(5)}, cat,
		g.ints("ss_b", []int{4}, 0, 1, 0, 2), g.ints("ss_e", []int{4}, 0, 6, 0, 14), g.ints("ss_s", []int{4}, 1, 1, 1, 1))
	ss = g.node("ss2", "StridedSlice", map[string]any{"T": T, "ellipsis_mask": aI(1), "shrink_axis_mask": aI(2)}, ss,
		g.ints("ss2_b", []int{2}, 0, 3), g.ints("ss2_e", []int{2}, 0, 4), g.ints("ss2_s", []int{2}, 1, 1))
	ss = g.node("ss3", "StridedSlice", map[string]any{"T": T, "begin_mask": aI(9), "end_mask": aI(9), "new_axis_mask": aI(2)}, ss,
		g.ints("ss3_b", []int{4}, 0, 0, 1, 0), g.ints("ss3_e", []int{4}, 0, 0, 4, 0), g.ints("ss3_s", []int{4}, 1, 1, 1, 1))
	sq := g.node("sq", "Squeeze", map[string]any{"T": T, "squeeze_dims": aInts(1)}, ss)               // [N,3,7]
	ed := g.node("ed", "ExpandDims", map[string]any{"T": T}, sq, g.ints("ed_axis", nil, -1))          // [N,3,7,1]
	tr := g.node("tr", "Transpose", map[string]any{"T": T}, ed, g.ints("tr_p", []int{4}, 0, 2, 1, 3)) // [N,7,3,1]
	// Elementwise functions: log(exp(-sqrt(|x|)) + 1), squared, reciprocal of (1 + that), rsqrt, tanh, relu.
	u := g.node("u_abs", "Abs", map[string]any{"T": T}, tr)
	u = g.node("u_sqrt", "Sqrt", map[string]any{"T": T}, u)
	u = g.node("u_neg", "Neg", map[string]any{"T": T}, u)
	u = g.node("u_exp", "Exp", map[string]any{"T": T}, u)
	u = g.node("u_add", "AddV2", map[string]any{"T": T}, u, one)
	u = g.node("u_log", "Log", map[string]any{"T": T}, u)
	u = g.node("u_sq", "Square", map[string]any{"T": T}, u)
	u = g.node("u_plus", "Add", map[string]any{"T": T}, one, u)
	u = g.node("u_rcp", "Reciprocal", map[string]any{"T": T}, u)
	u = g.node("u_rsqrt", "Rsqrt", map[string]any{"T": T}, u)
	u = g.node("u_tanh", "Tanh", map[string]any{"T": T}, u)
	u = g.node("u_relu", "Relu", map[string]any{"T": T}, u)
	u = g.node("u_div", "RealDiv", map[string]any{"T": T}, u, g.konst("three", nil, []float32{3}))
	u = g.node("u_rsub", "Sub", map[string]any{"T": T}, one, u)
	// A reshape whose shape is folded at import: concat([-1], [3*7]) -> [N,21].
	shape := g.node("shape", "ConcatV2", map[string]any{"T": map[string]any{"type": "DT_INT32"}, "N": aI(2)},
		g.ints("shape_a", []int{1}, -1), g.node("shape_b", "StridedSlice", map[string]any{"shrink_axis_mask": aI(0)},
			g.ints("shape_all", []int{3}, 5, 21, 9), g.ints("sb_b", []int{1}, 1), g.ints("sb_e", []int{1}, 2), g.ints("sb_s", []int{1}, 1)),
		g.ints("shape_axis", nil, 0))
	flat := g.node("flat", "Reshape", map[string]any{"T": T}, u, shape)
	g.node("out_flat", "Identity", map[string]any{"T": T}, flat)
	// Reductions, then dense layers: [N,16] -> [N,5].
	m := g.node("m", "Mean", map[string]any{"T": T, "keep_dims": aB(false)}, cat, g.ints("m_axes", []int{2}, 1, 2))
	rmax := g.node("rmax", "Max", map[string]any{"T": T, "keep_dims": aB(true)}, cat, g.ints("rmax_axes", nil, -1))          // [N,7,7,1]
	rsum := g.node("rsum", "Sum", map[string]any{"T": T, "keep_dims": aB(false)}, rmax, g.ints("rsum_axes", []int{2}, 1, 2)) // [N,1]
	rmin := g.node("rmin", "Min", map[string]any{"T": T, "keep_dims": aB(true)}, sg, g.ints("rmin_axes", []int{2}, 1, 2))
	fm := g.node("fm", "_FusedMatMul", map[string]any{"T": T, "transpose_a": aB(false), "transpose_b": aB(true),
		"fused_ops": aStrs("BiasAdd", "Sigmoid"), "num_args": aI(1)}, m, g.random("fm_w", false, 5, 16), g.random("fm_b", false, 5))
	mm := g.node("mm", "MatMul", map[string]any{"T": T, "transpose_a": aB(false), "transpose_b": aB(false)}, m, g.random("mm_w", false, 16, 5))
	mm = g.node("mm_bias", "BiasAdd", map[string]any{"T": T}, mm, g.random("mm_b", false, 5))
	logits := g.node("logits", "AddV2", map[string]any{"T": T}, fm, mm)
	rsum = g.node("rsum_scaled", "RealDiv", map[string]any{"T": T}, rsum, g.konst("hundred", nil, []float32{100}))
	logits = g.node("logits_sum", "Mul", map[string]any{"T": T}, logits, rsum)
	sm := g.node("sm", "Softmax", map[string]any{"T": T}, logits)
	g.node("probs", "Identity", map[string]any{"T": T}, sm, "^init")
	lsm := g.node("lsm", "LogSoftmax", map[string]any{"T": T}, logits)
	g.outputs = []string{"probs", lsm, "out_flat", rmin, ca, sum, pr}
	// Matrix products of values: sum sum^T [N,4,4,4], m^T m [16,16] (over
	// the batch), a constant [4,4] times sum [N,4,4,8], sum times a
	// constant [3,8]^T [N,4,4,3] (a dense layer).
	g.outputs = append(g.outputs,
		g.node("bmm", "BatchMatMulV2", map[string]any{"T": T, "adj_x": aB(false), "adj_y": aB(true)}, sum, sum),
		g.node("mtm", "MatMul", map[string]any{"T": T, "transpose_a": aB(true), "transpose_b": aB(false)}, m, m),
		g.node("cbm", "BatchMatMulV2", map[string]any{"T": T}, g.random("cbm_a", false, 4, 4), sum),
		g.node("bdense", "BatchMatMulV2", map[string]any{"T": T, "adj_y": aB(true)}, sum, g.random("bdense_b", false, 3, 8)))
	// A fused product of two values: relu(m (m^T m) + bias), [N,16].
	g.outputs = append(g.outputs, g.node("fvv", "_FusedMatMul", map[string]any{"T": T, "transpose_a": aB(false), "transpose_b": aB(false),
		"fused_ops": aStrs("BiasAdd", "Relu"), "num_args": aI(1)}, m, "mtm", g.random("fvv_b", false, 16)))
	// Resizes of [N,4,4,8], up to 7x5 and down to 3x6 (or 3x3), in every coordinate mode.
	for _, r := range []struct {
		name, op    string
		h, w        int
		align, half bool
	}{
		{"rb_align", "ResizeBilinear", 7, 5, true, false}, {"rb_half", "ResizeBilinear", 7, 5, false, true},
		{"rb_plain", "ResizeBilinear", 3, 6, false, false}, {"rb_down", "ResizeBilinear", 3, 3, true, false},
		{"rn_align", "ResizeNearestNeighbor", 7, 5, true, false}, {"rn_half", "ResizeNearestNeighbor", 3, 6, false, true},
		{"rn_plain", "ResizeNearestNeighbor", 7, 5, false, false}, {"rn_down", "ResizeNearestNeighbor", 3, 3, false, true},
	} {
		g.outputs = append(g.outputs, g.node(r.name, r.op, map[string]any{"T": T, "align_corners": aB(r.align), "half_pixel_centers": aB(r.half)},
			sum, g.ints(r.name+"_size", []int{2}, r.h, r.w)))
	}
	return g
}

// TestSyntheticGraphParity compares the importer with TF.js (cpu backend)
// on a graph model that uses every translated op, attributes of each
// (padding modes, dilations, masks, fused activations) and the three
// weight storages.
func TestSyntheticGraphParity(t *testing.T) {
	dir := t.TempDir()
	sg := synthGraph()
	sg.write(t, dir)
	storage := map[string]int{}
	for _, s := range sg.specs {
		if q, ok := s["quantization"].(map[string]any); ok {
			storage[q["dtype"].(string)]++
		} else {
			storage[s["dtype"].(string)]++
		}
	}
	if len(storage) != 5 {
		t.Errorf("weight storages %v: want float32, int32, uint8, uint16 and float16", storage)
	}
	m, ts, err := Import(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Output != "probabilities" || !core.Shape(m.Input.Shape).Equal(core.Shape{1, 9, 8, 3}) {
		t.Errorf("output %q, input %+v", m.Output, m.Input)
	}
	b := cpu.New()
	g, err := graph.New(b, m.Graph, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	const batch = 2
	rng := core.NewRNG(5)
	in := make([]float32, batch*9*8*3)
	for i := range in {
		in[i] = rng.Float32()
	}
	x, err := core.FromData(b, core.Shape{batch, 9, 8, 3}, in)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := g.Run(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	node, _ := reference(t)
	want, shapes := runTFJSWith(t, node, "cpu", filepath.Join(dir, "model.json"), in, []int{batch, 9, 8, 3}, sg.outputs)
	if len(ys) != len(sg.outputs) || len(shapes) != len(ys) {
		t.Fatalf("%d outputs, TF.js %d, want %d", len(ys), len(shapes), len(sg.outputs))
	}
	off := 0
	for i, y := range ys {
		got, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !y.Shape().Equal(core.Shape(shapes[i])) {
			t.Errorf("output %s: shape %v, TF.js %v", sg.outputs[i], y.Shape(), shapes[i])
			off += core.Shape(shapes[i]).Size()
			continue
		}
		w := want[off : off+len(got)]
		off += len(got)
		worst := 0.0 // |diff| relative to max(1, |value|)
		for j := range got {
			worst = max(worst, math.Abs(float64(got[j]-w[j]))/max(1, math.Abs(float64(w[j]))))
		}
		t.Logf("output %-8s %v: max relative |diff| %.3g", sg.outputs[i], y.Shape(), worst)
		if testing.Verbose() {
			t.Logf("go %v", got[:min(len(got), 12)])
		}
		if worst > 1e-5 || math.IsNaN(worst) {
			t.Errorf("output %s: max relative |diff| %.3g > 1e-5\ngo   %v\ntfjs %v", sg.outputs[i], worst, got, w)
		}
	}
}

// TestGraphImportErrors checks that graph models the importer cannot
// translate are refused with errors naming the file, the node, the op and
// what is wrong.
func TestGraphImportErrors(t *testing.T) {
	dir := t.TempDir()
	synthGraph().write(t, dir)
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	node := func(m map[string]any, name string) map[string]any {
		for _, n := range m["modelTopology"].(map[string]any)["node"].([]any) {
			if n := n.(map[string]any); n["name"] == name {
				return n
			}
		}
		panic("no node " + name)
	}
	attr := func(m map[string]any, name string) map[string]any { return node(m, name)["attr"].(map[string]any) }
	cases := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"unknown op", func(m map[string]any) { node(m, "sg")["op"] = "Selu" },
			`tfjs: model.json: node "sg" (op Selu): op Selu is not supported by the TF.js graph-model importer (it supports Abs, Add, AddV2, AvgPool, BatchMatMul, BatchMatMulV2, BiasAdd,`},
		{"unknown op advice", func(m map[string]any) { node(m, "sg")["op"] = "Selu" }, "re-export the model without it, or convert the source model to ONNX and import that with --from onnx"},
		{"channels first", func(m map[string]any) { attr(m, "ca")["data_format"] = aS("NCHW") }, `node "ca" (op _FusedConv2D): data_format NCHW`},
		{"fused batch norm", func(m map[string]any) { attr(m, "ca")["fused_ops"] = aStrs("FusedBatchNorm", "Relu") }, `node "ca" (op _FusedConv2D): fused_ops [FusedBatchNorm Relu]`},
		{"fused selu", func(m map[string]any) { attr(m, "ca")["fused_ops"] = aStrs("BiasAdd", "Selu") }, `node "ca" (op _FusedConv2D): fused activation Selu: the importer supports Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Prelu`},
		{"prelu without slopes", func(m map[string]any) { attr(m, "ca")["fused_ops"] = aStrs("BiasAdd", "Prelu") }, `fused_ops [BiasAdd Prelu] with 3 inputs, want 4`},
		{"bad padding", func(m map[string]any) { attr(m, "p2")["padding"] = aS("FULL") }, `node "p2" (op AvgPool): padding "FULL"`},
		{"constant product", func(m map[string]any) { node(m, "mm")["input"] = []any{"mm_w", "mm_w"} }, `node "mm" (op MatMul): both operands are constants ("mm_w", "mm_w")`},
		{"product shapes", func(m map[string]any) { node(m, "bmm")["input"] = []any{"sum", "m"} }, `node "bmm" (op BatchMatMulV2): operands [-1 4 4 8] and [16 -1]: inner extents 8 and 16 differ`},
		{"cycle", func(m map[string]any) { node(m, "scaled")["input"] = []any{"two", "centred"} }, "is on a cycle of the graph"},
		{"dangling", func(m map[string]any) { node(m, "sg")["input"] = []any{"nowhere"} }, `node "sg" (op Sigmoid): input "nowhere" names no node of the graph`},
		{"second output", func(m map[string]any) { node(m, "sg")["input"] = []any{"cv_bias:1"} }, `input "cv_bias:1": only output 0`},
		{"missing weight", func(m map[string]any) { renameWeight(m, "ca_w", "other") }, `node "ca_w" (op Const): its value is not in the weights manifest`},
		{"strided value", func(m map[string]any) { node(m, "ss")["input"].([]any)[3] = "ss3_b" }, `node "ss" (op StridedSlice): stride 0 on axis 0`},
		{"stride 2", func(m map[string]any) { node(m, "ss3")["input"].([]any)[3] = "mp_p" }, `node "ss3" (op StridedSlice): begin`},
		{"mirror too wide", func(m map[string]any) { node(m, "mp")["input"].([]any)[0] = "rmin" }, `node "mp" (op MirrorPad): REFLECT padding 2, 1 of axis 1 (extent 1): want at most 0`},
		{"reflect too wide", func(m map[string]any) { attr(m, "ms")["mode"] = aS("EDGE") }, `node "ms" (op MirrorPad): mode "EDGE"`},
		{"resize modes", func(m map[string]any) { attr(m, "rb_half")["align_corners"] = aB(true) }, `node "rb_half" (op ResizeBilinear): align_corners and half_pixel_centers together`},
		{"resize size", func(m map[string]any) { node(m, "rb_half")["input"].([]any)[1] = "ss_b" }, `node "rb_half" (op ResizeBilinear): images [-1 4 4 8], size [0 1 0 2]: want NHWC images and [height, width]`},
		{"computed input", func(m map[string]any) { node(m, "cv")["input"] = []any{"cv_w", "cv_w"} }, `node "cv" (op Conv2D): the input is the constant "cv_w"`},
		{"unknown format", func(m map[string]any) { m["format"] = "saved-model" }, `model.json is a "saved-model" (want a layers-model or a graph-model)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(mj, &m); err != nil {
				t.Fatal(err)
			}
			c.edit(m)
			b, _ := json.Marshal(m)
			_, _, err := ImportFS(fstest.MapFS{"model.json": {Data: b}, "group1-shard1of1.bin": {Data: shard}}, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}

// TestBareWeightsManifest checks the error for a weights manifest without
// topology (@vladmandic/face-api ships its models so), given as the file
// or as the directory that holds it.
func TestBareWeightsManifest(t *testing.T) {
	manifest := []byte(`[{"paths": ["face_model.bin"], "weights": [{"name": "conv/filters", "shape": [3, 3, 3, 8], "dtype": "float32"}]}]`)
	for _, c := range []struct{ file, want string }{
		{"model.json", "model.json is a bare weights manifest (a list of weight groups, as @vladmandic/face-api ships): it has no model topology to convert; the importer needs a model.json with a modelTopology"},
		{"face_model-weights_manifest.json", "only face_model-weights_manifest.json: a bare weights manifest has no model topology to convert; the importer needs a model.json with a modelTopology"},
	} {
		_, _, err := ImportFS(fstest.MapFS{c.file: {Data: manifest}, "face_model.bin": {Data: make([]byte, 864)}}, "")
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\nwant %q", c.file, err, c.want)
		}
	}
}

// FuzzGraphModelJSON feeds arbitrary graph-model JSON (with the synthetic
// graph's shard) to the importer: it must not panic, and what it accepts
// must build as a graph and plan on its input.
func FuzzGraphModelJSON(f *testing.F) {
	dir := f.TempDir()
	synthGraph().write(f, dir)
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	f.Add(mj)
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"-1"},{"size":"4"}]}}}},{"name":"r","op":"Relu","input":["x"]}]}}`))
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"2"}]}}}},{"name":"s","op":"StridedSlice","input":["x","b","b","b"],"attr":{"shrink_axis_mask":{"i":"1"},"ellipsis_mask":{"i":"2"}}},{"name":"b","op":"Const","input":["^x"]}]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"b","shape":[2],"dtype":"int32"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"model.json": {Data: data}, "group1-shard1of1.bin": {Data: shard}}
		m, ts, err := ImportFS(fsys, "")
		if err != nil {
			return
		}
		g, err := graph.New(cpu.New(), m.Graph, ts)
		if err != nil {
			t.Fatalf("imported graph does not build: %v\n%s", err, m.Graph)
		}
		g.Free()
	})
}

// TestGraphInputSize converts the synthetic graph with a dynamic input
// size: refused with a hint at --input-size, then fixed by Options to
// the same graph as the model whose input is 9x8; a fixed input refuses
// another size.
func TestGraphInputSize(t *testing.T) {
	dir := t.TempDir()
	sg := synthGraph()
	sg.write(t, dir)
	fixed, _, err := Import(dir)
	if err != nil {
		t.Fatal(err)
	}
	dyn := t.TempDir()
	sg.nodes[0]["attr"].(map[string]any)["shape"] = map[string]any{"shape": dims([]int{-1, -1, -1, 3})}
	sg.write(t, dyn)
	if _, _, err := Import(dyn); err == nil || !strings.Contains(err.Error(), "the model's input size is dynamic: fix it with the converter's --input-size") {
		t.Errorf("dynamic size without options: %v", err)
	}
	m, _, err := ImportWith(dyn, Options{Height: 9, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Graph) != string(fixed.Graph) || !slices.Equal(m.Input.Shape, fixed.Input.Shape) {
		t.Errorf("dynamic input fixed at 9x8: the graph or input %v differs from the fixed model's %v", m.Input.Shape, fixed.Input.Shape)
	}
	if _, _, err := ImportWith(dir, Options{Height: 10, Width: 8}); err == nil || !strings.Contains(err.Error(), `node "in" (op Placeholder): input size 10x8 asked for, but the input is fixed at [-1 9 8 3]`) {
		t.Errorf("fixed input, another size: %v", err)
	}
}
