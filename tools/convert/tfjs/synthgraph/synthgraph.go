// Package synthgraph writes TF.js graph models (model.json with a
// GraphDef, weights in a shard) for tests: a Builder of nodes, constants
// in every storage the weights manifest has (float32, int32, and float32
// quantized to uint8, uint16 or float16), and Synth, a model that uses
// every op tools/convert/tfjs translates. tools/convert/tfjs holds the
// importer to TF.js with it; webgpu/bench prepares it for the browser.
package synthgraph

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"webcnn/core"
	"webcnn/core/weights"
)

// Builder writes a TF.js graph model (GraphDef JSON as the TF.js
// converter writes it, weights in one shard).
type Builder struct {
	rng     *core.RNG
	Nodes   []map[string]any // NodeDefs, in the order added
	Specs   []map[string]any // the weights manifest's entries
	Shard   []byte           // the weights
	Outputs []string         // the signature's outputs, in order
}

// New returns an empty builder whose random constants come from seed.
func New(seed uint64) *Builder { return &Builder{rng: core.NewRNG(seed)} }

// Node adds a node; attrs are AttrValue JSON objects.
func (g *Builder) Node(name, op string, attrs map[string]any, inputs ...string) string {
	if attrs == nil {
		attrs = map[string]any{}
	}
	n := map[string]any{"name": name, "op": op, "attr": attrs}
	if len(inputs) > 0 {
		n["input"] = inputs
	}
	g.Nodes = append(g.Nodes, n)
	return name
}

// Attribute values in protobuf's JSON mapping.
func S(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func I(i int) map[string]any     { return map[string]any{"i": strconv.Itoa(i)} }
func F(f float64) map[string]any { return map[string]any{"f": f} }
func B(b bool) map[string]any    { return map[string]any{"b": b} }
func T() map[string]any          { return map[string]any{"type": "DT_FLOAT"} }
func IntList(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func StrList(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

// Dims is a tensorShape.
func Dims(shape []int) map[string]any {
	d := make([]any, len(shape))
	for i, x := range shape {
		d[i] = map[string]any{"size": strconv.Itoa(x)}
	}
	return map[string]any{"dim": d}
}

// Input adds a Placeholder.
func (g *Builder) Input(name string, shape ...int) string {
	return g.Node(name, "Placeholder", map[string]any{"dtype": T(), "shape": map[string]any{"shape": Dims(shape)}})
}

// Const adds a float32 Const with the given values, stored in turn as
// float32, uint8, float16 and uint16 (as the TF.js converter's
// quantization does).
func (g *Builder) Const(name string, shape []int, v []float32) string {
	shape = append([]int{}, shape...) // a scalar is [], not null
	spec := map[string]any{"name": name, "shape": shape, "dtype": "float32"}
	switch len(g.Specs) % 4 {
	case 0:
		for _, x := range v {
			g.Shard = binary.LittleEndian.AppendUint32(g.Shard, math.Float32bits(x))
		}
	case 1, 3:
		levels, dtype := 255.0, "uint8"
		if len(g.Specs)%4 == 3 {
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
				g.Shard = append(g.Shard, byte(q))
			} else {
				g.Shard = binary.LittleEndian.AppendUint16(g.Shard, uint16(q))
			}
		}
		spec["quantization"] = map[string]any{"dtype": dtype, "scale": scale, "min": lo}
	case 2:
		for _, x := range v {
			g.Shard = binary.LittleEndian.AppendUint16(g.Shard, weights.F32ToF16(x))
		}
		spec["quantization"] = map[string]any{"dtype": "float16"}
	}
	g.Specs = append(g.Specs, spec)
	return g.Node(name, "Const", map[string]any{"dtype": T(),
		"value": map[string]any{"tensor": map[string]any{"dtype": "DT_FLOAT", "tensorShape": Dims(shape)}}})
}

// Random adds a Const of normal values (positive: |v| + 0.2).
func (g *Builder) Random(name string, positive bool, shape ...int) string {
	v := make([]float32, core.Shape(shape).Size())
	for i := range v {
		v[i] = g.rng.NormFloat32() * 0.5
		if positive {
			v[i] = float32(math.Abs(float64(v[i]))) + 0.2
		}
	}
	return g.Const(name, shape, v)
}

// Ints adds an int32 Const.
func (g *Builder) Ints(name string, shape []int, v ...int) string {
	shape = append([]int{}, shape...)
	for _, x := range v {
		g.Shard = binary.LittleEndian.AppendUint32(g.Shard, uint32(int32(x)))
	}
	g.Specs = append(g.Specs, map[string]any{"name": name, "shape": shape, "dtype": "int32"})
	return g.Node(name, "Const", map[string]any{"dtype": map[string]any{"type": "DT_INT32"},
		"value": map[string]any{"tensor": map[string]any{"dtype": "DT_INT32", "tensorShape": Dims(shape)}}})
}

// Write writes model.json and the shard into dir; the nodes are listed
// in reverse order (the importer sorts them, TF.js needs no order).
func (g *Builder) Write(dir string) error {
	nodes := slices.Clone(g.Nodes)
	slices.Reverse(nodes)
	outs := "{" // in order: the first output is the model's
	for i, o := range g.Outputs {
		if i > 0 {
			outs += ","
		}
		outs += strconv.Quote(o+":0") + `:{"name":` + strconv.Quote(o+":0") + `,"dtype":"DT_FLOAT"}`
	}
	outs += "}"
	model := map[string]any{
		"format": "graph-model", "generatedBy": "synthgraph", "convertedBy": "synthgraph",
		"signature":       map[string]any{"outputs": json.RawMessage(outs)},
		"modelTopology":   map[string]any{"node": nodes, "versions": map[string]any{"producer": 1}},
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": g.Specs}},
	}
	js, err := json.MarshalIndent(model, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), js, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), g.Shard, 0o644)
}

// Synth builds a graph model with every op the importer translates, and
// attributes of each, on an input [N, 9, 8, 3] in 0..1; its outputs are
// listed in Outputs.
func Synth() *Builder {
	g := New(17)
	tf32 := T()
	nhwc := S("NHWC")
	in := g.Input("in", -1, 9, 8, 3)
	g.Node("init", "NoOp", nil, "^in")
	two := g.Const("two", nil, []float32{2})
	one := g.Const("one", nil, []float32{1})
	x := g.Node("scaled", "Mul", map[string]any{"T": tf32}, two, in)
	x = g.Node("centred", "Sub", map[string]any{"T": tf32}, x, one)

	conv := func(name, op string, x, w, b string, strides, dil []int, pad string, fused []string, extra map[string]any) string {
		a := map[string]any{"T": tf32, "data_format": nhwc, "strides": IntList(strides...), "dilations": IntList(dil...), "padding": S(pad)}
		if fused != nil {
			a["fused_ops"] = StrList(fused...)
			a["num_args"] = I(1)
		}
		for k, v := range extra {
			a[k] = v
		}
		if b == "" {
			return g.Node(name, op, a, x, w)
		}
		return g.Node(name, op, a, x, w, b)
	}
	// [N,5,4,4]: SAME, stride 2, bias and ReLU fused.
	ca := conv("ca", "_FusedConv2D", x, g.Random("ca_w", false, 3, 3, 3, 4), g.Random("ca_b", false, 4),
		[]int{1, 2, 2, 1}, []int{1, 1, 1, 1}, "SAME", []string{"BiasAdd", "Relu"}, nil)
	// [N,8,8,4]: explicit padding, dilation 2 on the height, LeakyReLU 0.3.
	cb := conv("cb", "_FusedConv2D", x, g.Random("cb_w", false, 2, 3, 3, 4), g.Random("cb_b", false, 4),
		[]int{1, 1, 1, 1}, []int{1, 2, 1, 1}, "EXPLICIT", []string{"BiasAdd", "LeakyRelu"},
		map[string]any{"explicit_paddings": IntList(0, 0, 1, 0, 0, 2, 0, 0), "leakyrelu_alpha": F(0.3)})
	// [N,6,6,8]: depthwise, multiplier 2, VALID, ReLU6.
	da := conv("da", "FusedDepthwiseConv2dNative", cb, g.Random("da_w", false, 3, 3, 4, 2), g.Random("da_b", false, 8),
		[]int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "VALID", []string{"BiasAdd", "Relu6"}, nil)
	// [N,4,4,4]: plain depthwise, SAME, stride 2, then BiasAdd and Elu.
	db := conv("db", "DepthwiseConv2dNative", cb, g.Random("db_w", false, 3, 3, 4, 1), "",
		[]int{1, 2, 2, 1}, []int{1, 1, 1, 1}, "SAME", nil, nil)
	db = g.Node("db_bias", "BiasAdd", map[string]any{"T": tf32, "data_format": nhwc}, db, g.Random("db_b", false, 4))
	db = g.Node("db_elu", "Elu", map[string]any{"T": tf32}, db)
	// [N,3,3,8] and [N,4,4,4].
	p1 := g.Node("p1", "MaxPool", map[string]any{"T": tf32, "data_format": nhwc, "ksize": IntList(1, 2, 2, 1), "strides": IntList(1, 2, 2, 1), "padding": S("VALID")}, da)
	p2 := g.Node("p2", "AvgPool", map[string]any{"T": tf32, "data_format": nhwc, "ksize": IntList(1, 3, 3, 1), "strides": IntList(1, 1, 1, 1), "padding": S("SAME")}, db)
	// [N,4,4,8]: plain 1x1 conv, BiasAdd, sigmoid.
	cv := conv("cv", "Conv2D", p2, g.Random("cv_w", false, 1, 1, 4, 8), "", []int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "VALID", nil, nil)
	cv = g.Node("cv_bias", "BiasAdd", map[string]any{"T": tf32, "data_format": nhwc}, cv, g.Random("cv_b", false, 8))
	sg := g.Node("sg", "Sigmoid", map[string]any{"T": tf32}, cv)
	// [N,4,4,4]: PReLU fused (num_args 2: bias, slopes), then a plain Prelu.
	pr := conv("pr", "_FusedConv2D", p2, g.Random("pr_w", false, 3, 3, 4, 4), g.Random("pr_b", false, 4),
		[]int{1, 1, 1, 1}, []int{1, 1, 1, 1}, "SAME", []string{"BiasAdd", "Prelu"}, map[string]any{"num_args": I(2)})
	g.Nodes[len(g.Nodes)-1]["input"] = append(g.Nodes[len(g.Nodes)-1]["input"].([]string), g.Random("pr_a", false, 4))
	pr = g.Node("pr2", "Prelu", map[string]any{"T": tf32}, pr, g.Random("pr2_a", false, 4, 4, 4))
	pd := g.Node("pd", "Pad", map[string]any{"T": tf32}, p1, g.Ints("pd_p", []int{4, 2}, 0, 0, 1, 0, 0, 1, 0, 0))
	mx := g.Node("mx", "Maximum", map[string]any{"T": tf32}, sg, g.Random("mx_c", false, 8))
	mn := g.Node("mn", "Minimum", map[string]any{"T": tf32}, pd, g.Random("mn_c", false, 1, 1, 1, 8))
	sum := g.Node("sum", "AddV2", map[string]any{"T": tf32}, mx, mn)
	// [N,7,7,8], [N,5,5,8] -> [N,7,7,8] and a batch norm.
	mp := g.Node("mp", "MirrorPad", map[string]any{"T": tf32, "mode": S("REFLECT")}, sum, g.Ints("mp_p", []int{4, 2}, 0, 0, 2, 1, 1, 2, 0, 0))
	ms := g.Node("ms", "MirrorPad", map[string]any{"T": tf32, "mode": S("SYMMETRIC")}, sum, g.Ints("ms_p", []int{4, 2}, 0, 0, 1, 0, 0, 1, 0, 0))
	pv := g.Node("pv", "PadV2", map[string]any{"T": tf32}, ms, g.Ints("pv_p", []int{4, 2}, 0, 0, 1, 1, 1, 1, 0, 0), g.Const("pv_v", nil, []float32{0.5}))
	bn := g.Node("bn", "FusedBatchNormV3", map[string]any{"T": tf32, "data_format": nhwc, "epsilon": F(0.001), "is_training": B(false)},
		pv, g.Random("bn_g", false, 8), g.Random("bn_b", false, 8), g.Random("bn_m", false, 8), g.Random("bn_v", true, 8))
	cat := g.Node("cat", "ConcatV2", map[string]any{"T": tf32, "N": I(2)}, mp, bn, g.Ints("cat_axis", nil, -1)) // [N,7,7,16]
	// x[:, 1:6, :, 2:14] -> [N,5,7,12]; [..., 3] -> [N,5,7]; [:, newaxis, 1:4, :] -> [N,1,3,7].
	ss := g.Node("ss", "StridedSlice", map[string]any{"T": tf32, "begin_mask": I(5), "end_mask": I(5)}, cat,
		g.Ints("ss_b", []int{4}, 0, 1, 0, 2), g.Ints("ss_e", []int{4}, 0, 6, 0, 14), g.Ints("ss_s", []int{4}, 1, 1, 1, 1))
	ss = g.Node("ss2", "StridedSlice", map[string]any{"T": tf32, "ellipsis_mask": I(1), "shrink_axis_mask": I(2)}, ss,
		g.Ints("ss2_b", []int{2}, 0, 3), g.Ints("ss2_e", []int{2}, 0, 4), g.Ints("ss2_s", []int{2}, 1, 1))
	ss = g.Node("ss3", "StridedSlice", map[string]any{"T": tf32, "begin_mask": I(9), "end_mask": I(9), "new_axis_mask": I(2)}, ss,
		g.Ints("ss3_b", []int{4}, 0, 0, 1, 0), g.Ints("ss3_e", []int{4}, 0, 0, 4, 0), g.Ints("ss3_s", []int{4}, 1, 1, 1, 1))
	sq := g.Node("sq", "Squeeze", map[string]any{"T": tf32, "squeeze_dims": IntList(1)}, ss)             // [N,3,7]
	ed := g.Node("ed", "ExpandDims", map[string]any{"T": tf32}, sq, g.Ints("ed_axis", nil, -1))          // [N,3,7,1]
	tr := g.Node("tr", "Transpose", map[string]any{"T": tf32}, ed, g.Ints("tr_p", []int{4}, 0, 2, 1, 3)) // [N,7,3,1]
	// Elementwise functions: log(exp(-sqrt(|x|)) + 1), squared, reciprocal of (1 + that), rsqrt, tanh, relu.
	u := g.Node("u_abs", "Abs", map[string]any{"T": tf32}, tr)
	u = g.Node("u_sqrt", "Sqrt", map[string]any{"T": tf32}, u)
	u = g.Node("u_neg", "Neg", map[string]any{"T": tf32}, u)
	u = g.Node("u_exp", "Exp", map[string]any{"T": tf32}, u)
	u = g.Node("u_add", "AddV2", map[string]any{"T": tf32}, u, one)
	u = g.Node("u_log", "Log", map[string]any{"T": tf32}, u)
	u = g.Node("u_sq", "Square", map[string]any{"T": tf32}, u)
	u = g.Node("u_plus", "Add", map[string]any{"T": tf32}, one, u)
	u = g.Node("u_rcp", "Reciprocal", map[string]any{"T": tf32}, u)
	u = g.Node("u_rsqrt", "Rsqrt", map[string]any{"T": tf32}, u)
	u = g.Node("u_tanh", "Tanh", map[string]any{"T": tf32}, u)
	u = g.Node("u_relu", "Relu", map[string]any{"T": tf32}, u)
	u = g.Node("u_div", "RealDiv", map[string]any{"T": tf32}, u, g.Const("three", nil, []float32{3}))
	u = g.Node("u_rsub", "Sub", map[string]any{"T": tf32}, one, u)
	// A reshape whose shape is folded at import: concat([-1], [3*7]) -> [N,21].
	shape := g.Node("shape", "ConcatV2", map[string]any{"T": map[string]any{"type": "DT_INT32"}, "N": I(2)},
		g.Ints("shape_a", []int{1}, -1), g.Node("shape_b", "StridedSlice", map[string]any{"shrink_axis_mask": I(0)},
			g.Ints("shape_all", []int{3}, 5, 21, 9), g.Ints("sb_b", []int{1}, 1), g.Ints("sb_e", []int{1}, 2), g.Ints("sb_s", []int{1}, 1)),
		g.Ints("shape_axis", nil, 0))
	flat := g.Node("flat", "Reshape", map[string]any{"T": tf32}, u, shape)
	g.Node("out_flat", "Identity", map[string]any{"T": tf32}, flat)
	// Reductions, then dense layers: [N,16] -> [N,5].
	m := g.Node("m", "Mean", map[string]any{"T": tf32, "keep_dims": B(false)}, cat, g.Ints("m_axes", []int{2}, 1, 2))
	rmax := g.Node("rmax", "Max", map[string]any{"T": tf32, "keep_dims": B(true)}, cat, g.Ints("rmax_axes", nil, -1))          // [N,7,7,1]
	rsum := g.Node("rsum", "Sum", map[string]any{"T": tf32, "keep_dims": B(false)}, rmax, g.Ints("rsum_axes", []int{2}, 1, 2)) // [N,1]
	rmin := g.Node("rmin", "Min", map[string]any{"T": tf32, "keep_dims": B(true)}, sg, g.Ints("rmin_axes", []int{2}, 1, 2))
	fm := g.Node("fm", "_FusedMatMul", map[string]any{"T": tf32, "transpose_a": B(false), "transpose_b": B(true),
		"fused_ops": StrList("BiasAdd", "Sigmoid"), "num_args": I(1)}, m, g.Random("fm_w", false, 5, 16), g.Random("fm_b", false, 5))
	mm := g.Node("mm", "MatMul", map[string]any{"T": tf32, "transpose_a": B(false), "transpose_b": B(false)}, m, g.Random("mm_w", false, 16, 5))
	mm = g.Node("mm_bias", "BiasAdd", map[string]any{"T": tf32}, mm, g.Random("mm_b", false, 5))
	logits := g.Node("logits", "AddV2", map[string]any{"T": tf32}, fm, mm)
	rsum = g.Node("rsum_scaled", "RealDiv", map[string]any{"T": tf32}, rsum, g.Const("hundred", nil, []float32{100}))
	logits = g.Node("logits_sum", "Mul", map[string]any{"T": tf32}, logits, rsum)
	sm := g.Node("sm", "Softmax", map[string]any{"T": tf32}, logits)
	g.Node("probs", "Identity", map[string]any{"T": tf32}, sm, "^init")
	lsm := g.Node("lsm", "LogSoftmax", map[string]any{"T": tf32}, logits)
	g.Outputs = []string{"probs", lsm, "out_flat", rmin, ca, sum, pr}
	// Matrix products of values: sum sum^T [N,4,4,4], m^T m [16,16] (over
	// the batch), a constant [4,4] times sum [N,4,4,8], sum times a
	// constant [3,8]^T [N,4,4,3] (a dense layer).
	g.Outputs = append(g.Outputs,
		g.Node("bmm", "BatchMatMulV2", map[string]any{"T": tf32, "adj_x": B(false), "adj_y": B(true)}, sum, sum),
		g.Node("mtm", "MatMul", map[string]any{"T": tf32, "transpose_a": B(true), "transpose_b": B(false)}, m, m),
		g.Node("cbm", "BatchMatMulV2", map[string]any{"T": tf32}, g.Random("cbm_a", false, 4, 4), sum),
		g.Node("bdense", "BatchMatMulV2", map[string]any{"T": tf32, "adj_y": B(true)}, sum, g.Random("bdense_b", false, 3, 8)))
	// A fused product of two values: relu(m (m^T m) + bias), [N,16].
	g.Outputs = append(g.Outputs, g.Node("fvv", "_FusedMatMul", map[string]any{"T": tf32, "transpose_a": B(false), "transpose_b": B(false),
		"fused_ops": StrList("BiasAdd", "Relu"), "num_args": I(1)}, m, "mtm", g.Random("fvv_b", false, 16)))
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
		g.Outputs = append(g.Outputs, g.Node(r.name, r.op, map[string]any{"T": tf32, "align_corners": B(r.align), "half_pixel_centers": B(r.half)},
			sum, g.Ints(r.name+"_size", []int{2}, r.h, r.w)))
	}
	return g
}
