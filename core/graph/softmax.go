package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("softmax", decodeAttrs(func(a AxisAttrs) (graphOp, error) { return softmaxOp{axis: a.axis(-1)}, nil }))
	register("log_softmax", decodeAttrs(func(a AxisAttrs) (graphOp, error) { return softmaxOp{axis: a.axis(-1), log: true}, nil }))
}

type softmaxOp struct {
	opBase
	axis int
	log  bool
}

func (softmaxOp) arity() (int, int) { return 1, 1 }

func (s softmaxOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	if s.log {
		return one(core.LogSoftmax(in[0], s.axis))
	}
	return one(core.Softmax(in[0], s.axis))
}

func (s softmaxOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if _, err := resolveAxis(s.axis, x.Rank()); err != nil {
		return nil, f, fmt.Errorf("softmax %v: %w", x, err)
	}
	addRow(t, "Softmax", x, f, false)
	return []core.Shape{x}, f, nil
}
