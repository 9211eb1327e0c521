package pytorch_test

import (
	"bytes"
	"fmt"

	"webcnn/core/weights"
	"webcnn/tools/convert/pytorch"
)

// A state_dict written in PyTorch's zip format reads back as float32
// tensors in the dict's order.
func ExampleRead() {
	var buf bytes.Buffer
	sd := []weights.Tensor{
		{Name: "fc.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "fc.bias", Shape: []int{2}, Data: []float32{0.5, -0.5}},
	}
	if err := pytorch.Write(&buf, sd); err != nil {
		panic(err)
	}
	ts, err := pytorch.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "model.pth")
	if err != nil {
		panic(err)
	}
	for _, t := range ts {
		fmt.Println(t.Name, t.Shape, t.Data)
	}
	// Output:
	// fc.weight [2 3] [1 2 3 4 5 6]
	// fc.bias [2] [0.5 -0.5]
}
