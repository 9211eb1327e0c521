package core_test

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/cpu"
)

// The lecture's max-pooling example: 2x2 windows with stride 2 over a 4x4 map.
func ExampleMaxPool2D() {
	b := cpu.New()
	x, _ := core.FromData(b, core.Shape{1, 4, 4, 1}, []float32{
		29, 15, 28, 184,
		0, 100, 70, 38,
		12, 12, 7, 2,
		12, 12, 45, 6,
	})
	y, _ := core.MaxPool2D(x, 2, 2)
	v, _ := y.Data()
	fmt.Println(y.Shape(), v)
	// Output: [1 2 2 1] [100 184 12 45]
}

// A 3x3 "valid" convolution of a 4x4 ramp with a box filter, bias and ReLU.
func ExampleConvolve() {
	b := cpu.New()
	in := make([]float32, 16)
	for i := range in {
		in[i] = float32(i)
	}
	x, _ := core.FromData(b, core.Shape{1, 4, 4, 1}, in)
	w, _ := core.FromData(b, core.Shape{3, 3, 1, 1}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
	bias, _ := core.FromData(b, core.Shape{1}, []float32{-50})
	y, _ := core.Convolve(x, w, bias, core.Conv{Act: core.Act(core.ReLU)})
	v, _ := y.Data()
	// Window sums are 45, 54, 81, 90; minus 50 then ReLU.
	fmt.Println(y.Shape(), v)
	// Output: [1 2 2 1] [0 4 31 40]
}

// The lecture's output-size formula (D - F + 2P)/S + 1 on AlexNet's CONV1.
func ExampleConvOutSize() {
	fmt.Println(core.ConvOutSize(227, 11, 4, 1, 0, 0))
	// Output: 55
}

// Softmax over the classes of a batch of one.
func ExampleSoftmax() {
	b := cpu.New()
	x, _ := core.FromData(b, core.Shape{1, 3}, []float32{0, 0, 0})
	y, _ := core.Softmax(x, -1)
	v, _ := y.Data()
	fmt.Printf("%.4f\n", v)
	// Output: [0.3333 0.3333 0.3333]
}

// Errors name the op and the shapes.
func ExampleConvolve_error() {
	b := cpu.New()
	x, _ := core.New(b, core.Shape{1, 8, 8, 3})
	w, _ := core.New(b, core.Shape{3, 3, 4, 16})
	_, err := core.Convolve(x, w, nil, core.Conv{})
	fmt.Println(err)
	// Output: conv: weights [3 3 4 16] expect 4 input channels per group, input [1 8 8 3] with 1 groups has 3
}
