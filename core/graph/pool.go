package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("pool", decodeAttrs(newPool))
	register("global_avg_pool", noAttrs(func() graphOp { return globalPoolOp{op: core.Mean} }))
	register("global_max_pool", noAttrs(func() graphOp { return globalPoolOp{op: core.ReduceMax} }))
}

// PoolAttrs configure pool: Op "max" or "avg"; Pad as for conv ("same"
// averages only the positions inside the input, as TensorFlow does).
type PoolAttrs struct {
	Op              string `json:"op"`
	Kernel          []int  `json:"kernel"`
	Stride          []int  `json:"stride,omitempty"`
	PadBefore       []int  `json:"pad_before,omitempty"`
	PadAfter        []int  `json:"pad_after,omitempty"`
	Pad             string `json:"pad,omitempty"`
	Ceil            bool   `json:"ceil,omitempty"`
	CountIncludePad bool   `json:"count_include_pad,omitempty"`
}

type poolOp struct {
	opBase
	p   core.Pool
	pad string
}

func newPool(a PoolAttrs) (graphOp, error) {
	p := core.Pool{Kernel: a.Kernel, Stride: a.Stride, PadBefore: a.PadBefore, PadAfter: a.PadAfter,
		CeilMode: a.Ceil, CountIncludePad: a.CountIncludePad}
	switch a.Op {
	case "max":
		p.Op = core.MaxPool
	case "avg":
		p.Op = core.AvgPool
	default:
		return nil, fmt.Errorf("pool op %q: want max or avg", a.Op)
	}
	if len(a.Kernel) == 0 {
		return nil, fmt.Errorf("pool: no kernel")
	}
	if err := spatialAttrs(map[string][]int{"kernel": a.Kernel, "stride": a.Stride}, 1); err != nil {
		return nil, err
	}
	if err := padAttrs(a.Pad, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if err := sameLen(a.Kernel, a.Stride, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	return &poolOp{p: p, pad: a.Pad}, nil
}

func (p *poolOp) arity() (int, int) { return 1, 1 }

func (p *poolOp) params(x core.Shape) core.Pool {
	q := p.p
	if p.pad != "" {
		stride := q.Stride
		if stride == nil {
			stride = q.Kernel
		}
		q.PadBefore, q.PadAfter = samePads(p.pad, x, q.Kernel, stride, nil)
	}
	return q
}

func (p *poolOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.PoolND(in[0], p.params(in[0].Shape())))
}

func (p *poolOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, f, err := (&nn.Pool{P: p.params(in[0].Shape())}).Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}

type globalPoolOp struct {
	opBase
	op core.ReduceOp
}

func (globalPoolOp) arity() (int, int) { return 1, 1 }

func (g globalPoolOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	if g.op == core.Mean {
		return one(core.GlobalAvgPool(in[0]))
	}
	return one(core.GlobalMaxPool(in[0]))
}

func (g globalPoolOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() < 3 {
		return nil, f, fmt.Errorf("global pool: input %v: want rank >= 3 (N, spatial..., C)", x)
	}
	if g.op == core.Mean {
		out, f, err := nn.GlobalAvgPool{}.Plan(t, x, f)
		return []core.Shape{out}, f, err
	}
	out := x.Clone()
	for i := 1; i < out.Rank()-1; i++ {
		out[i] = 1
	}
	f = nn.Field{Size: f.Size + (x[1]-1)*f.Jump, Jump: f.Jump}
	addRow(t, "GlobalMaxPool", out, f, false)
	return []core.Shape{out}, f, nil
}
