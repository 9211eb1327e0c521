package autograd

import (
	"fmt"

	"webcnn/core"
)

// Normalized is x normalized over some axes, xhat = (x - mean) * rstd,
// with what its gradient needs. Batch norm normalizes over every axis but
// the channels, layer norm over the trailing axes, group norm over a
// sample's group: all share this gradient.
type Normalized struct {
	XHat      *core.Tensor // x's shape
	Mean, Var *core.Tensor // keep-dims batch statistics (biased variance)
	RStd      *core.Tensor // keep-dims 1/sqrt(var + eps)
	Axes      []int
}

// Normalize computes xhat over axes with the same ops as core's norms.
func Normalize(x *core.Tensor, eps float32, axes ...int) (*Normalized, error) {
	mean, variance, err := core.Moments(x, axes...)
	if err != nil {
		return nil, err
	}
	var c calc
	c.tmps = []*core.Tensor{mean, variance}
	rstd := c.un(c.affine(variance, 1, eps), core.Unary{Op: core.Rsqrt})
	xhat := c.into(c.bin(x, mean, core.Sub), rstd, core.Mul)
	if c.err != nil {
		c.done()
		return nil, c.err
	}
	return &Normalized{XHat: xhat, Mean: mean, Var: variance, RStd: rstd, Axes: axes}, nil
}

// Grad returns dL/dx given dL/dxhat:
//
//	dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//
// with the means over the normalized axes (the derivative of xhat through
// both the mean and the variance).
func (n *Normalized) Grad(dxhat *core.Tensor) (*core.Tensor, error) {
	var c calc
	m1 := c.reduce(dxhat, core.Mean, n.Axes...)
	m2 := c.reduce(c.bin(dxhat, n.XHat, core.Mul), core.Mean, n.Axes...)
	dx := c.bin(dxhat, m1, core.Sub)
	c.into(dx, c.bin(n.XHat, m2, core.Mul), core.Sub)
	return c.result(c.into(dx, n.RStd, core.Mul))
}

// Free releases the saved tensors.
func (n *Normalized) Free() {
	if n == nil {
		return
	}
	for _, t := range []*core.Tensor{n.XHat, n.Mean, n.Var, n.RStd} {
		t.Free()
	}
}

// AffineGrad returns the gradients of y = xhat*gamma + beta with respect
// to gamma and beta (each summed to its shape: [C] per channel, or the
// trailing axes of a layer norm) and xhat (dy*gamma, when wantX).
func AffineGrad(xhat, gamma *core.Tensor, gshape core.Shape, dy *core.Tensor, wantX bool) (dxhat, dgamma, dbeta *core.Tensor, err error) {
	var c calc
	dbeta = c.tmp(SumTo(dy, gshape))
	dgamma = c.tmp(SumTo(c.bin(dy, xhat, core.Mul), gshape))
	if wantX {
		dxhat = c.bin(dy, gamma, core.Mul)
	}
	if c.err != nil {
		c.done()
		return nil, nil, nil, fmt.Errorf("affine gradient: %w", c.err)
	}
	c.done(dxhat, dgamma, dbeta)
	return dxhat, dgamma, dbeta, nil
}
