package nn

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/autograd"
)

var (
	_ Trainable = (*BatchNorm)(nil)
	_ Trainable = (*LayerNorm)(nil)
	_ Trainable = (*ChannelScale)(nil)
	_ Trainable = (*LRN)(nil)
)

// leading returns the axes 0..r-2 (every axis but the channels).
func leading(r int) []int {
	a := make([]int, r-1)
	for i := range a {
		a[i] = i
	}
	return a
}

// ForwardGrad normalizes with batch statistics in training (updating the
// running ones as core.BatchNormTrain does) and with the running ones
// otherwise (a frozen or fine-tuned network in inference mode), and
// returns the pullback for x, gamma and beta.
func (n *BatchNorm) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	s := x.Shape()
	c := s[s.Rank()-1]
	if c != n.Gamma.Size() {
		return nil, nil, fmt.Errorf("batch norm: input %v, %d channels expected", s, n.Gamma.Size())
	}
	var nz *autograd.Normalized
	if ctx != nil && ctx.Mode == core.Training {
		count := s.Size() / c
		if count < 2 {
			return nil, nil, fmt.Errorf("batch norm (train): input %v has one value per channel; batch statistics need more", s)
		}
		var err error
		if nz, err = autograd.Normalize(x, n.Eps, leading(s.Rank())...); err != nil {
			return nil, nil, fmt.Errorf("batch norm (train): %w", err)
		}
		if err := n.updateRunning(nz, float32(count)/float32(count-1)); err != nil {
			return nil, nil, fmt.Errorf("batch norm (train): %w", err)
		}
	} else {
		var err error
		if nz, err = n.runningNormalized(x); err != nil {
			return nil, nil, fmt.Errorf("batch norm: %w", err)
		}
	}
	y, err := affine(nz.XHat, n.Gamma, n.Beta)
	if err != nil {
		return nil, nil, fmt.Errorf("batch norm: %w", err)
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dxhat, dgamma, dbeta, err := autograd.AffineGrad(nz.XHat, n.Gamma, n.Gamma.Shape(), dy, needDX)
		if err != nil {
			return nil, err
		}
		if err := g.Add(n.Gamma, dgamma); err != nil {
			return nil, err
		}
		if err := g.Add(n.Beta, dbeta); err != nil {
			return nil, err
		}
		if !needDX {
			return nil, nil
		}
		defer dxhat.Free()
		if nz.Axes == nil { // running statistics are constants: dx = dxhat * rstd
			return core.Elementwise(dxhat, nz.RStd, core.Mul)
		}
		return nz.Grad(dxhat)
	}, nil
}

// runningNormalized is xhat with the running statistics (Axes nil: the
// statistics do not depend on x).
func (n *BatchNorm) runningNormalized(x *core.Tensor) (*autograd.Normalized, error) {
	rstd, err := core.Scale(n.Var, 1, n.Eps)
	if err != nil {
		return nil, err
	}
	if err := rstd.Backend().Unary(rstd, rstd, core.Unary{Op: core.Rsqrt}); err != nil {
		return nil, err
	}
	d, err := core.Elementwise(x, n.Mean, core.Sub)
	if err != nil {
		return nil, err
	}
	xhat, err := core.Elementwise(d, rstd, core.Mul)
	d.Free()
	if err != nil {
		return nil, err
	}
	return &autograd.Normalized{XHat: xhat, RStd: rstd}, nil
}

// updateRunning blends the batch statistics into the running ones:
// running = (1-m) running + m k batch, k = 1 for the mean and the
// unbiasing factor count/(count-1) for the variance (PyTorch).
func (n *BatchNorm) updateRunning(nz *autograd.Normalized, unbias float32) error {
	c := n.Gamma.Size()
	for _, u := range []struct {
		run, batch *core.Tensor
		k          float32
	}{{n.Mean, nz.Mean, 1}, {n.Var, nz.Var, unbias}} {
		v, err := u.batch.Reshape(c)
		if err != nil {
			return err
		}
		nv, err := core.Scale(v, n.Momentum*u.k, 0)
		if err != nil {
			return err
		}
		b := u.run.Backend()
		err = b.Unary(u.run, u.run, core.Unary{Op: core.Affine, Alpha: 1 - n.Momentum})
		if err == nil {
			err = b.Binary(u.run, u.run, nv, core.Add)
		}
		nv.Free()
		if err != nil {
			return err
		}
	}
	return nil
}

// affine returns x*gamma + beta with gamma and beta broadcast.
func affine(x, gamma, beta *core.Tensor) (*core.Tensor, error) {
	y, err := core.Elementwise(x, gamma, core.Mul)
	if err != nil {
		return nil, err
	}
	s, err := core.Elementwise(y, beta, core.Add)
	y.Free()
	return s, err
}

// ForwardGrad normalizes over Gamma's trailing axes and returns the
// pullback for x, gamma and beta.
func (n *LayerNorm) ForwardGrad(_ *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	s, gs := x.Shape(), n.Gamma.Shape()
	k := gs.Rank()
	if k == 0 || k >= s.Rank() || !core.Shape(s[s.Rank()-k:]).Equal(gs) {
		return nil, nil, fmt.Errorf("layer norm: gamma %v must match trailing axes of input %v", gs, s)
	}
	axes := make([]int, k)
	for i := range axes {
		axes[i] = s.Rank() - k + i
	}
	nz, err := autograd.Normalize(x, n.Eps, axes...)
	if err != nil {
		return nil, nil, fmt.Errorf("layer norm: %w", err)
	}
	y, err := affine(nz.XHat, n.Gamma, n.Beta)
	if err != nil {
		return nil, nil, fmt.Errorf("layer norm: %w", err)
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dxhat, dgamma, dbeta, err := autograd.AffineGrad(nz.XHat, n.Gamma, gs, dy, needDX)
		if err != nil {
			return nil, err
		}
		if err := g.Add(n.Gamma, dgamma); err != nil {
			return nil, err
		}
		if err := g.Add(n.Beta, dbeta); err != nil {
			return nil, err
		}
		if !needDX {
			return nil, nil
		}
		defer dxhat.Free()
		return nz.Grad(dxhat)
	}, nil
}

// ForwardGrad scales x; the pullback gives dx = dy*gamma and dgamma = the
// sum of dy*x over every axis but the channels.
func (s *ChannelScale) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	y, err := s.Forward(ctx, x)
	if err != nil {
		return nil, nil, err
	}
	return y, func(dy *core.Tensor, g *Grads) (*core.Tensor, error) {
		dx, dgamma, err := autograd.ElementwiseGrad(x, s.Gamma, dy, core.Mul)
		if err != nil {
			return nil, err
		}
		if err := g.Add(s.Gamma, dgamma); err != nil {
			return nil, err
		}
		if !needDX {
			dx.Free()
			return nil, nil
		}
		return dx, nil
	}, nil
}

// ForwardGrad computes y = x * P with P = D^-beta, D = k + alpha*A and A
// the average of x^2 over the size channels centred on each channel (as
// core.LRN does), and returns the pullback
//
//	dx = dy*P - 2 alpha beta x * avgpoolT(dy * x * P / D)
//
// where avgpoolT is the gradient of that channel average (every window
// divides by size).
func (n *LRN) ForwardGrad(_ *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	s := x.Shape()
	if n.Size < 1 || s.Rank() < 1 {
		return nil, nil, fmt.Errorf("lrn: size %d, input %v", n.Size, s)
	}
	c := s[s.Rank()-1]
	col := core.Shape{s.Size() / c, c, 1}
	pool := core.Pool{Op: core.AvgPool, Kernel: []int{n.Size}, Stride: []int{1},
		PadBefore: []int{n.Size / 2}, PadAfter: []int{(n.Size - 1) / 2}, CountIncludePad: true}
	sq, err := core.Apply(x, core.Unary{Op: core.Square})
	if err != nil {
		return nil, nil, err
	}
	sqc, err := sq.Reshape(col...)
	if err != nil {
		return nil, nil, err
	}
	a, err := core.PoolND(sqc, pool)
	if err != nil {
		return nil, nil, fmt.Errorf("lrn: %w", err)
	}
	b := x.Backend()
	if err := b.Unary(a, a, core.Unary{Op: core.Affine, Alpha: n.Alpha, Beta: n.Bias}); err != nil {
		return nil, nil, err
	}
	d, err := a.Reshape(s...) // D
	if err != nil {
		return nil, nil, err
	}
	p, err := core.Apply(d, core.Unary{Op: core.Pow, Alpha: -n.Beta})
	if err != nil {
		return nil, nil, err
	}
	y, err := core.Elementwise(x, p, core.Mul)
	if err != nil || !needDX {
		return y, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) {
		u, err := core.Elementwise(dy, y, core.Mul) // dy * x * P
		if err != nil {
			return nil, err
		}
		defer u.Free()
		if err := b.Binary(u, u, d, core.Div); err != nil {
			return nil, err
		}
		uc, err := u.Reshape(col...)
		if err != nil {
			return nil, err
		}
		t, err := autograd.PoolGrad(sqc, nil, uc, pool)
		if err != nil {
			return nil, err
		}
		defer t.Free()
		tv, err := t.Reshape(s...)
		if err != nil {
			return nil, err
		}
		if err := b.Binary(tv, tv, x, core.Mul); err != nil {
			return nil, err
		}
		if err := b.Unary(tv, tv, core.Unary{Op: core.Affine, Alpha: -2 * n.Alpha * n.Beta}); err != nil {
			return nil, err
		}
		dx, err := core.Elementwise(dy, p, core.Mul)
		if err != nil {
			return nil, err
		}
		return dx, b.Binary(dx, dx, tv, core.Add)
	}, nil
}
