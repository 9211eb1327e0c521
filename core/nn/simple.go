package nn

import (
	"fmt"

	"webcnn/core"
)

// Activation applies an elementwise function.
type Activation struct{ F core.Unary }

// Act returns the activation layer of an op without parameters.
func Act(op core.UnaryOp) *Activation { return &Activation{F: core.Act(op)} }

// Forward applies the function.
func (a *Activation) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.Apply(x, a.F)
}

// Params returns nothing.
func (a *Activation) Params() []Param { return nil }

// Plan records the layer; it keeps the shape.
func (a *Activation) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	t.add(a.F.Op.String(), in, 0, 0, f)
	t.inPlace()
	return in, f, nil
}

// Identity passes its input through (a shortcut, a DenseNet concat branch).
type Identity struct{}

// Forward returns x itself.
func (Identity) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) { return x, nil }

// Params returns nothing.
func (Identity) Params() []Param { return nil }

// Plan records nothing.
func (Identity) Plan(_ *Trace, in core.Shape, f Field) (core.Shape, Field, error) { return in, f, nil }

// Flatten views [N, ...] as [N, rest].
type Flatten struct{}

// Forward flattens x.
func (Flatten) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) { return core.Flatten(x) }

// Params returns nothing.
func (Flatten) Params() []Param { return nil }

// Plan records the flattened shape.
func (Flatten) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	out := core.Shape{in[0], in.Size() / in[0]}
	t.add("Flatten", out, 0, 0, f)
	t.inPlace() // a view of its input
	return out, f, nil
}

// DropKind selects a dropout variant.
type DropKind int

// Dropout variants of the lecture.
const (
	DropUnits DropKind = iota // dropout
	DropMaps                  // spatial dropout
	DropPaths                 // stochastic depth (whole samples)
)

// Dropout is identity in inference and drops with probability P in training.
type Dropout struct {
	P    float32
	Kind DropKind
}

// Forward applies the dropout variant.
func (d *Dropout) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	if ctx == nil || ctx.Mode == core.Inference {
		return x, nil
	}
	switch d.Kind {
	case DropMaps:
		return core.SpatialDropout(x, d.P, ctx.RNG, ctx.Mode)
	case DropPaths:
		return core.StochasticDepth(x, d.P, ctx.RNG, ctx.Mode)
	}
	return core.Dropout(x, d.P, ctx.RNG, ctx.Mode)
}

// Params returns nothing.
func (d *Dropout) Params() []Param { return nil }

// Plan records the layer; it keeps the shape.
func (d *Dropout) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	t.add(fmt.Sprintf("Dropout %.2g", d.P), in, 0, 0, f)
	t.inPlace()
	return in, f, nil
}

// Pool is max or average pooling.
type Pool struct{ P core.Pool }

// MaxPool2D returns a k x k max pool with stride s, symmetric padding pad
// and PyTorch's ceil mode when ceil is set.
func MaxPool2D(k, s, pad int, ceil bool) *Pool {
	return &Pool{P: core.Pool{Op: core.MaxPool, Kernel: []int{k, k}, Stride: []int{s, s},
		PadBefore: []int{pad, pad}, PadAfter: []int{pad, pad}, CeilMode: ceil}}
}

// AvgPool2D returns a k x k average pool with stride s and padding pad
// (padding counted in the divisor, PyTorch's default).
func AvgPool2D(k, s, pad int) *Pool {
	return &Pool{P: core.Pool{Op: core.AvgPool, Kernel: []int{k, k}, Stride: []int{s, s},
		PadBefore: []int{pad, pad}, PadAfter: []int{pad, pad}, CountIncludePad: true}}
}

// Forward pools x.
func (p *Pool) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) { return core.PoolND(x, p.P) }

// Params returns nothing.
func (p *Pool) Params() []Param { return nil }

// Plan records the pooled shape and the field growth.
func (p *Pool) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	out, err := core.PoolShape(in, p.P)
	if err != nil {
		return nil, f, err
	}
	s := p.P.Kernel[0]
	if p.P.Stride != nil {
		s = p.P.Stride[0]
	}
	f = f.grow(p.P.Kernel[0], s)
	kind := "MaxPool"
	if p.P.Op == core.AvgPool {
		kind = "AvgPool"
	}
	t.add(fmt.Sprintf("%s %dx%d/%d", kind, p.P.Kernel[0], p.P.Kernel[len(p.P.Kernel)-1], s), out, 0, 0, f)
	return out, f, nil
}

// GlobalAvgPool averages each channel over all spatial positions: [N,1,1,C].
type GlobalAvgPool struct{}

// Forward pools x.
func (GlobalAvgPool) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.GlobalAvgPool(x)
}

// Params returns nothing.
func (GlobalAvgPool) Params() []Param { return nil }

// Plan records [N, 1.., C]; the field grows to cover the whole map.
func (GlobalAvgPool) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	out := in.Clone()
	for i := 1; i < out.Rank()-1; i++ {
		out[i] = 1
	}
	f = f.grow(in[1], 1)
	t.add("GlobalAvgPool", out, 0, 0, f)
	return out, f, nil
}
