package autograd

import (
	"fmt"

	"webcnn/core"
)

// calc chains backend ops, keeping the first error (like nn.Builder) and
// remembering the temporaries it allocates so that done can free them:
// gradient formulas then read like their maths. Every method is a no-op
// once an error has occurred, and returns nil.
type calc struct {
	err  error
	tmps []*core.Tensor
}

// fail records the first error.
func (c *calc) fail(err error) {
	if c.err == nil && err != nil {
		c.err = err
	}
}

// tmp registers t for done.
func (c *calc) tmp(t *core.Tensor, err error) *core.Tensor {
	if err != nil {
		c.fail(err)
		return nil
	}
	if t != nil {
		c.tmps = append(c.tmps, t)
	}
	return t
}

// done frees every temporary whose buffer is not one of keep's.
func (c *calc) done(keep ...*core.Tensor) {
	for _, t := range c.tmps {
		kept := false
		for _, k := range keep {
			if k != nil && k.Buffer() == t.Buffer() {
				kept = true
			}
		}
		if !kept {
			t.Free()
		}
	}
	c.tmps = nil
}

// result returns t and the first error, freeing the other temporaries
// (or all of them on error).
func (c *calc) result(t *core.Tensor) (*core.Tensor, error) {
	if c.err != nil {
		c.done()
		return nil, c.err
	}
	c.done(t)
	return t, nil
}

// zeros allocates a zero tensor.
func (c *calc) zeros(b core.Backend, s core.Shape) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.New(b, s))
}

// full allocates a tensor filled with v, on the device.
func (c *calc) full(b core.Backend, s core.Shape, v float32) *core.Tensor {
	t := c.zeros(b, s)
	if v != 0 {
		c.un(t, core.Unary{Op: core.Affine, Beta: v})
	}
	return t
}

// apply returns f(x) in a new tensor.
func (c *calc) apply(x *core.Tensor, f core.Unary) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.Apply(x, f))
}

// affine returns a*x + b in a new tensor.
func (c *calc) affine(x *core.Tensor, a, b float32) *core.Tensor {
	return c.apply(x, core.Unary{Op: core.Affine, Alpha: a, Beta: b})
}

// un sets x = f(x) in place and returns x.
func (c *calc) un(x *core.Tensor, f core.Unary) *core.Tensor {
	if c.err != nil {
		return nil
	}
	c.fail(x.Backend().Unary(x, x, f))
	return x
}

// bin returns a op b (numpy broadcasting) in a new tensor.
func (c *calc) bin(a, b *core.Tensor, op core.BinaryOp) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.Elementwise(a, b, op))
}

// into sets a = a op b in place (b broadcasts against a) and returns a.
func (c *calc) into(a, b *core.Tensor, op core.BinaryOp) *core.Tensor {
	if c.err != nil {
		return nil
	}
	bs, err := core.BroadcastShape(a.Shape(), b.Shape())
	if err != nil || !bs.Equal(a.Shape()) {
		c.fail(fmt.Errorf("%s in place: %v does not broadcast into %v", op, b.Shape(), a.Shape()))
		return nil
	}
	bv, err := padTo(b, a.Shape().Rank())
	if err != nil {
		c.fail(err)
		return nil
	}
	c.fail(a.Backend().Binary(a, a, bv, op))
	return a
}

// reduce folds x over axes (kept with extent 1).
func (c *calc) reduce(x *core.Tensor, op core.ReduceOp, axes ...int) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.Reduce(x, op, axes...))
}

// view reshapes without copying (the view shares x's buffer).
func (c *calc) view(x *core.Tensor, s ...int) *core.Tensor {
	if c.err != nil {
		return nil
	}
	v, err := x.Reshape(s...)
	c.fail(err)
	return v
}

// copyRegion runs a strided copy.
func (c *calc) copyRegion(dst, src *core.Tensor, p core.Copy) {
	if c.err != nil {
		return
	}
	c.fail(core.CopyRegion(dst, src, p))
}

// conv runs a convolution without bias.
func (c *calc) conv(x, w *core.Tensor, p core.Conv) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.Convolve(x, w, nil, p))
}

// matmul runs op(a) x op(b).
func (c *calc) matmul(a, b *core.Tensor, p core.MatMul) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.MatMulT(a, b, nil, p))
}

// big is 2^100: x*big*big saturates every positive float32 (the smallest
// denormal is 2^-149) to at least 2^51, and big itself is exact.
const big = float32(1 << 100)

// step returns the mask [a*x + b > 0] (exactly 1 or 0) from four
// elementwise passes: clip(big*clip(big*(a*x + b), 0, 1), 0, 1). Any
// positive a*x + b reaches 1 and anything else gives 0, so comparisons
// need no kernel of their own.
func (c *calc) step(x *core.Tensor, a, b float32) *core.Tensor {
	m := c.affine(x, a*big, b*big)
	c.un(m, core.Unary{Op: core.Clip, Alpha: 0, Beta: 1})
	c.un(m, core.Unary{Op: core.Affine, Alpha: big})
	return c.un(m, core.Unary{Op: core.Clip, Alpha: 0, Beta: 1})
}

// gt returns the mask [x > t].
func (c *calc) gt(x *core.Tensor, t float32) *core.Tensor { return c.step(x, 1, -t) }

// lt returns the mask [x < t].
func (c *calc) lt(x *core.Tensor, t float32) *core.Tensor { return c.step(x, -1, t) }

// between returns the mask [lo < x < hi] for lo < hi, as
// [x > lo] + [x < hi] - 1.
func (c *calc) between(x *core.Tensor, lo, hi float32) *core.Tensor {
	m := c.into(c.gt(x, lo), c.lt(x, hi), core.Add)
	return c.un(m, core.Unary{Op: core.Affine, Alpha: 1, Beta: -1})
}

// padTo views t with leading axes of extent 1 up to rank r.
func padTo(t *core.Tensor, r int) (*core.Tensor, error) {
	s := t.Shape()
	if s.Rank() == r {
		return t, nil
	}
	if s.Rank() > r {
		return nil, fmt.Errorf("shape %v has more than %d axes", s, r)
	}
	ns := make([]int, r)
	for i := range ns {
		ns[i] = 1
	}
	copy(ns[r-s.Rank():], s)
	return t.Reshape(ns...)
}

// contiguous returns the row-major strides of s (an alias for readability).
func contiguous(s core.Shape) []int { return s.Strides() }

// offset is the flat offset of idx in a tensor of strides st.
func offset(st, idx []int) int {
	o := 0
	for i, v := range idx {
		o += v * st[i]
	}
	return o
}

// at returns s[i], or def when s is nil.
func at(s []int, i, def int) int {
	if s == nil {
		return def
	}
	return s[i]
}
