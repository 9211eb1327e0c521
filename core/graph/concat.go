package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("concat", decodeAttrs(func(a AxisAttrs) (graphOp, error) { return concatOp{axis: a.axis(-1)}, nil }))
	register("split", decodeAttrs(newSplit))
}

type concatOp struct {
	opBase
	axis int
}

func (concatOp) arity() (int, int) { return 1, -1 }

func (concatOp) weightFirst() bool { return true }

func (c concatOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Concat(c.axis, in...))
}

func (c concatOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s0 := in[0].Shape()
	ax, err := resolveAxis(c.axis, s0.Rank())
	if err != nil {
		return nil, f, fmt.Errorf("concat %v: %w", s0, err)
	}
	out := s0.Clone()
	out[ax] = 0
	for _, x := range in {
		s := x.Shape()
		if s.Rank() != s0.Rank() {
			return nil, f, fmt.Errorf("concat on axis %d: %v and %v differ in rank", ax, s0, s)
		}
		for i := range s {
			if i != ax && s[i] != s0[i] {
				return nil, f, fmt.Errorf("concat on axis %d: %v and %v differ on axis %d", ax, s0, s, i)
			}
		}
		out[ax] += s[ax]
	}
	addRow(t, "Concat", out, f, false)
	return []core.Shape{out}, f, nil
}

// SplitAttrs cut axis Axis into parts of the given sizes.
type SplitAttrs struct {
	Axis  int   `json:"axis"`
	Sizes []int `json:"sizes"`
}

type splitOp struct {
	opBase
	a SplitAttrs
}

func newSplit(a SplitAttrs) (graphOp, error) {
	if len(a.Sizes) == 0 {
		return nil, fmt.Errorf("split: no sizes")
	}
	if err := spatialAttrs(map[string][]int{"sizes": a.Sizes}, 1); err != nil {
		return nil, err
	}
	return &splitOp{a: a}, nil
}

func (s *splitOp) arity() (int, int) { return 1, 1 }

func (s *splitOp) outputs() int { return len(s.a.Sizes) }

func (s *splitOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return core.Split(in[0], s.a.Axis, s.a.Sizes...)
}

func (s *splitOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	ax, err := resolveAxis(s.a.Axis, x.Rank())
	if err != nil {
		return nil, f, fmt.Errorf("split %v: %w", x, err)
	}
	total := 0
	outs := make([]core.Shape, len(s.a.Sizes))
	for i, n := range s.a.Sizes {
		total += n
		outs[i] = x.Clone()
		outs[i][ax] = n
	}
	if total != x[ax] {
		return nil, f, fmt.Errorf("split %v on axis %d: sizes %v add to %d, want %d", x, ax, s.a.Sizes, total, x[ax])
	}
	for _, o := range outs {
		addRow(t, "Split", o, f, false)
	}
	return outs, f, nil
}
