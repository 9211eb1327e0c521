package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
)

// alexnetWalk runs the lecture's AlexNet (CONV1 .. FC8, with LRN and overlapping
// max pools) with seeded random weights on a generated 227x227 image and
// prints each layer's output shape, its weights and its time: the shapes
// are the lecture's table (55, 27, 27, 13, 13, 13, 13, 6).
func alexnetWalk(w io.Writer) error {
	b := cpu.New()
	g := core.NewRNG(1)
	// A generated image: concentric rings, one phase per channel.
	img := make([]float32, 227*227*3)
	for y := 0; y < 227; y++ {
		for x := 0; x < 227; x++ {
			r := math.Hypot(float64(x-113), float64(y-113))
			for c := 0; c < 3; c++ {
				img[(y*227+x)*3+c] = float32(math.Sin(r/6 + float64(c)))
			}
		}
	}
	x, err := core.FromData(b, core.Shape{1, 227, 227, 3}, img)
	if err != nil {
		return err
	}
	he := func(s core.Shape, fanIn int) (*core.Tensor, error) {
		d := make([]float32, s.Size())
		std := float32(math.Sqrt(2 / float64(fanIn)))
		for i := range d {
			d[i] = g.NormFloat32() * std
		}
		return core.FromData(b, s, d)
	}
	type layer struct {
		name string
		run  func(*core.Tensor) (*core.Tensor, int, error)
	}
	conv := func(k, cin, cout, stride, pad int) func(*core.Tensor) (*core.Tensor, int, error) {
		return func(x *core.Tensor) (*core.Tensor, int, error) {
			wt, err := he(core.Shape{k, k, cin, cout}, k*k*cin)
			if err != nil {
				return nil, 0, err
			}
			bias, _ := core.New(b, core.Shape{cout})
			y, err := core.Convolve(x, wt, bias, core.Conv{Stride: []int{stride, stride},
				PadBefore: []int{pad, pad}, PadAfter: []int{pad, pad}, Act: core.Act(core.ReLU)})
			return y, wt.Size() + cout, err
		}
	}
	pool := func(x *core.Tensor) (*core.Tensor, int, error) { y, err := core.MaxPool2D(x, 3, 2); return y, 0, err }
	norm := func(x *core.Tensor) (*core.Tensor, int, error) {
		y, err := core.LRN(x, 5, 1e-4, 0.75, 2)
		return y, 0, err
	}
	fc := func(in, out int, act core.UnaryOp) func(*core.Tensor) (*core.Tensor, int, error) {
		return func(x *core.Tensor) (*core.Tensor, int, error) {
			wt, err := he(core.Shape{in, out}, in)
			if err != nil {
				return nil, 0, err
			}
			bias, _ := core.New(b, core.Shape{out})
			y, err := core.Dense(x, wt, bias, core.Act(act))
			return y, wt.Size() + out, err
		}
	}
	layers := []layer{
		{"CONV1 96 11x11/4", conv(11, 3, 96, 4, 0)}, {"MAX POOL1 3x3/2", pool}, {"NORM1", norm},
		{"CONV2 256 5x5 p2", conv(5, 96, 256, 1, 2)}, {"MAX POOL2 3x3/2", pool}, {"NORM2", norm},
		{"CONV3 384 3x3 p1", conv(3, 256, 384, 1, 1)}, {"CONV4 384 3x3 p1", conv(3, 384, 384, 1, 1)},
		{"CONV5 256 3x3 p1", conv(3, 384, 256, 1, 1)}, {"MAX POOL3 3x3/2", pool},
		{"FC6 4096", fc(6*6*256, 4096, core.ReLU)}, {"FC7 4096", fc(4096, 4096, core.ReLU)}, {"FC8 1000", fc(4096, 1000, core.Identity)},
	}
	fmt.Fprintf(w, "AlexNet (the lecture's table) on a generated 227x227x3 image, CPU backend, random He weights\n\n")
	fmt.Fprintf(w, "%-18s %-16s %12s %10s\n", "layer", "output", "params", "ms")
	fmt.Fprintf(w, "%-18s %-16v %12s %10s\n", "INPUT", x.Shape(), "", "")
	total := 0
	start := time.Now()
	for _, l := range layers {
		t0 := time.Now()
		y, n, err := l.run(x)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		total += n
		fmt.Fprintf(w, "%-18s %-16v %12d %10.1f\n", l.name, y.Shape(), n, float64(time.Since(t0).Microseconds())/1000)
		x = y
	}
	p, err := core.Softmax(x, -1)
	if err != nil {
		return err
	}
	probs, err := p.Data()
	if err != nil {
		return err
	}
	best := 0
	for i, v := range probs {
		if v > probs[best] {
			best = i
		}
	}
	fmt.Fprintf(w, "\n%d parameters, forward pass %.0f ms; softmax top-1 is class %d with p = %.4f (random weights)\n",
		total, float64(time.Since(start).Milliseconds()), best, probs[best])
	return nil
}
