package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("reshape", decodeAttrs(newReshape))
	register("flatten", decodeAttrs(newFlatten))
	register("identity", noAttrs(func() graphOp { return identityOp{} }))
}

// ReshapeAttrs give the new shape: 0 copies the input's extent on that
// axis, one -1 is inferred.
type ReshapeAttrs struct {
	Shape []int `json:"shape"`
}

type reshapeOp struct {
	opBase
	shape []int
}

func newReshape(a ReshapeAttrs) (graphOp, error) {
	infer := 0
	for _, d := range a.Shape {
		switch {
		case d == -1:
			infer++
		case d < 0 || d > maxExtent:
			return nil, fmt.Errorf("reshape %v: bad extent %d", a.Shape, d)
		}
	}
	if infer > 1 || len(a.Shape) == 0 {
		return nil, fmt.Errorf("reshape %v: want at least one axis and at most one -1", a.Shape)
	}
	return &reshapeOp{shape: a.Shape}, nil
}

func (r *reshapeOp) arity() (int, int) { return 1, 1 }

func (r *reshapeOp) view() bool { return true }

// target resolves 0 (copy the input's extent) and -1 (infer).
func (r *reshapeOp) target(x core.Shape) (core.Shape, error) {
	out := make(core.Shape, len(r.shape))
	known, infer := 1, -1
	for i, d := range r.shape {
		switch d {
		case 0:
			if i >= x.Rank() {
				return nil, fmt.Errorf("reshape %v to %v: no axis %d to copy", x, r.shape, i)
			}
			d = x[i]
		case -1:
			infer = i
			continue
		}
		if d < 1 || d > x.Size()/known {
			return nil, fmt.Errorf("reshape %v (%d elements) to %v", x, x.Size(), r.shape)
		}
		out[i] = d
		known *= d
	}
	if infer >= 0 {
		if known == 0 || x.Size()%known != 0 {
			return nil, fmt.Errorf("reshape %v to %v: %d elements do not divide", x, r.shape, x.Size())
		}
		out[infer] = x.Size() / known
	}
	if out.Size() != x.Size() {
		return nil, fmt.Errorf("reshape %v (%d elements) to %v (%d elements)", x, x.Size(), out, out.Size())
	}
	return out, nil
}

func (r *reshapeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	s, err := r.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	return one(in[0].Reshape(s...))
}

func (r *reshapeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s, err := r.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Reshape", s, f, true)
	return []core.Shape{s}, f, nil
}

// FlattenAttrs view x as [prod(x[:Axis]), prod(x[Axis:])] (default 1).
type FlattenAttrs struct {
	Axis *int `json:"axis,omitempty"`
}

type flattenOp struct {
	opBase
	axis int
}

func newFlatten(a FlattenAttrs) (graphOp, error) {
	ax := 1
	if a.Axis != nil {
		ax = *a.Axis
	}
	return &flattenOp{axis: ax}, nil
}

func (l *flattenOp) arity() (int, int) { return 1, 1 }

func (l *flattenOp) view() bool { return true }

func (l *flattenOp) target(x core.Shape) (core.Shape, error) {
	ax := l.axis
	if ax < 0 {
		ax += x.Rank()
	}
	if ax < 0 || ax > x.Rank() {
		return nil, fmt.Errorf("flatten %v: axis %d out of range", x, l.axis)
	}
	return core.Shape{core.Shape(x[:ax]).Size(), core.Shape(x[ax:]).Size()}, nil
}

func (l *flattenOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	s, err := l.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	return one(in[0].Reshape(s...))
}

func (l *flattenOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s, err := l.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	if l.axis == 1 && in[0].Shape().Rank() >= 1 {
		out, f, err := nn.Flatten{}.Plan(t, in[0].Shape(), f)
		return []core.Shape{out}, f, err
	}
	addRow(t, "Flatten", s, f, true)
	return []core.Shape{s}, f, nil
}

type identityOp struct{ opBase }

func (identityOp) arity() (int, int) { return 1, 1 }

func (identityOp) view() bool { return true }

func (identityOp) run(in []*core.Tensor) ([]*core.Tensor, error) { return in[:1], nil }

func (identityOp) plan(_ *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	return []core.Shape{in[0].Shape()}, f, nil
}
