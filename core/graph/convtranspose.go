package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/nn"
)

// ConvTransposeAttrs configure conv_transpose (ONNX ConvTranspose, the
// "deconvolution"): x [N, I1..Id, Cin], w [K1..Kd, Cout/groups, Cin],
// bias? [Cout]. The output is the input gradient of the convolution with
// these weights, stride, dilation and padding, whose output x would be:
// O = stride*(I-1) + OutputPadding + (K-1)*dilation + 1 - PadBefore - PadAfter.
// Pad "same_upper" or "same_lower" pads so that O = I*stride; OutSize
// fixes O instead (0 keeps the computed extent). An odd total padding puts
// the extra entry after for same_upper and before otherwise, as ONNX's
// ConvTranspose says and onnxruntime does.
type ConvTransposeAttrs struct {
	Stride        []int  `json:"stride,omitempty"`
	Dilation      []int  `json:"dilation,omitempty"`
	PadBefore     []int  `json:"pad_before,omitempty"`
	PadAfter      []int  `json:"pad_after,omitempty"`
	OutputPadding []int  `json:"output_padding,omitempty"`
	OutSize       []int  `json:"out_size,omitempty"`
	Pad           string `json:"pad,omitempty"`
	Groups        int    `json:"groups,omitempty"`
}

func init() {
	register("conv_transpose", decodeAttrs(newConvTranspose))
}

type convTransposeOp struct {
	opBase
	a ConvTransposeAttrs
}

func newConvTranspose(a ConvTransposeAttrs) (graphOp, error) {
	if err := spatialAttrs(map[string][]int{"stride": a.Stride, "dilation": a.Dilation}, 1); err != nil {
		return nil, err
	}
	if err := spatialAttrs(map[string][]int{"pad_before": a.PadBefore, "pad_after": a.PadAfter, "output_padding": a.OutputPadding, "out_size": a.OutSize}, 0); err != nil {
		return nil, err
	}
	switch a.Pad {
	case "", "same_upper", "same_lower":
	default:
		return nil, fmt.Errorf("pad %q: want same_upper, same_lower or nothing", a.Pad)
	}
	if (a.Pad != "" || a.OutSize != nil) && (a.PadBefore != nil || a.PadAfter != nil) {
		return nil, fmt.Errorf("pad %q and out_size %v exclude pad_before and pad_after", a.Pad, a.OutSize)
	}
	if err := sameLen(a.Stride, a.Dilation, a.PadBefore, a.PadAfter, a.OutputPadding, a.OutSize); err != nil {
		return nil, err
	}
	if a.Groups < 0 {
		return nil, fmt.Errorf("groups %d", a.Groups)
	}
	return &convTransposeOp{a: a}, nil
}

func (c *convTransposeOp) arity() (int, int) { return 2, 3 }

func (c *convTransposeOp) check(w []core.Shape) error {
	if w[1] != nil && w[1].Rank() < 3 {
		return fmt.Errorf("weights %v: want [K1..Kd, Cout/groups, Cin]", w[1])
	}
	if len(w) > 2 && w[2] != nil && w[2].Rank() != 1 {
		return fmt.Errorf("bias %v: want [Cout]", w[2])
	}
	return nil
}

// shapes returns the convolution that the op transposes and its input
// shape (the op's output).
func (c *convTransposeOp) shapes(x, w core.Shape) (core.Conv, core.Shape, error) {
	d := x.Rank() - 2
	if d < 1 || w.Rank() != d+2 {
		return core.Conv{}, nil, fmt.Errorf("conv_transpose of %v by %v: want x [N, I1..Id, Cin] and w [K1..Kd, Cout/groups, Cin]", x, w)
	}
	g := max(c.a.Groups, 1)
	if x[d+1] != w[d+1] || x[d+1]%g != 0 {
		return core.Conv{}, nil, fmt.Errorf("conv_transpose of %v by %v: %d input channels, weights for %d (groups %d)", x, w, x[d+1], w[d+1], g)
	}
	for _, s := range [][]int{c.a.Stride, c.a.Dilation, c.a.PadBefore, c.a.PadAfter, c.a.OutputPadding, c.a.OutSize} {
		if s != nil && len(s) != d {
			return core.Conv{}, nil, fmt.Errorf("conv_transpose of %v: per-axis attributes have %d entries, want %d", x, len(s), d)
		}
	}
	get := func(s []int, i, def int) int {
		if s == nil {
			return def
		}
		return s[i]
	}
	p := core.Conv{Groups: g, Stride: make([]int, d), Dilation: make([]int, d), PadBefore: make([]int, d), PadAfter: make([]int, d)}
	out := core.Shape{x[0]}
	for i := range d {
		s, dil, op := get(c.a.Stride, i, 1), get(c.a.Dilation, i, 1), get(c.a.OutputPadding, i, 0)
		if op >= s && op >= dil {
			return core.Conv{}, nil, fmt.Errorf("conv_transpose: output_padding %d on axis %d must be less than the stride %d or the dilation %d", op, i, s, dil)
		}
		full := s*(x[1+i]-1) + op + (w[i]-1)*dil + 1
		pb, pa := get(c.a.PadBefore, i, 0), get(c.a.PadAfter, i, 0)
		o := full - pb - pa
		want := 0
		switch {
		case get(c.a.OutSize, i, 0) > 0:
			want = c.a.OutSize[i]
		case c.a.Pad != "":
			want = x[1+i] * s
		}
		if want > 0 {
			total := max(full-want, 0)
			pb, pa = total-total/2, total/2
			if c.a.Pad == "same_upper" {
				pb, pa = pa, pb
			}
			o = want
		}
		if o < 1 {
			return core.Conv{}, nil, fmt.Errorf("conv_transpose of %v by %v: axis %d would have %d entries", x, w, i, o)
		}
		p.Stride[i], p.Dilation[i], p.PadBefore[i], p.PadAfter[i] = s, dil, pb, pa
		out = append(out, o)
	}
	out = append(out, w[d]*g)
	return p, out, nil
}

func (c *convTransposeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	_, out, err := c.shapes(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, err
	}
	if len(in) > 2 && !in[2].Shape().Equal(core.Shape{out[out.Rank()-1]}) {
		return nil, f, fmt.Errorf("conv_transpose: bias %v for %d output channels", in[2].Shape(), out[out.Rank()-1])
	}
	addRow(t, "ConvTranspose", out, f, false)
	return []core.Shape{out}, f, nil
}

func (c *convTransposeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	p, out, err := c.shapes(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	y, err := autograd.ConvInputGrad(in[0], in[1], out, p)
	if err != nil {
		return nil, fmt.Errorf("conv_transpose of %v by %v: %w", in[0].Shape(), in[1].Shape(), err)
	}
	if len(in) < 3 {
		return []*core.Tensor{y}, nil
	}
	z, err := core.Elementwise(y, in[2], core.Add)
	y.Free()
	return one(z, err)
}
