package onnximport

import (
	"math"
	"slices"
	"testing"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/tools/convert/onnx"
)

// runOne imports a one-node model on input x (dims xd) in ONNX's layout
// and returns its output.
func runOne(t *testing.T, node *onnx.Node, xd []int64, x []float32) []float32 {
	t.Helper()
	m := &onnx.Model{IRVersion: 8, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name: "g", Node: []*onnx.Node{node},
		Input: []*onnx.ValueInfo{onnx.TensorInfo("x", xd...)}, Output: []*onnx.ValueInfo{{Name: "y"}},
	}}
	man, ts, err := ImportModel(m, SuiteOptions)
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.New(backend, man.Graph, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	shape := make(core.Shape, len(xd))
	for i, d := range xd {
		shape[i] = int(d)
	}
	in, err := core.FromData(backend, shape, x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Free()
	out, err := g.Run(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	defer out[0].Free()
	v, err := out[0].Data()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestArgMaxStep checks the step function ArgMax, ArgMin and Hardmax are
// built on where it is tightest: values one ulp apart, ties (first or
// last), infinities, and magnitudes near float32's limits. The expected
// indexes are read off the inputs.
func TestArgMaxStep(t *testing.T) {
	one := float32(1)
	up := math.Nextafter32(one, 2)
	big := float32(math.MaxFloat32)
	tiny := float32(math.SmallestNonzeroFloat32 * (1 << 23)) // 2^-126, the smallest normal
	cases := []struct {
		name string
		op   string
		last int64
		x    []float32
		want float32
	}{
		{"one ulp", "ArgMax", 0, []float32{one, up, 0.5, one}, 1},
		{"one ulp min", "ArgMin", 0, []float32{up, one, 2, up}, 1},
		{"tie first", "ArgMax", 0, []float32{3, 1, 3, -1}, 0},
		{"tie last", "ArgMax", 1, []float32{3, 1, 3, -1}, 2},
		{"min tie last", "ArgMin", 1, []float32{-1, 5, -1, 0}, 2},
		{"extremes", "ArgMax", 0, []float32{-big, big, big / 2, 0}, 1},
		{"infinity", "ArgMax", 0, []float32{0, float32(math.Inf(1)), 2, float32(math.Inf(-1))}, 1},
		{"-infinity", "ArgMin", 0, []float32{0, 1, -big / 2, float32(math.Inf(-1))}, 3},
		{"smallest normals", "ArgMax", 0, []float32{0, tiny, 2 * tiny, -tiny}, 2},
	}
	for _, c := range cases {
		node := &onnx.Node{Name: "a", OpType: c.op, Input: []string{"x"}, Output: []string{"y"},
			Attribute: []*onnx.Attribute{onnx.IntAttr("axis", 1), onnx.IntAttr("keepdims", 0), onnx.IntAttr("select_last_index", c.last)}}
		got := runOne(t, node, []int64{1, 4}, c.x)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s %s(%v, select_last_index=%d) = %v, want %v", c.name, c.op, c.x, c.last, got, c.want)
		}
	}
	node := &onnx.Node{Name: "h", OpType: "Hardmax", Input: []string{"x"}, Output: []string{"y"}}
	got := runOne(t, node, []int64{2, 3}, []float32{one, up, one, 7, 7, -7})
	if want := []float32{0, 1, 0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("Hardmax = %v, want %v", got, want)
	}
	node = &onnx.Node{Name: "t", OpType: "ThresholdedRelu", Input: []string{"x"}, Output: []string{"y"},
		Attribute: []*onnx.Attribute{onnx.FloatAttr("alpha", 1)}}
	got = runOne(t, node, []int64{1, 4}, []float32{one, up, 0.5, 3})
	if want := []float32{0, up, 0, 3}; !slices.Equal(got, want) {
		t.Errorf("ThresholdedRelu(alpha 1) = %v, want %v", got, want)
	}
}
