package nn

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/autograd"
)

var (
	_ Trainable = (*Activation)(nil)
	_ Trainable = Identity{}
	_ Trainable = Flatten{}
	_ Trainable = (*Dropout)(nil)
	_ Trainable = (*Pool)(nil)
	_ Trainable = GlobalAvgPool{}
)

// ForwardGrad applies the function; the pullback multiplies by its
// derivative (autograd.UnaryGrad).
func (a *Activation) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	y, err := a.Forward(ctx, x)
	if err != nil || !needDX {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) {
		return autograd.UnaryGrad(a.F, x, y, dy)
	}, nil
}

// passBack is the pullback of the identity.
func passBack(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return dy, nil }

// ForwardGrad returns x; the gradient passes through.
func (Identity) ForwardGrad(_ *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	if !needDX {
		return x, nil, nil
	}
	return x, passBack, nil
}

// ForwardGrad flattens x; the pullback views dy in x's shape.
func (f Flatten) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	y, err := f.Forward(ctx, x)
	if err != nil || !needDX {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return dy.Reshape(x.Shape()...) }, nil
}

// dropMask returns the shape of d's mask for x (what is dropped together).
func (d *Dropout) maskShape(x core.Shape) (core.Shape, error) {
	m := make(core.Shape, x.Rank())
	for i := range m {
		m[i] = 1
	}
	switch d.Kind {
	case DropUnits:
		return x.Clone(), nil
	case DropMaps:
		if x.Rank() < 2 {
			return nil, fmt.Errorf("spatial dropout: input %v needs a batch and a channel axis", x)
		}
		m[0], m[len(m)-1] = x[0], x[len(x)-1]
	case DropPaths:
		if x.Rank() < 1 {
			return nil, fmt.Errorf("stochastic depth: input %v has no batch axis", x)
		}
		m[0] = x[0]
	}
	return m, nil
}

// ForwardGrad drops as Forward does, drawing the same mask from ctx.RNG
// (core's dropout variants draw RNG.Mask of the mask's size), and keeps
// the mask: the pullback is dy times the mask. In inference it is the
// identity.
func (d *Dropout) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	if ctx == nil || ctx.Mode == core.Inference || d.P == 0 {
		return Identity{}.ForwardGrad(ctx, x, needDX)
	}
	if d.P < 0 || d.P >= 1 {
		return nil, nil, fmt.Errorf("dropout: drop probability %v must be in [0, 1)", d.P)
	}
	if ctx.RNG == nil {
		return nil, nil, fmt.Errorf("dropout: training mode needs an RNG")
	}
	ms, err := d.maskShape(x.Shape())
	if err != nil {
		return nil, nil, err
	}
	mask, err := core.FromData(x.Backend(), ms, ctx.RNG.Mask(ms.Size(), d.P))
	if err != nil {
		return nil, nil, err
	}
	y, err := core.Elementwise(x, mask, core.Mul)
	if err != nil || !needDX {
		mask.Free()
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return core.Elementwise(dy, mask, core.Mul) }, nil
}

// ForwardGrad pools x; the pullback is autograd.PoolGrad.
func (p *Pool) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	y, err := p.Forward(ctx, x)
	if err != nil || !needDX {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return autograd.PoolGrad(x, y, dy, p.P) }, nil
}

// ForwardGrad averages x; the pullback spreads dy/count over the map.
func (gp GlobalAvgPool) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	y, err := gp.Forward(ctx, x)
	if err != nil || !needDX {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return autograd.ReduceGrad(x, y, dy, core.Mean) }, nil
}
