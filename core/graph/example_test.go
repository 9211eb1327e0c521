package graph_test

import (
	"encoding/json"
	"fmt"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// A graph as an importer writes it: a 1x1 convolution with fused ReLU,
// global average pooling and a dense layer, on the manifest's tensors.
func ExampleNew() {
	spec := graph.Spec{Inputs: []string{"image"}, Outputs: []string{"logits"}, Nodes: []graph.Node{
		graph.NewNode("conv", "conv", []string{"image", "conv/kernel"}, []string{"c"}, graph.ConvAttrs{Act: &graph.Act{Op: "relu"}}),
		graph.NewNode("global_avg_pool", "pool", []string{"c"}, []string{"p"}, nil),
		graph.NewNode("flatten", "flat", []string{"p"}, []string{"f"}, nil),
		graph.NewNode("dense", "fc", []string{"f", "fc/kernel", "fc/bias"}, []string{"logits"}, nil),
	}}
	raw, _ := json.Marshal(spec)
	tensors := []weights.Tensor{
		{Name: "conv/kernel", Shape: []int{1, 1, 1, 2}, Data: []float32{1, -1}}, // channel 0: x, channel 1: -x
		{Name: "fc/kernel", Shape: []int{2, 1}, Data: []float32{1, 10}},
		{Name: "fc/bias", Shape: []int{1}, Data: []float32{0.5}},
	}
	b := cpu.New()
	g, err := graph.New(b, raw, tensors)
	if err != nil {
		fmt.Println(err)
		return
	}
	x, _ := core.FromData(b, core.Shape{1, 2, 2, 1}, []float32{1, 2, -3, -4})
	y, _ := g.Forward(nn.Eval, x)
	v, _ := y.Data()
	// relu(x) averages (1+2)/4 = 0.75, relu(-x) averages (3+4)/4 = 1.75:
	// 0.75*1 + 1.75*10 + 0.5 = 18.75.
	fmt.Println(y.Shape(), v)
	// Output: [1 1] [18.75]
}
