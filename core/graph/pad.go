package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("pad", decodeAttrs(newPad))
}

// PadAttrs pad every axis: Before[i] and After[i] values on axis i.
type PadAttrs struct {
	Before []int   `json:"before"`
	After  []int   `json:"after"`
	Value  float32 `json:"value,omitempty"`
}

type padOp struct {
	opBase
	a PadAttrs
}

func newPad(a PadAttrs) (graphOp, error) {
	if len(a.Before) != len(a.After) || len(a.Before) == 0 {
		return nil, fmt.Errorf("pad: before %v and after %v need one entry per axis", a.Before, a.After)
	}
	if err := spatialAttrs(map[string][]int{"before": a.Before, "after": a.After}, 0); err != nil {
		return nil, err
	}
	return &padOp{a: a}, nil
}

func (p *padOp) arity() (int, int) { return 1, 1 }

func (p *padOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Pad(in[0], p.a.Before, p.a.After, p.a.Value))
}

func (p *padOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() != len(p.a.Before) {
		return nil, f, fmt.Errorf("pad %v: want %d before and after entries, got %d", x, x.Rank(), len(p.a.Before))
	}
	out := x.Clone()
	for i := range out {
		out[i] += p.a.Before[i] + p.a.After[i]
	}
	addRow(t, "Pad", out, f, false)
	return []core.Shape{out}, f, nil
}
