package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("slice", decodeAttrs(newSlice))
}

// SliceAttrs keep [Starts[i], Ends[i]) of axis Axes[i]; negative indexes
// count from the end and both are clamped to the axis.
type SliceAttrs struct {
	Axes   []int `json:"axes"`
	Starts []int `json:"starts"`
	Ends   []int `json:"ends"`
}

type sliceOp struct {
	opBase
	a SliceAttrs
}

func newSlice(a SliceAttrs) (graphOp, error) {
	if len(a.Axes) == 0 || len(a.Axes) != len(a.Starts) || len(a.Axes) != len(a.Ends) {
		return nil, fmt.Errorf("slice: axes %v, starts %v, ends %v need one entry each", a.Axes, a.Starts, a.Ends)
	}
	return &sliceOp{a: a}, nil
}

func (s *sliceOp) arity() (int, int) { return 1, 1 }

// windows resolves each axis's [start, start+size).
func (s *sliceOp) windows(x core.Shape) (axes, starts, sizes []int, out core.Shape, err error) {
	out = x.Clone()
	seen := map[int]bool{}
	for i, a := range s.a.Axes {
		ax, err := resolveAxis(a, x.Rank())
		if err != nil || seen[ax] {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: bad or repeated axis %d", x, a)
		}
		seen[ax] = true
		clamp := func(v int) int {
			if v < 0 {
				v += x[ax]
			}
			return max(0, min(v, x[ax]))
		}
		b, e := clamp(s.a.Starts[i]), clamp(s.a.Ends[i])
		if e <= b {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: axis %d keeps [%d, %d), nothing", x, ax, b, e)
		}
		axes, starts, sizes = append(axes, ax), append(starts, b), append(sizes, e-b)
		out[ax] = e - b
	}
	return axes, starts, sizes, out, nil
}

func (s *sliceOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	axes, starts, sizes, _, err := s.windows(in[0].Shape())
	if err != nil {
		return nil, err
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
