package onnximport_test

import (
	"fmt"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnximport"
)

// Import a small NCHW classifier: Conv + BatchNormalization + Relu become
// one convolution with a fused ReLU (HWIO weights), the flatten of NCHW
// data gets its transpose, Gemm becomes a dense layer, and the graph ends
// in Softmax, so the manifest says it outputs probabilities.
func ExampleImport() {
	ones := func(name string, dims ...int64) *onnx.Tensor {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return onnx.FloatTensor(name, dims, v)
	}
	g := &onnx.Graph{
		Name: "tiny",
		Node: []*onnx.Node{
			{Name: "conv", OpType: "Conv", Input: []string{"image", "conv.w"}, Output: []string{"c"}, Attribute: []*onnx.Attribute{onnx.IntsAttr("pads", 1, 1, 1, 1)}},
			{Name: "bn", OpType: "BatchNormalization", Input: []string{"c", "bn.g", "bn.b", "bn.m", "bn.v"}, Output: []string{"n"}},
			{Name: "relu", OpType: "Relu", Input: []string{"n"}, Output: []string{"r"}},
			{Name: "flat", OpType: "Flatten", Input: []string{"r"}, Output: []string{"f"}},
			{Name: "fc", OpType: "Gemm", Input: []string{"f", "fc.w", "fc.b"}, Output: []string{"logits"}, Attribute: []*onnx.Attribute{onnx.IntAttr("transB", 1)}},
			{Name: "prob", OpType: "Softmax", Input: []string{"logits"}, Output: []string{"prob"}},
		},
		Initializer: []*onnx.Tensor{ones("conv.w", 4, 3, 3, 3), ones("bn.g", 4), ones("bn.b", 4), ones("bn.m", 4), ones("bn.v", 4),
			ones("fc.w", 10, 4*8*8), ones("fc.b", 10)},
		Input:  []*onnx.ValueInfo{onnx.TensorInfo("image", 1, 3, 8, 8)},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("prob", 1, 10)},
	}
	model := (&onnx.Model{IRVersion: 8, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: g}).Marshal()

	m, ts, err := onnximport.Import(model, "tiny")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, _ := graph.Parse(m.Graph)
	for _, n := range spec.Nodes {
		fmt.Println(n.Op, n.Name, n.Inputs, string(n.Attrs))
	}
	for _, t := range ts {
		fmt.Println(t.Name, t.Shape)
	}
	fmt.Println(m.Input.Shape, m.Input.ChannelOrder, m.Output)
	// Output:
	// conv conv [image conv.w bn.b] {"stride":[1,1],"dilation":[1,1],"pad_before":[1,1],"pad_after":[1,1],"act":{"op":"relu"}}
	// transpose r/nchw [r] {"perm":[0,3,1,2]}
	// flatten flat [r/nchw/transpose] {"axis":1}
	// dense fc [f fc.w fc.b] {}
	// softmax prob [logits] {"axis":-1}
	// conv.w [3 3 3 4]
	// bn.b [4]
	// fc.w [256 10]
	// fc.b [10]
	// [1 8 8 3] RGB probabilities
}

// The ONNX op types Import translates; any other is an error naming the
// node and its op type.
func ExampleOps() {
	fmt.Println(len(onnximport.Ops()), onnximport.Ops()[:6])
	// Output:
	// 90 [Abs Add ArgMax ArgMin AveragePool BatchNormalization]
}
