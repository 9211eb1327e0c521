package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("transpose", decodeAttrs(newTranspose))
}

// TransposeAttrs permute the axes: output axis i is input axis Perm[i].
type TransposeAttrs struct {
	Perm []int `json:"perm"`
}

type transposeOp struct {
	opBase
	perm []int
}

func newTranspose(a TransposeAttrs) (graphOp, error) {
	seen := make([]bool, len(a.Perm))
	for _, p := range a.Perm {
		if p < 0 || p >= len(a.Perm) || seen[p] {
			return nil, fmt.Errorf("transpose: %v is not a permutation", a.Perm)
		}
		seen[p] = true
	}
	return &transposeOp{perm: a.Perm}, nil
}

func (p *transposeOp) arity() (int, int) { return 1, 1 }

func (p *transposeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Transpose(in[0], p.perm...))
}

func (p *transposeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() != len(p.perm) {
		return nil, f, fmt.Errorf("transpose %v: permutation %v has the wrong length", x, p.perm)
	}
	out := make(core.Shape, len(p.perm))
	for i, a := range p.perm {
		out[i] = x[a]
	}
	addRow(t, "Transpose", out, f, false)
	return []core.Shape{out}, f, nil
}
