package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("dense", decodeAttrs(newDense))
}

// DenseAttrs configure dense.
type DenseAttrs struct {
	Act *Act `json:"act,omitempty"`
}

type denseOp struct {
	opBase
	act core.Unary
}

func newDense(a DenseAttrs) (graphOp, error) {
	act, err := a.Act.Unary()
	return &denseOp{act: act}, err
}

func (d *denseOp) arity() (int, int) { return 2, 3 }

func (d *denseOp) check(w []core.Shape) error {
	if w[1] != nil && w[1].Rank() != 2 {
		return fmt.Errorf("weights %v: want [In, Out]", w[1])
	}
	if len(w) > 2 && w[2] != nil && (w[2].Rank() != 1 || (w[1] != nil && w[2][0] != w[1][1])) {
		return fmt.Errorf("bias %v for weights %v", w[2], w[1])
	}
	return nil
}

// rows views x [..., In] as a matrix [M, In]; out is [..., Out].
func (d *denseOp) rows(x, w core.Shape) (m core.Shape, out core.Shape, err error) {
	if x.Rank() < 1 || w.Rank() != 2 || x[x.Rank()-1] != w[0] {
		return nil, nil, fmt.Errorf("dense: input %v, weights %v: want [..., In] and [In, Out]", x, w)
	}
	out = append(x[:x.Rank()-1].Clone(), w[1])
	return core.Shape{x.Size() / w[0], w[0]}, out, nil
}

func (d *denseOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	m, out, err := d.rows(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	x, err := in[0].Reshape(m...)
	if err != nil {
		return nil, err
	}
	var bias *core.Tensor
	if len(in) > 2 {
		bias = in[2]
	}
	y, err := core.MatMulT(x, in[1], bias, core.MatMul{Act: d.act})
	if err != nil {
		return nil, err
	}
	return one(y.Reshape(out...))
}

func (d *denseOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	m, out, err := d.rows(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, err
	}
	l := &nn.Linear{W: in[1], Act: d.act}
	if len(in) > 2 {
		l.B = in[2]
	}
	if _, f, err = l.Plan(t, m, f); err != nil {
		return nil, f, err
	}
	return []core.Shape{out}, f, nil
}
