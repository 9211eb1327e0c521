package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("batch_norm", decodeAttrs(func(a NormAttrs) (graphOp, error) { return batchNormOp{eps: a.eps()}, nil }))
	register("layer_norm", decodeAttrs(func(a NormAttrs) (graphOp, error) { return layerNormOp{eps: a.eps()}, nil }))
}

// NormAttrs give a normalization's epsilon (default 1e-5).
type NormAttrs struct {
	Eps *float32 `json:"eps,omitempty"`
}

func (a NormAttrs) eps() float32 {
	if a.Eps == nil {
		return 1e-5
	}
	return *a.Eps
}

// Eps returns attributes for epsilon e.
func Eps(e float32) NormAttrs { return NormAttrs{Eps: &e} }

type batchNormOp struct {
	opBase
	eps float32
}

func (batchNormOp) arity() (int, int) { return 5, 5 }

func (batchNormOp) buffer(j int) bool { return j >= 3 }

func (batchNormOp) check(w []core.Shape) error {
	var c core.Shape
	for _, s := range w[1:] {
		if s == nil {
			continue
		}
		if s.Rank() != 1 || (c != nil && !s.Equal(c)) {
			return fmt.Errorf("parameters %v: want four [C] vectors", w[1:])
		}
		c = s
	}
	return nil
}

func (b batchNormOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.BatchNorm(in[0], in[1], in[2], in[3], in[4], b.eps))
}

func (b batchNormOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	for _, p := range in[1:] {
		if x.Rank() < 1 || !p.Shape().Equal(core.Shape{x[x.Rank()-1]}) {
			return nil, f, fmt.Errorf("batch norm: input %v, parameter %v", x, p.Shape())
		}
	}
	out, f, err := (&nn.BatchNorm{Gamma: in[1], Beta: in[2], Mean: in[3], Var: in[4], Eps: b.eps}).Plan(t, x, f)
	return []core.Shape{out}, f, err
}

type layerNormOp struct {
	opBase
	eps float32
}

func (layerNormOp) arity() (int, int) { return 3, 3 }

func (l layerNormOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.LayerNorm(in[0], in[1], in[2], l.eps))
}

func (l layerNormOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x, g := in[0].Shape(), in[1].Shape()
	k := g.Rank()
	if k == 0 || k >= x.Rank() || !core.Shape(x[x.Rank()-k:]).Equal(g) || !in[2].Shape().Equal(g) {
		return nil, f, fmt.Errorf("layer norm: gamma %v and beta %v must match trailing axes of input %v", g, in[2].Shape(), x)
	}
	addRow(t, "LayerNorm", x, f, false)
	return []core.Shape{x}, f, nil
}
