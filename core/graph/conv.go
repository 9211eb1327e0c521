package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("conv", decodeAttrs(newConv))
}

// ConvAttrs configure conv. Pad "same" is TensorFlow's (an odd total goes
// after, computed from each input's size), "same_lower" puts it before
// (ONNX SAME_LOWER), "valid" or "" with no PadBefore/PadAfter pads
// nothing. Nil slices mean 1 (stride, dilation) or 0 (padding).
type ConvAttrs struct {
	Stride    []int  `json:"stride,omitempty"`
	Dilation  []int  `json:"dilation,omitempty"`
	PadBefore []int  `json:"pad_before,omitempty"`
	PadAfter  []int  `json:"pad_after,omitempty"`
	Pad       string `json:"pad,omitempty"`
	Groups    int    `json:"groups,omitempty"`
	Act       *Act   `json:"act,omitempty"`
}

type convOp struct {
	opBase
	p   core.Conv
	pad string
}

func newConv(a ConvAttrs) (graphOp, error) {
	act, err := a.Act.Unary()
	if err != nil {
		return nil, err
	}
	if err := spatialAttrs(map[string][]int{"stride": a.Stride, "dilation": a.Dilation}, 1); err != nil {
		return nil, err
	}
	if err := padAttrs(a.Pad, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if err := sameLen(a.Stride, a.Dilation, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if a.Groups < 0 {
		return nil, fmt.Errorf("groups %d", a.Groups)
	}
	return &convOp{p: core.Conv{Stride: a.Stride, Dilation: a.Dilation, PadBefore: a.PadBefore, PadAfter: a.PadAfter,
		Groups: a.Groups, Act: act}, pad: a.Pad}, nil
}

func (c *convOp) arity() (int, int) { return 2, 3 }

func (c *convOp) check(w []core.Shape) error {
	if w[1] != nil && w[1].Rank() < 3 {
		return fmt.Errorf("weights %v: want [K1..Kd, Cin/groups, Cout]", w[1])
	}
	if len(w) > 2 && w[2] != nil {
		if w[2].Rank() != 1 || (w[1] != nil && w[2][0] != w[1][w[1].Rank()-1]) {
			return fmt.Errorf("bias %v for weights %v", w[2], w[1])
		}
	}
	return nil
}

// params resolves the padding mode for input x and weights w.
func (c *convOp) params(x, w core.Shape) core.Conv {
	p := c.p
	if c.pad != "" && w.Rank() >= 3 {
		p.PadBefore, p.PadAfter = samePads(c.pad, x, w[:w.Rank()-2], p.Stride, p.Dilation)
	}
	return p
}

func (c *convOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	var bias *core.Tensor
	if len(in) > 2 {
		bias = in[2]
	}
	return one(core.Convolve(in[0], in[1], bias, c.params(in[0].Shape(), in[1].Shape())))
}

func (c *convOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	l := &nn.Conv{W: in[1], P: c.params(in[0].Shape(), in[1].Shape())}
	if len(in) > 2 {
		l.B = in[2]
	}
	out, f, err := l.Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}
