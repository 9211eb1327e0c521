package main

import (
	"fmt"

	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// Tensor is an input or an output of predict, in the source framework's
// layout (the manifest's inputs and outputs: NCHW for ONNX and PyTorch,
// NHWC for TF.js).
type Tensor struct {
	Name   string
	Shape  []int
	Data   []float32
	Var    []float32 // MC-dropout: the variance (Data is then the mean)
	Layout string
	Kind   string // outputs: logits, probabilities or map
}

// predictAll runs the model on x, its one input in the runtime's NHWC
// layout at the manifest's input shape, or (x nil) on named, every graph
// input by name in the source's layout and any shape the model takes; it
// returns every output with its shape in the source's layout. With passes
// > 0 it returns the MC-dropout mean and variance of each value (a model
// of one input and one output).
func (m *model) predictAll(x []float32, named map[string]Tensor, passes int, seed uint64) ([]Tensor, error) {
	m.mu.Lock()
	net := m.net
	m.mu.Unlock()
	if net == nil {
		return nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	inPorts, outPorts := models.Ports(m.man, net)
	var xs [][]float32
	var shapes [][]int
	if named == nil {
		if len(inPorts) != 1 {
			return nil, fmt.Errorf("%w: %s takes %d inputs (%s): give each by name, {NAME: {data, shape}}", ErrBadInput, m.id, len(inPorts), names(inPorts))
		}
		xs, shapes = [][]float32{x}, [][]int{m.man.Input.Shape}
		if want := size(m.man.Input.Shape); len(x) != want {
			return nil, fmt.Errorf("%w: %s takes %d values (NHWC %v), got %d", ErrBadInput, m.id, want, m.man.Input.Shape, len(x))
		}
	} else {
		for name := range named {
			found := false
			for _, p := range inPorts {
				found = found || p.Name == name
			}
			if !found {
				return nil, fmt.Errorf("%w: %s has no input %q (its inputs: %s)", ErrBadInput, m.id, name, names(inPorts))
			}
		}
		for _, p := range inPorts {
			t, ok := named[p.Name]
			if !ok {
				return nil, fmt.Errorf("%w: %s: no value for input %q (its inputs: %s)", ErrBadInput, m.id, p.Name, names(inPorts))
			}
			v, s, err := models.ToRuntime(p, t.Data, t.Shape)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrBadInput, m.id, err)
			}
			xs, shapes = append(xs, v), append(shapes, s)
		}
	}
	var ys, vars [][]float32
	var yshapes [][]int
	if passes > 0 {
		if len(xs) != 1 || len(outPorts) != 1 {
			return nil, fmt.Errorf("%w: mcDropout needs a model of one input and one output; %s has %d and %d", ErrBadInput, m.id, len(xs), len(outPorts))
		}
		if named != nil && !sameShape(shapes[0], m.man.Input.Shape) {
			return nil, fmt.Errorf("%w: mcDropout runs the manifest's input shape %v", ErrBadInput, m.man.Input.Shape)
		}
		mean, variance, err := m.mc(xs[0], ClassifyOptions{MC: passes, Seed: seed}, false)
		if err != nil {
			return nil, err
		}
		s, err := m.outShape(shapes[0])
		if err != nil {
			return nil, err
		}
		ys, vars, yshapes = [][]float32{mean}, [][]float32{variance}, [][]int{s}
	} else {
		var err error
		if ys, yshapes, err = m.runAll(xs, shapes); err != nil {
			return nil, err
		}
	}
	out := make([]Tensor, len(ys))
	for i := range ys {
		p := weights.Port{Name: fmt.Sprintf("output%d", i)}
		if i < len(outPorts) {
			p = outPorts[i]
		}
		out[i] = Tensor{Name: p.Name, Layout: p.Layout, Kind: p.Kind}
		out[i].Data, out[i].Shape = models.FromRuntime(p, ys[i], yshapes[i])
		if vars != nil {
			out[i].Var, _ = models.FromRuntime(p, vars[i], yshapes[i])
		}
	}
	return out, nil
}

// runAll is one forward pass of every input, read back to the host.
func (m *model) runAll(xs [][]float32, shapes [][]int) (ys [][]float32, yshapes [][]int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	pass := func() (err error) {
		ys, yshapes, err = models.RunAll(m.lease.B, m.net, xs, shapes)
		return err
	}
	if m.arena != nil {
		return ys, yshapes, m.fail(m.arena.Run(pass))
	}
	return ys, yshapes, m.fail(pass())
}

// outShape is the network's output shape for an input shape (planned,
// nothing computed).
func (m *model) outShape(in []int) ([]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	s, _, err := m.net.Plan(nil, in, nn.Field{Size: 1, Jump: 1})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func names(ps []weights.Port) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %v", p.Name, p.Shape)
		if p.Layout != "" {
			s += " " + p.Layout
		}
	}
	return s
}

func size(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
