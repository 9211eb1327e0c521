package autograd

import (
	"fmt"
	"math"

	"webcnn/core"
)

// PoolGrader is an optional Backend kernel for the gradient of Pool,
// found by type assertion; without it PoolGrad composes Conv, Copy and
// elementwise kernels (correct on any backend, but a max pool costs about
// fourteen kernel launches per window position). Its contract:
//
// PoolGrad sets dx (x's shape, [N, S..., C]) to the gradient of
// y = Pool(x, p) given y and dy ([N, O..., C]), overwriting dx:
//
//	avg: dx[n,i,c] = sum over outputs o whose window contains i of
//	     dy[n,o,c] / divisor(o), the divisor of the forward pass
//	     (window positions inside the input, or inside the declared
//	     padding with CountIncludePad);
//	max: dx[n,i,c] = sum over outputs o whose window contains i of
//	     dy[n,o,c] if i is the first position of the window, in row-major
//	     order, with x[n,i,c] == y[n,o,c]; padding never wins.
//
// The first-position tie rule is PyTorch's.
type PoolGrader interface {
	PoolGrad(dx, x, y, dy *core.Tensor, p core.Pool) error
}

// PoolGrad returns dL/dx for y = PoolND(x, p) given y and dy; see
// PoolGrader for the definition. y is needed for max pooling only.
func PoolGrad(x, y, dy *core.Tensor, p core.Pool) (*core.Tensor, error) {
	out, err := core.PoolShape(x.Shape(), p)
	if err != nil {
		return nil, err
	}
	if !out.Equal(dy.Shape()) {
		return nil, fmt.Errorf("pool gradient: dy %v, pooling %v gives %v", dy.Shape(), x.Shape(), out)
	}
	if p.Stride == nil {
		p.Stride = p.Kernel
	}
	if pg, ok := x.Backend().(PoolGrader); ok {
		dx, err := core.New(x.Backend(), x.Shape())
		if err != nil {
			return nil, err
		}
		if err := pg.PoolGrad(dx, x, y, dy, p); err != nil {
			dx.Free()
			return nil, fmt.Errorf("pool %s gradient: %w", p.Op, err)
		}
		return dx, nil
	}
	if p.Op == core.AvgPool {
		return avgPoolGrad(x.Shape(), dy, p)
	}
	if y == nil || !y.Shape().Equal(out) {
		return nil, fmt.Errorf("max pool gradient: needs the output %v", out)
	}
	return maxPoolGrad(x, y, dy, p)
}

// avgPoolGrad divides dy by each window's divisor and spreads it back with
// the transposed depthwise convolution of an all-ones kernel.
func avgPoolGrad(xs core.Shape, dy *core.Tensor, p core.Pool) (*core.Tensor, error) {
	var c calc
	b := dy.Backend()
	d := xs.Rank() - 2
	ch := xs[d+1]
	div := c.tmp(divisors(b, xs, dy.Shape(), p))
	scaled := c.bin(dy, div, core.Div)
	ones := c.full(b, append(core.Shape(p.Kernel).Clone(), 1, ch), 1)
	if c.err != nil {
		return c.result(nil)
	}
	// Ceil mode may add windows beyond the declared padding: pad the
	// equivalent convolution up to the last window's end.
	pb, pa := make([]int, d), make([]int, d)
	for a := 0; a < d; a++ {
		pb[a] = at(p.PadBefore, a, 0)
		pa[a] = max(at(p.PadAfter, a, 0), (dy.Shape()[1+a]-1)*p.Stride[a]+p.Kernel[a]-xs[1+a]-pb[a])
	}
	dx, err := ConvInputGrad(scaled, ones, xs, core.Conv{Stride: p.Stride, PadBefore: pb, PadAfter: pa, Groups: ch})
	c.fail(err)
	return c.result(dx)
}

// divisors returns the divisor of every output window, [1, O..., 1]. It
// depends only on the shapes, so it is computed on the host (a constant
// like a dropout mask): per axis, the positions of the window inside
// [0, in), or inside [-padBefore, in + padAfter) with CountIncludePad; a
// window's divisor is the product over axes.
func divisors(b core.Backend, xs, ys core.Shape, p core.Pool) (*core.Tensor, error) {
	d := xs.Rank() - 2
	shape := core.Shape{1}
	axes := make([][]float32, d)
	for a := 0; a < d; a++ {
		in, o := xs[1+a], ys[1+a]
		k, s := p.Kernel[a], p.Stride[a]
		pb, pa := at(p.PadBefore, a, 0), at(p.PadAfter, a, 0)
		lo, hi := 0, in
		if p.CountIncludePad {
			lo, hi = -pb, in+pa
		}
		for i := 0; i < o; i++ {
			start := i*s - pb
			axes[a] = append(axes[a], float32(min(start+k, hi)-max(start, lo)))
		}
		shape = append(shape, o)
	}
	shape = append(shape, 1)
	v := make([]float32, shape.Size())
	idx := make([]int, d)
	for i := range v {
		f := float32(1)
		for a := 0; a < d; a++ {
			f *= axes[a][idx[a]]
		}
		v[i] = f
		for a := d - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < shape[1+a] {
				break
			}
			idx[a] = 0
		}
	}
	return core.FromData(b, shape, v)
}

// maxPoolGrad routes each dy to the first maximum of its window. For every
// kernel offset k it gathers the window elements x[o*s - pb + k] of all
// outputs at once (a strided copy of x padded with -inf), marks where they
// equal y and no earlier offset has matched, and adds dy there into the
// (padded) gradient.
func maxPoolGrad(x, y, dy *core.Tensor, p core.Pool) (*core.Tensor, error) {
	var c calc
	b := x.Backend()
	xs, ys := x.Shape(), y.Shape()
	d := xs.Rank() - 2
	// The padded input holds every window: [-pb, max(in+pa, (o-1)s - pb + k)).
	before, after := make([]int, d+2), make([]int, d+2)
	ps := xs.Clone()
	disjoint := true
	for a := 0; a < d; a++ {
		k, s := p.Kernel[a], p.Stride[a]
		pb := at(p.PadBefore, a, 0)
		end := max(xs[1+a]+at(p.PadAfter, a, 0), (ys[1+a]-1)*s-pb+k)
		before[1+a], after[1+a] = pb, end-xs[1+a]
		ps[1+a] = pb + end
		disjoint = disjoint && s >= k
	}
	xp := c.tmp(core.Pad(x, before, after, float32(math.Inf(-1))))
	dxp := c.zeros(b, ps)
	taken := c.zeros(b, ys)
	xk := c.zeros(b, ys)
	acc := c.zeros(b, ys)
	pst := contiguous(ps)
	win := core.Copy{Shape: ys.Clone(), SrcStrides: append([]int(nil), pst...), DstStrides: contiguous(ys)}
	for a := 0; a < d; a++ {
		win.SrcStrides[1+a] *= p.Stride[a]
	}
	k := make([]int, d)
	for c.err == nil {
		kidx := append(append([]int{0}, k...), 0)
		win.SrcOffset = offset(pst, kidx)
		c.copyRegion(xk, xp, win) // xk[o] = x[o*s - pb + k]
		// m = [xk >= y] (1 - taken): xk - y <= 0 always, and a mask of
		// "not below" is 1 - [y - xk > 0].
		c.into(xk, y, core.Sub)
		m := c.un(c.step(xk, -1, 0), core.Unary{Op: core.Affine, Alpha: -1, Beta: 1})
		c.into(m, c.affine(taken, -1, 1), core.Mul)
		c.into(taken, m, core.Add)
		c.into(m, dy, core.Mul)
		back := core.Copy{Shape: win.Shape, SrcStrides: win.DstStrides, DstOffset: win.SrcOffset, DstStrides: win.SrcStrides}
		if disjoint { // windows do not overlap: each dxp position is written once
			c.copyRegion(dxp, m, back)
		} else {
			c.copyRegion(acc, dxp, win)
			c.into(acc, m, core.Add)
			c.copyRegion(dxp, acc, back)
		}
		if !nextIndex(k, p.Kernel) {
			break
		}
	}
	dx := c.zeros(b, xs)
	c.copyRegion(dx, dxp, core.Copy{Shape: xs.Clone(), SrcOffset: offset(pst, before), SrcStrides: pst, DstStrides: contiguous(xs)})
	return c.result(dx)
}

// nextIndex advances a row-major multi-index within extents; false at the end.
func nextIndex(idx, ext []int) bool {
	for a := len(idx) - 1; a >= 0; a-- {
		idx[a]++
		if idx[a] < ext[a] {
			return true
		}
		idx[a] = 0
	}
	return false
}
