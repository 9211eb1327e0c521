package autograd

import (
	"fmt"

	"webcnn/core"
)

// SumTo reduces a gradient dy of a broadcast result to shape s, the shape
// of the operand that was broadcast (numpy rules, right-aligned): dy is
// summed over the axes where s has extent 1 (or no axis at all).
func SumTo(dy *core.Tensor, s core.Shape) (*core.Tensor, error) {
	ys := dy.Shape()
	if ys.Equal(s) {
		return core.Apply(dy, core.Unary{Op: core.Identity})
	}
	lead := ys.Rank() - s.Rank()
	if lead < 0 {
		return nil, fmt.Errorf("sum to %v: gradient %v has fewer axes", s, ys)
	}
	var axes []int
	for i := range ys {
		if i < lead || (s[i-lead] == 1 && ys[i] != 1) {
			axes = append(axes, i)
		} else if s[i-lead] != ys[i] {
			return nil, fmt.Errorf("sum to %v: gradient %v does not broadcast from it", s, ys)
		}
	}
	var c calc
	r := c.reduce(dy, core.Sum, axes...)
	return c.result(c.view(r, s...))
}

// ElementwiseGrad returns the gradients of y = a op b (with broadcasting)
// with respect to a and b, each reduced to its operand's shape. Max and
// Min route dy to the larger (smaller) operand, to a on ties.
func ElementwiseGrad(a, b, dy *core.Tensor, op core.BinaryOp) (da, db *core.Tensor, err error) {
	var c calc
	var ga, gb *core.Tensor // dy times the partial derivatives, broadcast shape
	switch op {
	case core.Add:
		ga, gb = dy, dy
	case core.Sub:
		ga, gb = dy, c.affine(dy, -1, 0)
	case core.Mul:
		ga, gb = c.bin(dy, b, core.Mul), c.bin(dy, a, core.Mul)
	case core.Div: // d/da = 1/b, d/db = -a/b^2
		ga = c.bin(dy, b, core.Div)
		gb = c.un(c.into(c.bin(ga, a, core.Mul), b, core.Div), core.Unary{Op: core.Neg})
	case core.Max, core.Min:
		diff := c.bin(a, b, core.Sub)
		var m *core.Tensor // [a wins]
		if op == core.Max {
			m = c.un(c.step(diff, -1, 0), core.Unary{Op: core.Affine, Alpha: -1, Beta: 1}) // a - b >= 0
		} else {
			m = c.un(c.step(diff, 1, 0), core.Unary{Op: core.Affine, Alpha: -1, Beta: 1}) // a - b <= 0
		}
		ga = c.bin(dy, m, core.Mul)
		gb = c.bin(dy, ga, core.Sub)
	default:
		return nil, nil, fmt.Errorf("gradient of %s: unknown op", op)
	}
	if c.err != nil {
		c.done()
		return nil, nil, c.err
	}
	da, err = SumTo(ga, a.Shape())
	if err == nil {
		db, err = SumTo(gb, b.Shape())
	}
	c.done()
	if err != nil {
		da.Free()
		return nil, nil, fmt.Errorf("gradient of %s: %w", op, err)
	}
	return da, db, nil
}

// ReduceGrad returns dL/dx for y = Reduce(x, op, axes...) (keep-dims:
// dy has y's shape). Sum broadcasts dy, Mean broadcasts dy/count, and Max
// and Min share dy equally among the elements equal to y (PyTorch's amax
// rule). y is needed for Max and Min only.
func ReduceGrad(x, y, dy *core.Tensor, op core.ReduceOp) (*core.Tensor, error) {
	xs, ys := x.Shape(), dy.Shape()
	if xs.Rank() != ys.Rank() {
		return nil, fmt.Errorf("reduce %s gradient: dy %v must keep the rank of x %v", op, ys, xs)
	}
	var axes []int
	for i := range xs {
		if ys[i] == 1 && xs[i] != 1 {
			axes = append(axes, i)
		} else if ys[i] != xs[i] {
			return nil, fmt.Errorf("reduce %s gradient: dy %v is not a reduction of %v", op, ys, xs)
		}
	}
	var c calc
	b := x.Backend()
	switch op {
	case core.Sum, core.Mean:
		g := dy
		if op == core.Mean {
			g = c.affine(dy, float32(ys.Size())/float32(xs.Size()), 0)
		}
		return c.result(c.into(c.zeros(b, xs), g, core.Add))
	case core.ReduceMax, core.ReduceMin:
		if y == nil {
			return nil, fmt.Errorf("reduce %s gradient: needs the output", op)
		}
		diff := c.bin(x, y, core.Sub)
		sign := float32(-1) // max: x - y <= 0, equal when not below
		if op == core.ReduceMin {
			sign = 1
		}
		m := c.un(c.step(diff, sign, 0), core.Unary{Op: core.Affine, Alpha: -1, Beta: 1})
		n := c.reduce(m, core.Sum, axes...)
		return c.result(c.into(m, c.bin(dy, n, core.Div), core.Mul))
	}
	return nil, fmt.Errorf("reduce gradient: unknown op %d", op)
}
