package ort_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnx/ort"
)

// TestRunIdentity passes values through an Identity model: the runner's
// file formats (little-endian float32, dims as JSON) are exact.
func TestRunIdentity(t *testing.T) {
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatalf("CNN_REQUIRE_ORT=1: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	m := &onnx.Model{IRVersion: onnx.IRVersion, OpsetImport: []onnx.OperatorSetID{{Version: onnx.Opset}}, Graph: &onnx.Graph{
		Name:   "id",
		Node:   []*onnx.Node{{OpType: "Identity", Input: []string{"x"}, Output: []string{"y"}}},
		Input:  []*onnx.ValueInfo{onnx.TensorInfo("x", 2, 3)},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("y", 2, 3)},
	}}
	path := filepath.Join(t.TempDir(), "id.onnx")
	if err := os.WriteFile(path, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	in := []float32{1, -2.5, 3e-38, 1e38, 0, -0.125}
	out, dims, err := rt.Run(path, in, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(dims) != 2 || dims[0] != 2 || dims[1] != 3 {
		t.Errorf("dims %v, want [2 3]", dims)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("out[%d] = %v, want %v", i, out[i], in[i])
		}
	}
	if _, _, err := rt.Run(path, in, []int{2, 2}); err == nil || !strings.Contains(err.Error(), "6 input values for dims [2 2]") {
		t.Errorf("Run with wrong dims: error %v", err)
	}
	if _, _, err := rt.Run(filepath.Join(t.TempDir(), "missing.onnx"), in, []int{2, 3}); err == nil {
		t.Error("Run of a missing file: nil error")
	}
}
