package nn

import (
	"webcnn/core"
	"webcnn/core/autograd"
)

var (
	_ Trainable = (*Conv)(nil)
	_ Trainable = (*Linear)(nil)
)

// activate runs a layer's affine part through its fused activation act.
// When the derivative can be taken from the output the activation stays
// fused (run(act)) and z is nil; otherwise z = run(identity) is kept and
// y = act(z).
func activate(act core.Unary, run func(core.Unary) (*core.Tensor, error)) (z, y *core.Tensor, err error) {
	if autograd.FromOutput(act) {
		y, err = run(act)
		return nil, y, err
	}
	if z, err = run(core.Unary{}); err != nil {
		return nil, nil, err
	}
	y, err = core.Apply(z, act)
	return z, y, err
}

// activationGrad returns dL/dz for y = act(z); dy itself for the identity.
func activationGrad(act core.Unary, z, y, dy *core.Tensor) (*core.Tensor, error) {
	if act.Op == core.Identity {
		return dy, nil
	}
	return autograd.UnaryGrad(act, z, y, dy)
}

// ForwardGrad convolves x and returns the pullback: dL/dw and dL/db
// (ConvWeightGrad, BiasGrad) and dL/dx (the transposed convolution).
func (c *Conv) ForwardGrad(_ *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	p := c.params(x.Shape())
	z, y, err := activate(p.Act, func(a core.Unary) (*core.Tensor, error) {
		q := p
		q.Act = a
		return core.Convolve(x, c.W, c.B, q)
	})
	if err != nil {
		return nil, nil, err
	}
	act := p.Act
	p.Act = core.Unary{}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dz, err := activationGrad(act, z, y, dy)
		if err != nil {
			return nil, err
		}
		defer release(dz, dy)
		if g.Wants(c.W) {
			dw, err := autograd.ConvWeightGrad(x, dz, c.W.Shape(), p)
			if err != nil {
				return nil, err
			}
			if err := g.Add(c.W, dw); err != nil {
				return nil, err
			}
		}
		if g.Wants(c.B) {
			db, err := autograd.BiasGrad(dz)
			if err != nil {
				return nil, err
			}
			if err := g.Add(c.B, db); err != nil {
				return nil, err
			}
		}
		if !needDX {
			return nil, nil
		}
		return autograd.ConvInputGrad(dz, c.W, x.Shape(), p)
	}, nil
}

// ForwardGrad applies the layer and returns the pullback: with x
// flattened to [N, In] and dz = dL/d(xW + b), dW = x^T dz, db = sum of dz
// over the batch, dx = dz W^T.
func (l *Linear) ForwardGrad(_ *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	z, y, err := activate(l.Act, func(a core.Unary) (*core.Tensor, error) { return core.Dense(x, l.W, l.B, a) })
	if err != nil {
		return nil, nil, err
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dz, err := activationGrad(l.Act, z, y, dy)
		if err != nil {
			return nil, err
		}
		defer release(dz, dy)
		if g.Wants(l.W) {
			xf, err := core.Flatten(x)
			if err != nil {
				return nil, err
			}
			dw, err := core.MatMulT(xf, dz, nil, core.MatMul{TransA: true})
			if err != nil {
				return nil, err
			}
			if err := g.Add(l.W, dw); err != nil {
				return nil, err
			}
		}
		if g.Wants(l.B) {
			db, err := autograd.BiasGrad(dz)
			if err != nil {
				return nil, err
			}
			if err := g.Add(l.B, db); err != nil {
				return nil, err
			}
		}
		if !needDX {
			return nil, nil
		}
		dx, err := core.MatMulT(dz, l.W, nil, core.MatMul{TransB: true})
		if err != nil {
			return nil, err
		}
		return dx.Reshape(x.Shape()...)
	}, nil
}
