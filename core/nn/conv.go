package nn

import (
	"fmt"
	"strings"

	"webcnn/core"
)

// Conv is an N-d convolution with optional bias and fused activation.
// W is [K1..Kd, Cin/groups, Cout]; its parameters are "weight" and "bias".
type Conv struct {
	W, B *core.Tensor
	P    core.Conv
	// Same computes TF "same" padding from each input's size (Keras models);
	// otherwise P's explicit padding applies.
	Same bool
}

func (c *Conv) params(in core.Shape) core.Conv {
	if !c.Same {
		return c.P
	}
	ws := c.W.Shape()
	return core.ConvPadding(c.P, in, ws[:ws.Rank()-2], core.Same)
}

// Forward convolves x.
func (c *Conv) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.Convolve(x, c.W, c.B, c.params(x.Shape()))
}

// Params returns weight and bias.
func (c *Conv) Params() []Param {
	ps := []Param{{Name: "weight", T: c.W}}
	if c.B != nil {
		ps = append(ps, Param{Name: "bias", T: c.B})
	}
	return ps
}

// Plan records the conv's output, parameters and multiply-adds
// (outputs x kernel elements x input channels per group).
func (c *Conv) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	p := c.params(in)
	out, err := core.ConvShape(in, c.W.Shape(), p)
	if err != nil {
		return nil, f, err
	}
	ws := c.W.Shape()
	d := ws.Rank() - 2
	k := int64(ws.Size() / ws[d+1]) // K1..Kd x Cin/groups
	macs := int64(out.Size()) * k
	f = f.grow((ws[0]-1)*dil(p, 0)+1, stride(p, 0))
	dims := make([]string, d)
	for i := range dims {
		dims[i] = fmt.Sprint(ws[i])
	}
	kind := fmt.Sprintf("Conv %s/%d %d", strings.Join(dims, "x"), stride(p, 0), ws[d+1])
	if g := max(p.Groups, 1); g > 1 {
		kind += fmt.Sprintf(" g%d", g)
	}
	if p.Act.Op != core.Identity {
		kind += " " + p.Act.Op.String()
	}
	params := int64(ws.Size())
	if c.B != nil {
		params += int64(c.B.Size())
	}
	t.add(kind, out, params, macs, f)
	return out, f, nil
}

func dil(p core.Conv, i int) int {
	if p.Dilation == nil {
		return 1
	}
	return p.Dilation[i]
}

func stride(p core.Conv, i int) int {
	if p.Stride == nil {
		return 1
	}
	return p.Stride[i]
}

// Linear is a fully connected layer: W is [In, Out] (PyTorch stores
// [Out, In]; the converter transposes), parameters "weight" and "bias".
type Linear struct {
	W, B *core.Tensor
	Act  core.Unary
}

// Forward flattens x to [N, In] and applies the layer.
func (l *Linear) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.Dense(x, l.W, l.B, l.Act)
}

// Params returns weight and bias.
func (l *Linear) Params() []Param {
	ps := []Param{{Name: "weight", T: l.W}}
	if l.B != nil {
		ps = append(ps, Param{Name: "bias", T: l.B})
	}
	return ps
}

// Plan records [N, Out] and In x Out multiply-adds per sample.
func (l *Linear) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	ws := l.W.Shape()
	if in.Size()/in[0] != ws[0] {
		return nil, f, fmt.Errorf("linear: input %v has %d features, weights %v", in, in.Size()/in[0], ws)
	}
	out := core.Shape{in[0], ws[1]}
	params := int64(ws.Size())
	if l.B != nil {
		params += int64(l.B.Size())
	}
	t.add(fmt.Sprintf("Linear %d", ws[1]), out, params, int64(in[0])*int64(ws.Size()), f)
	return out, f, nil
}
