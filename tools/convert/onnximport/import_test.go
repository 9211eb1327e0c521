package onnximport

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// caseModel builds op case name as an ONNX file.
func caseModel(t testing.TB, name string) []byte {
	t.Helper()
	for i, c := range opCases {
		if c.name != name {
			continue
		}
		b := &builder{rng: rand.New(rand.NewPCG(uint64(i), 7))}
		out := c.graph(b)
		in := c.in
		if in == nil {
			in = []int64{2, 3, 7, 6}
		}
		return (&onnx.Model{IRVersion: onnx.IRVersion, OpsetImport: []onnx.OperatorSetID{{Version: c.opset}}, Graph: &onnx.Graph{
			Name: "case", Node: b.nodes, Initializer: b.inits,
			Input:  []*onnx.ValueInfo{onnx.TensorInfo("x", in...)},
			Output: []*onnx.ValueInfo{{Name: out}},
		}}).Marshal()
	}
	t.Fatalf("no op case %q", name)
	return nil
}

// opList is the imported graph's ops, with a conv's or dense layer's
// fused activation after a colon.
func opList(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	s, err := graph.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range s.Nodes {
		op := n.Op
		var a struct {
			Act *graph.Act `json:"act"`
			Op  string     `json:"op"`
		}
		_ = json.Unmarshal(n.Attrs, &a)
		switch {
		case a.Act != nil:
			op += ":" + a.Act.Op
		case n.Op == "act":
			op += ":" + a.Op
		}
		ops = append(ops, op)
	}
	return ops
}

// TestLowering checks what the op cases become: layouts converted only
// where ONNX semantics need it, and the fusions.
func TestLowering(t *testing.T) {
	for _, c := range []struct {
		name string
		ops  []string
	}{
		{"conv batchnorm relu (folded)", []string{"conv:relu"}},
		{"conv bias [C,1,1] clip 0..6 (opset 11 inputs)", []string{"conv:relu6"}},
		{"hard swish as Add Clip Mul Div", []string{"conv:hard_swish"}},
		{"HardSwish and HardSigmoid ops", []string{"act:affine", "act:hard_swish", "act:affine", "act:clip", "act:affine", "act:hard_sigmoid"}},
		{"batchnorm of the input", []string{"batch_norm"}},
		// HardSigmoid(0.2, 0.5) = clip(0.2x + 0.5, 0, 1): the affine part folds into the conv.
		{"residual and squeeze-excite", []string{"conv", "global_avg_pool", "conv:relu", "conv:clip", "mul", "conv", "add"}},
		// NCHW flatten order: one transpose before the flatten.
		{"conv flatten matmul add (NCHW order)", []string{"conv", "transpose", "flatten", "dense"}},
		{"conv reshape gemm softmax", []string{"conv", "transpose", "reshape", "dense", "softmax"}},
		// [N, C, 1, 1] is the same memory in both layouts: a free view.
		{"squeeze unsqueeze (axes inputs)", []string{"global_avg_pool", "reshape", "dense", "reshape", "conv", "reshape"}},
		// The transposes of a TF export cancel the layout change.
		{"NHWC input transposed (TF export)", []string{"conv:relu"}},
		{"view(x.size(0), -1) via Shape Gather Concat", []string{"conv", "transpose", "reshape", "dense"}},
		{"constant nodes, identity, dropout", []string{"conv"}},
	} {
		m, _, err := Import(caseModel(t, c.name), "case")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := opList(t, m.Graph); !slices.Equal(got, c.ops) {
			t.Errorf("%s: ops %v, want %v", c.name, got, c.ops)
		}
	}
}

// TestErrors checks that what the runtime cannot run is an error naming
// the node and op type.
func TestErrors(t *testing.T) {
	conv := func(mut func(g *onnx.Graph)) []byte {
		w := onnx.FloatTensor("w", []int64{2, 1, 1, 1}, []float32{1, 2})
		g := &onnx.Graph{
			Node:        []*onnx.Node{{Name: "c", OpType: "Conv", Input: []string{"x", "w"}, Output: []string{"y"}}},
			Initializer: []*onnx.Tensor{w},
			Input:       []*onnx.ValueInfo{onnx.TensorInfo("x", 1, 1, 4, 4)},
			Output:      []*onnx.ValueInfo{{Name: "y"}},
		}
		mut(g)
		return (&onnx.Model{IRVersion: 8, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: g}).Marshal()
	}
	for _, c := range []struct {
		name  string
		model []byte
		want  string
		is    error
	}{
		{"unknown op", conv(func(g *onnx.Graph) {
			g.Node = append(g.Node, &onnx.Node{Name: "fl1", OpType: "Erf", Input: []string{"y"}, Output: []string{"z"}})
			g.Output[0].Name = "z"
		}), `node "fl1": op Erf`, ErrUnsupported},
		{"other domain", conv(func(g *onnx.Graph) { g.Node[0].Domain = "com.microsoft" }), `node "c": op Conv of domain "com.microsoft"`, ErrUnsupported},
		{"weights computed at run time", conv(func(g *onnx.Graph) {
			g.Node = append([]*onnx.Node{{Name: "r", OpType: "Relu", Input: []string{"x"}, Output: []string{"xr"}}}, g.Node...)
			g.Node[1].Input[1] = "xr"
		}), `node "c" (Conv): ` + "onnx import: unsupported: input 1", ErrUnsupported},
		{"integer input", conv(func(g *onnx.Graph) {
			in := onnx.TensorInfo("x2", 1, 4)
			in.Type.Tensor.ElemType = onnx.Int64
			g.Input = append(g.Input, in)
		}), `input "x2" has element type 7`, ErrUnsupported},
		{"undefined input", conv(func(g *onnx.Graph) { g.Node[0].Input[0] = "nope" }), `node "c" (Conv): input 0 "nope" is not defined`, nil},
		{"group mismatch", conv(func(g *onnx.Graph) { g.Node[0].Attribute = []*onnx.Attribute{onnx.IntAttr("group", 3)} }), `node "c" (Conv): group 3`, nil},
		{"empty slice", conv(func(g *onnx.Graph) {
			g.Node = append(g.Node, &onnx.Node{Name: "s", OpType: "Slice", Input: []string{"y", "st", "en", "ax", "sp"}, Output: []string{"z"}})
			g.Initializer = append(g.Initializer, onnx.Int64Tensor("st", []int64{1}, []int64{1000}), onnx.Int64Tensor("en", []int64{1}, []int64{2000}),
				onnx.Int64Tensor("ax", []int64{1}, []int64{2}), onnx.Int64Tensor("sp", []int64{1}, []int64{2}))
			g.Output[0].Name = "z"
		}), `node "s" (Slice): onnx import: unsupported: slice [1000, 2000) step 2 of axis 2 keeps nothing`, ErrUnsupported},
		{"bad weights", conv(func(g *onnx.Graph) { g.Initializer[0].RawData = g.Initializer[0].RawData[:5] }), `input 1 "w": onnx: tensor "w": 5 raw bytes`, nil},
		{"no graph", (&onnx.Model{IRVersion: 8}).Marshal(), "no graph", nil},
		{"not protobuf", []byte("\xff\xff\xff"), "onnx import", nil},
	} {
		_, _, err := Import(c.model, "bad")
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: error %v, want one containing %q (is %v)", c.name, err, c.want, c.is)
		}
	}
}
