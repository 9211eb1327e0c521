package zoomap_test

import (
	"fmt"

	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/zoomap"
)

// A LeNet-5 state_dict in torch's layouts maps onto the zoo's LeNet-5:
// conv weights become HWIO, linear weights [In, Out].
func ExampleFromTorch() {
	spec, _ := models.Lookup("lenet5")
	var sd []weights.Tensor
	for _, s := range []struct {
		name  string
		shape []int
	}{
		{"conv1.weight", []int{6, 1, 5, 5}}, {"conv1.bias", []int{6}},
		{"conv2.weight", []int{16, 6, 5, 5}}, {"conv2.bias", []int{16}},
		{"fc1.weight", []int{120, 256}}, {"fc1.bias", []int{120}},
		{"fc2.weight", []int{84, 120}}, {"fc2.bias", []int{84}},
		{"fc3.weight", []int{10, 84}}, {"fc3.bias", []int{10}},
	} {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		sd = append(sd, weights.Tensor{Name: s.name, Shape: s.shape, Data: make([]float32, n)})
	}
	ours, err := zoomap.FromTorch(spec, sd)
	if err != nil {
		panic(err)
	}
	for _, t := range ours[:5] {
		fmt.Println(t.Name, t.Shape)
	}
	// Output:
	// conv1.weight [5 5 1 6]
	// conv1.bias [6]
	// conv2.weight [5 5 6 16]
	// conv2.bias [16]
	// fc1.weight [256 120]
}
