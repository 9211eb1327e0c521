package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("mean", decodeAttrs(reduceDef(core.Mean)))
	register("sum", decodeAttrs(reduceDef(core.Sum)))
	register("reduce_max", decodeAttrs(reduceDef(core.ReduceMax)))
	register("reduce_min", decodeAttrs(reduceDef(core.ReduceMin)))
	register("reduce_prod", decodeAttrs(reduceDef(core.ReduceProd)))
}

// ReduceAttrs fold Axes (all when empty); Keep (default true) keeps them
// with extent 1.
type ReduceAttrs struct {
	Axes []int `json:"axes,omitempty"`
	Keep *bool `json:"keep,omitempty"`
}

type reduceOp struct {
	opBase
	op   core.ReduceOp
	axes []int
	keep bool
}

func reduceDef(op core.ReduceOp) func(ReduceAttrs) (graphOp, error) {
	return func(a ReduceAttrs) (graphOp, error) {
		keep := a.Keep == nil || *a.Keep
		return &reduceOp{op: op, axes: a.Axes, keep: keep}, nil
	}
}

func (r *reduceOp) arity() (int, int) { return 1, 1 }

// target returns the keep-dims shape and the final one.
func (r *reduceOp) target(x core.Shape) (kept, out core.Shape, err error) {
	kept = x.Clone()
	drop := make([]bool, x.Rank())
	for _, a := range r.axes {
		i, err := resolveAxis(a, x.Rank())
		if err != nil || drop[i] {
			return nil, nil, fmt.Errorf("reduce %s %v over %v: bad or repeated axis", r.op, x, r.axes)
		}
		drop[i] = true
	}
	for i := range kept {
		if len(r.axes) == 0 || drop[i] {
			kept[i] = 1
			drop[i] = true
		}
	}
	if r.keep {
		return kept, kept, nil
	}
	out = core.Shape{}
	for i, d := range x {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = core.Shape{1}
	}
	return kept, out, nil
}

func (r *reduceOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	_, out, err := r.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	y, err := core.Reduce(in[0], r.op, r.axes...)
	if err != nil || r.keep {
		return one(y, err)
	}
	return one(y.Reshape(out...))
}

func (r *reduceOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	_, out, err := r.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Reduce "+r.op.String(), out, f, false)
	return []core.Shape{out}, f, nil
}
