package nn

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/autograd"
)

var (
	_ Trainable = Sequential(nil)
	_ Trainable = (*Residual)(nil)
	_ Trainable = Concat(nil)
	_ Trainable = (*SqueezeExcite)(nil)
)

// ForwardGrad chains the children; the pullback runs theirs in reverse.
// A child after which nothing needs a gradient (a frozen or parameter-free
// prefix of the network) runs as Forward does and keeps nothing.
func (s Sequential) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	pbs := make([]Pullback, len(s))
	need, any := needDX, false
	for i, c := range s {
		y, pb, err := ForwardGrad(ctx, c.Layer, x, need)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		pbs[i] = pb
		if pb != nil {
			need, any = true, true
		}
		x = y
	}
	if !any {
		return x, nil, nil
	}
	return x, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		top := dy.Buffer() // the caller's: never freed here
		for i := len(s) - 1; i >= 0 && pbs[i] != nil; i-- {
			dx, err := pbs[i](dy, g)
			if err != nil {
				return nil, fmt.Errorf("%s: backward: %w", s[i].Name, err)
			}
			if dy.Buffer() != top && (dx == nil || dx.Buffer() != dy.Buffer()) {
				dy.Free() // an intermediate gradient, now consumed
			}
			if dy = dx; dy == nil {
				break
			}
		}
		if !needDX && dy != nil {
			if dy.Buffer() != top {
				dy.Free()
			}
			return nil, nil
		}
		return dy, nil
	}, nil
}

// ForwardGrad runs both paths and adds them; the pullback differentiates
// Post, then sends the gradient down both paths and adds their input
// gradients (the identity shortcut passes it unchanged).
func (r *Residual) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	yb, pbBody, err := ForwardGrad(ctx, r.Body, x, needDX)
	if err != nil {
		return nil, nil, err
	}
	ys, pbShort := x, Pullback(nil)
	if r.Shortcut != nil {
		if ys, pbShort, err = ForwardGrad(ctx, r.Shortcut, x, needDX); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.ShortcutName, err)
		}
	}
	z, y, err := activate(r.Post, func(a core.Unary) (*core.Tensor, error) {
		sum, err := core.Elementwise(yb, ys, core.Add)
		if err != nil || a.Op == core.Identity {
			return sum, err
		}
		return sum, sum.Backend().Unary(sum, sum, a)
	})
	if err != nil {
		return nil, nil, err
	}
	if pbBody == nil && pbShort == nil && !needDX {
		return y, nil, nil
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		d, err := activationGrad(r.Post, z, y, dy)
		if err != nil {
			return nil, err
		}
		defer release(d, dy)
		var dxb, dxs *core.Tensor
		if pbBody != nil {
			if dxb, err = pbBody(d, g); err != nil {
				return nil, err
			}
		}
		switch {
		case r.Shortcut == nil:
			if needDX {
				dxs = d
			}
		case pbShort != nil:
			if dxs, err = pbShort(d, g); err != nil {
				return nil, fmt.Errorf("%s: backward: %w", r.ShortcutName, err)
			}
		}
		if !needDX {
			release(dxb, d)
			release(dxs, d)
			return nil, nil
		}
		if dxb == nil || dxs == nil {
			return nil, fmt.Errorf("residual: a path gave no input gradient")
		}
		return addGrads(dxb, dxs, d)
	}, nil
}

// ForwardGrad runs every branch and concatenates; the pullback splits dy
// along the channels, runs each branch's pullback and adds the input
// gradients.
func (c Concat) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	outs := make([]*core.Tensor, len(c))
	pbs := make([]Pullback, len(c))
	sizes := make([]int, len(c))
	any := needDX
	for i, b := range c {
		y, pb, err := ForwardGrad(ctx, b.Layer, x, needDX)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		outs[i], pbs[i] = y, pb
		sizes[i] = y.Shape()[y.Shape().Rank()-1]
		any = any || pb != nil
	}
	y, err := core.Concat(-1, outs...)
	if err != nil || !any {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		parts, err := core.Split(dy, -1, sizes...)
		if err != nil {
			return nil, err
		}
		var dx *core.Tensor
		for i, pb := range pbs {
			if pb == nil {
				parts[i].Free()
				continue
			}
			d, err := pb(parts[i], g)
			if err != nil {
				return nil, fmt.Errorf("%s: backward: %w", c[i].Name, err)
			}
			if d != nil && d.Buffer() == parts[i].Buffer() {
				if d, err = core.Apply(d, core.Unary{}); err != nil { // own a copy before freeing the part
					return nil, err
				}
			}
			parts[i].Free()
			if needDX {
				if dx, err = addGrads(dx, d, nil); err != nil {
					return nil, err
				}
			} else {
				release(d, nil)
			}
		}
		return dx, nil
	}, nil
}

// ForwardGrad gates x by e = FC2(FC1(mean of x over space)); the pullback
// gives dx = dy*e + (the gradient reaching the spatial mean, spread over
// the map) and the two convs' parameter gradients, with de the sum of
// dy*x over space.
func (s *SqueezeExcite) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	m, err := core.GlobalAvgPool(x)
	if err != nil {
		return nil, nil, err
	}
	h, pb1, err := s.FC1.ForwardGrad(ctx, m, needDX)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.Name1, err)
	}
	e, pb2, err := s.FC2.ForwardGrad(ctx, h, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.Name2, err)
	}
	y, err := core.Elementwise(x, e, core.Mul)
	if err != nil {
		return nil, nil, err
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dxGate, de, err := autograd.ElementwiseGrad(x, e, dy, core.Mul)
		if err != nil {
			return nil, err
		}
		dh, err := pb2(de, g)
		de.Free()
		if err != nil {
			return nil, fmt.Errorf("%s: backward: %w", s.Name2, err)
		}
		dm, err := pb1(dh, g)
		dh.Free()
		if err != nil {
			return nil, fmt.Errorf("%s: backward: %w", s.Name1, err)
		}
		if !needDX {
			dxGate.Free()
			return nil, nil
		}
		dxMean, err := autograd.ReduceGrad(x, m, dm, core.Mean)
		dm.Free()
		if err != nil {
			return nil, err
		}
		return addGrads(dxGate, dxMean, nil)
	}, nil
}
