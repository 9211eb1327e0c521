package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("add", noAttrs(func() graphOp { return binaryOp{op: core.Add} }))
	register("sub", noAttrs(func() graphOp { return binaryOp{op: core.Sub} }))
	register("mul", noAttrs(func() graphOp { return binaryOp{op: core.Mul} }))
	register("div", noAttrs(func() graphOp { return binaryOp{op: core.Div} }))
	register("max", noAttrs(func() graphOp { return binaryOp{op: core.Max} }))
	register("min", noAttrs(func() graphOp { return binaryOp{op: core.Min} }))
}

type binaryOp struct {
	opBase
	op core.BinaryOp
}

func (binaryOp) arity() (int, int) { return 2, 2 }

func (binaryOp) weightFirst() bool { return true }

func (b binaryOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Elementwise(in[0], in[1], b.op))
}

func (b binaryOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, err := core.BroadcastShape(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, fmt.Errorf("%s: %w", b.op, err)
	}
	addRow(t, b.op.String(), out, f, false)
	return []core.Shape{out}, f, nil
}
