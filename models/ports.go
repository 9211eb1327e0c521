package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// Ports returns the inputs and outputs of the model man describes, built
// as net, in the source framework's terms (the manifest's Inputs and
// Outputs). A manifest written before they existed gets ports in the
// runtime's layout: the graph's value names (or "input" and "output"),
// the input of man.Input.Shape and the first output of man's kind.
func Ports(man *weights.Manifest, net nn.Layer) (inputs, outputs []weights.Port) {
	ins, outs := []string{"input"}, []string{"output"}
	if g, ok := net.(*graph.Graph); ok {
		ins, outs = g.Inputs(), g.Outputs()
	}
	if len(man.Inputs) == len(ins) {
		inputs = man.Inputs
	} else {
		for i, n := range ins {
			p := weights.Port{Name: n}
			if i == 0 && len(man.Input.Shape) > 0 {
				p.Shape = append([]int{-1}, man.Input.Shape[1:]...)
			}
			inputs = append(inputs, p)
		}
	}
	if len(man.Outputs) == len(outs) {
		return inputs, man.Outputs
	}
	for i, n := range outs {
		p := weights.Port{Name: n, Kind: weights.Map}
		if i == 0 {
			p.Kind = man.Output
		}
		outputs = append(outputs, p)
	}
	return inputs, outputs
}

// ToRuntime checks x of the given shape against port p (its rank, and
// every extent the port fixes) and transposes it from the source's
// layout into the runtime's. Errors name the port.
func ToRuntime(p weights.Port, x []float32, shape []int) ([]float32, []int, error) {
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return nil, nil, fmt.Errorf("input %q: shape %v has an empty extent", p.Name, shape)
		}
		n *= d
	}
	if n != len(x) {
		return nil, nil, fmt.Errorf("input %q: %d values for shape %v", p.Name, len(x), shape)
	}
	if p.Shape != nil {
		if len(shape) != len(p.Shape) {
			return nil, nil, fmt.Errorf("input %q takes rank %d %v%s, got shape %v", p.Name, len(p.Shape), p.Shape, layoutNote(p), shape)
		}
		for i, d := range p.Shape {
			if d > 0 && shape[i] != d {
				return nil, nil, fmt.Errorf("input %q takes %v%s (-1: any), got %v", p.Name, p.Shape, layoutNote(p), shape)
			}
		}
	}
	if p.Perm == nil {
		return x, shape, nil
	}
	ours := make([]int, len(shape))
	for i, a := range p.Perm {
		ours[a] = shape[i]
	}
	// ours axis p.Perm[i] is source axis i: read source axis order from ours.
	inv := make([]int, len(p.Perm))
	for i, a := range p.Perm {
		inv[a] = i
	}
	return permute(x, shape, inv), ours, nil
}

// FromRuntime transposes y of the runtime's shape ours into port p's
// source layout.
func FromRuntime(p weights.Port, y []float32, ours []int) ([]float32, []int) {
	if p.Perm == nil || len(p.Perm) != len(ours) {
		return y, ours
	}
	src := make([]int, len(ours))
	for i, a := range p.Perm {
		src[i] = ours[a]
	}
	return permute(y, ours, p.Perm), src
}

func layoutNote(p weights.Port) string {
	if p.Layout == "" {
		return ""
	}
	return " " + p.Layout
}

// permute returns x of shape transposed so that output axis i is input
// axis perm[i].
func permute(x []float32, shape, perm []int) []float32 {
	r := len(shape)
	stride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = s
		s *= shape[i]
	}
	oshape := make([]int, r)
	ostride := make([]int, r) // input stride of each output axis
	for i, a := range perm {
		oshape[i], ostride[i] = shape[a], stride[a]
	}
	out := make([]float32, len(x))
	idx := make([]int, r)
	off := 0
	for o := range out {
		out[o] = x[off]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			off += ostride[k]
			if idx[k] < oshape[k] {
				break
			}
			off -= idx[k] * ostride[k]
			idx[k] = 0
		}
	}
	return out
}

// RunAll runs net on one input per graph input (in the runtime's layout)
// and returns each output's values and shape: Graph.Run for an imported
// graph, Forward for a zoo network.
func RunAll(b core.Backend, net nn.Layer, xs [][]float32, shapes [][]int) (ys [][]float32, yshapes [][]int, err error) {
	ins := make([]*core.Tensor, len(xs))
	defer func() {
		for _, t := range ins {
			if t != nil {
				t.Free()
			}
		}
	}()
	for i, x := range xs {
		if ins[i], err = core.FromData(b, core.Shape(shapes[i]), x); err != nil {
			return nil, nil, err
		}
	}
	var outs []*core.Tensor
	if g, ok := net.(*graph.Graph); ok {
		outs, err = g.Run(nn.Eval, ins...)
	} else {
		if len(ins) != 1 {
			return nil, nil, fmt.Errorf("models: %d inputs for a network of one", len(ins))
		}
		var y *core.Tensor
		y, err = net.Forward(nn.Eval, ins[0])
		outs = []*core.Tensor{y}
	}
	if err != nil {
		return nil, nil, err
	}
	defer func() { // outputs may be views of each other or of an input
		seen := map[core.Buffer]bool{}
		for _, t := range ins {
			seen[t.Buffer()] = true
		}
		for _, t := range outs {
			if t != nil && t.Buffer() != nil && !seen[t.Buffer()] {
				seen[t.Buffer()] = true
				t.Free()
			}
		}
	}()
	for _, t := range outs {
		v, err := t.Data()
		if err != nil {
			return nil, nil, err
		}
		ys = append(ys, v)
		yshapes = append(yshapes, t.Shape().Clone())
	}
	return ys, yshapes, nil
}
