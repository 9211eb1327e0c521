package onnx_test

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/tools/convert/onnx"
)

// Export a small network and read the file back: NHWC input, one
// transpose to NCHW, the fused ReLU as its own node, and the logits.
func ExampleExport() {
	bd := nn.NewBuilder(cpu.New(), 1)
	net := nn.Sequential{
		nn.N("conv", bd.Conv2D(3, 8, 3, nn.ConvOpt{Pad: 1, Bias: true, Act: core.ReLU})),
		nn.N("pool", nn.GlobalAvgPool{}),
		nn.N("fc", bd.Linear(8, 10, core.Identity)),
	}
	data, err := onnx.Export(net, core.Shape{1, 32, 32, 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	var m onnx.Model
	if err := m.Unmarshal(data); err != nil {
		fmt.Println(err)
		return
	}
	g := m.Graph
	fmt.Println(onnx.OpTypes(&m))
	fmt.Println(g.Input[0].Name, g.Output[0].Name, len(g.Initializer), "initializers")
	w := g.Initializer[0]
	fmt.Println(w.Name, w.Dims)
	// Output:
	// [Transpose Conv Relu GlobalAveragePool Flatten Gemm Identity]
	// input output 4 initializers
	// conv.weight [8 3 3 3]
}
