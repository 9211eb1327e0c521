package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("slice", decodeAttrs(newSlice))
}

// SliceAttrs keep [Starts[i], Ends[i]) of axis Axes[i] every Steps[i]
// elements (nil: 1); negative indexes count from the end. As in ONNX's
// Slice, both are clamped to [0, extent] for a positive step and to
// [0, extent-1] and [-1, extent-1] for a negative one (which walks from
// Starts[i] down to Ends[i]+1).
type SliceAttrs struct {
	Axes   []int `json:"axes"`
	Starts []int `json:"starts"`
	Ends   []int `json:"ends"`
	Steps  []int `json:"steps,omitempty"`
}

type sliceOp struct {
	opBase
	a SliceAttrs
}

func newSlice(a SliceAttrs) (graphOp, error) {
	if len(a.Axes) == 0 || len(a.Axes) != len(a.Starts) || len(a.Axes) != len(a.Ends) || (a.Steps != nil && len(a.Steps) != len(a.Axes)) {
		return nil, fmt.Errorf("slice: axes %v, starts %v, ends %v, steps %v need one entry each", a.Axes, a.Starts, a.Ends, a.Steps)
	}
	for _, st := range a.Steps {
		if st == 0 {
			return nil, fmt.Errorf("slice: steps %v: a step of 0", a.Steps)
		}
	}
	return &sliceOp{a: a}, nil
}

func (s *sliceOp) arity() (int, int) { return 1, 1 }

// step returns axis entry i's step.
func (s *sliceOp) step(i int) int {
	if s.a.Steps == nil {
		return 1
	}
	return s.a.Steps[i]
}

// windows resolves each axis's first index and element count.
func (s *sliceOp) windows(x core.Shape) (axes, starts, sizes []int, out core.Shape, err error) {
	out = x.Clone()
	seen := map[int]bool{}
	for i, a := range s.a.Axes {
		ax, err := resolveAxis(a, x.Rank())
		if err != nil || seen[ax] {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: bad or repeated axis %d", x, a)
		}
		seen[ax] = true
		st := s.step(i)
		clamp := func(v, lo, hi int) int {
			if v < 0 {
				v += x[ax]
			}
			return max(lo, min(v, hi))
		}
		var b, n int
		if st > 0 {
			b = clamp(s.a.Starts[i], 0, x[ax])
			n = (clamp(s.a.Ends[i], 0, x[ax]) - b + st - 1) / st
		} else {
			b = clamp(s.a.Starts[i], 0, x[ax]-1)
			n = (b - clamp(s.a.Ends[i], -1, x[ax]-1) - st - 1) / -st
		}
		if n <= 0 {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: axis %d keeps nothing (start %d, end %d, step %d)", x, ax, s.a.Starts[i], s.a.Ends[i], st)
		}
		axes, starts, sizes = append(axes, ax), append(starts, b), append(sizes, n)
		out[ax] = n
	}
	return axes, starts, sizes, out, nil
}

func (s *sliceOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	axes, starts, sizes, _, err := s.windows(in[0].Shape())
	if err != nil {
		return nil, err
	}
	if s.a.Steps != nil {
		// One strided copy: the source walks each sliced axis by its step.
		x := in[0]
		xs := x.Shape()
		st := xs.Strides()
		_, _, _, out, _ := s.windows(xs)
		p := core.Copy{Shape: out.Clone(), SrcStrides: append([]int(nil), st...), DstStrides: out.Strides()}
		for i, ax := range axes {
			p.SrcOffset += starts[i] * st[ax]
			p.SrcStrides[ax] = st[ax] * s.step(i)
		}
		y, err := core.New(x.Backend(), out)
		if err != nil {
			return nil, err
		}
		if err := core.CopyRegion(y, x, p); err != nil {
			y.Free()
			return nil, fmt.Errorf("slice %v: %w", xs, err)
		}
		return []*core.Tensor{y}, nil
	}
	x := in[0]
	for i := range axes {
		y, err := core.Slice(x, axes[i], starts[i], sizes[i])
		if x != in[0] {
			x.Free()
		}
		if err != nil {
			return nil, err
		}
		x = y
	}
	return []*core.Tensor{x}, nil
}

func (s *sliceOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	_, _, _, out, err := s.windows(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Slice", out, f, false)
	return []core.Shape{out}, f, nil
}
