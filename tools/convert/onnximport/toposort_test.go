package onnximport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/tools/convert/onnx"
)

// TestUnsortedNodes imports mnist-8 with its nodes listed backwards:
// onnxruntime runs such a file, and so must the importer, to the same
// graph as the sorted file's and to onnxruntime's logits on it.
func TestUnsortedNodes(t *testing.T) {
	src := mnist8(t)
	var m onnx.Model
	if err := m.Unmarshal(src); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(m.Graph.Node)
	shuffled := m.Marshal()
	want, wantTs, err := Import(src, "mnist-8")
	if err != nil {
		t.Fatal(err)
	}
	got, ts, err := Import(shuffled, "mnist-8")
	if err != nil {
		t.Fatalf("nodes in reverse order: %v", err)
	}
	if !bytes.Equal(got.Graph, want.Graph) || len(ts) != len(wantTs) {
		t.Errorf("reversed file: graph %s\nsorted file: %s", got.Graph, want.Graph)
	}
	rt := runtime(t)
	file := filepath.Join(t.TempDir(), "reversed.onnx")
	if err := os.WriteFile(file, shuffled, 0o644); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = float32((i * 37) % 256)
	}
	ref, _, err := rt.Run(file, x, []int{1, 1, 28, 28})
	if err != nil {
		t.Fatalf("onnxruntime on the reversed file: %v", err)
	}
	out, _ := forward(t, build(t, got, ts), core.Shape{1, 28, 28, 1}, x)
	if d, s := maxDiff(out, ref); d > 1e-5*s {
		t.Errorf("reversed file: logits differ from onnxruntime's by %.3g (largest %.3g)", d, s)
	}
}

// TestNodeCycle: two nodes that read each other's outputs are an error
// naming one of them, never a hang.
func TestNodeCycle(t *testing.T) {
	m := &onnx.Model{IRVersion: 7, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name:  "cycle",
		Input: []*onnx.ValueInfo{onnx.TensorInfo("x", 1, 4)},
		Node: []*onnx.Node{
			{OpType: "Add", Name: "a", Input: []string{"x", "b_out"}, Output: []string{"a_out"}},
			{OpType: "Relu", Name: "b", Input: []string{"a_out"}, Output: []string{"b_out"}},
		},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("b_out", 1, 4)},
	}}
	_, _, err := Import(m.Marshal(), "cycle")
	if err == nil || !strings.Contains(err.Error(), "cycle") || !(strings.Contains(err.Error(), `"a"`) || strings.Contains(err.Error(), `"b"`)) {
		t.Errorf("a cycle: %v, want an error naming a node on it", err)
	}
	if errors.Is(err, ErrUnsupported) {
		t.Errorf("a cycle is a broken file, not an unsupported feature: %v", err)
	}
}

// TestSizeHint: a graph whose input height and width are dynamic and
// whose Reshape needs them fails at import with an error that names
// --input-size and shows the unknown extents as N and ?, never the
// importer's placeholders -1 and -2; with the size given, it imports.
func TestSizeHint(t *testing.T) {
	in := onnx.TensorInfo("x", 1, 3, 0, 0)
	in.Type.Tensor.Shape.Dim[0].Param = "N"
	in.Type.Tensor.Shape.Dim[2].Param = "H"
	in.Type.Tensor.Shape.Dim[3].Param = "W"
	m := &onnx.Model{IRVersion: 7, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name:        "dynamic",
		Input:       []*onnx.ValueInfo{in},
		Initializer: []*onnx.Tensor{onnx.Int64Tensor("shape", []int64{4}, []int64{0, 3, 0, -1})},
		Node: []*onnx.Node{
			{OpType: "Reshape", Name: "reshape", Input: []string{"x", "shape"}, Output: []string{"y"}},
			{OpType: "Relu", Name: "relu", Input: []string{"y"}, Output: []string{"z"}},
		},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("z", 1, 3, 0, 0)},
	}}
	_, _, err := Import(m.Marshal(), "dynamic")
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "--input-size") || strings.Contains(err.Error(), "-2") || strings.Contains(err.Error(), "-1") {
		t.Errorf("dynamic input size: %v, want an error naming --input-size without -1 or -2", err)
	}
	if _, _, err := ImportWith(m.Marshal(), Options{Height: 8, Width: 6}); err != nil {
		t.Errorf("with the size given: %v", err)
	}
}
