package autograd

import (
	"fmt"
	"math"

	"webcnn/core"
)

// FromOutput reports whether UnaryGrad can compute f's derivative from
// f's output alone, so a layer need not keep the input (and a convolution
// or a dense layer can keep its activation fused).
func FromOutput(f core.Unary) bool {
	switch f.Op {
	case core.Identity, core.Affine, core.Neg, core.Exp, core.Sigmoid, core.Tanh, core.ReLU, core.ReLU6,
		core.HardSigmoid, core.Clip:
		return true
	case core.LeakyReLU, core.ELU:
		return f.Alpha > 0 // the output's sign is then the input's
	}
	return false
}

// UnaryGrad returns dx = f'(x) * dy for y = f(x), elementwise. x is the
// input and y the output; x may be nil when FromOutput(f), y may be nil
// otherwise. At the kinks of piecewise functions (ReLU at 0, clip at its
// bounds) the derivative is the left one, as in PyTorch: ReLU'(0) = 0.
func UnaryGrad(f core.Unary, x, y, dy *core.Tensor) (*core.Tensor, error) {
	var c calc
	var d *core.Tensor // f'(x), the factor dy is multiplied by
	if y != nil && FromOutput(f) {
		d = c.derivFromOutput(f, y)
	} else {
		if x == nil {
			return nil, fmt.Errorf("gradient of %s: needs the input", f.Op)
		}
		d = c.derivFromInput(f, x)
	}
	if c.err != nil {
		c.done()
		return nil, fmt.Errorf("gradient of %s: %w", f.Op, c.err)
	}
	if d == nil { // a constant factor: Identity, Affine, Neg
		return c.result(c.affine(dy, constDeriv(f), 0))
	}
	return c.result(c.into(d, dy, core.Mul))
}

// constDeriv is the derivative of the affine ops.
func constDeriv(f core.Unary) float32 {
	switch f.Op {
	case core.Affine:
		return f.Alpha
	case core.Neg:
		return -1
	}
	return 1
}

// derivFromOutput returns f'(x) as a function of y = f(x); nil means a
// constant (constDeriv).
func (c *calc) derivFromOutput(f core.Unary, y *core.Tensor) *core.Tensor {
	switch f.Op {
	case core.Identity, core.Affine, core.Neg:
		return nil
	case core.Exp: // e^x
		return c.apply(y, core.Unary{Op: core.Identity})
	case core.Sigmoid: // y(1 - y)
		return c.into(c.affine(y, -1, 1), y, core.Mul)
	case core.Tanh: // 1 - y^2
		return c.un(c.apply(y, core.Unary{Op: core.Square}), core.Unary{Op: core.Affine, Alpha: -1, Beta: 1})
	case core.ReLU: // [y > 0]
		return c.gt(y, 0)
	case core.ReLU6: // [0 < y < 6]
		return c.between(y, 0, 6)
	case core.HardSigmoid: // [0 < y < 1] / 6
		return c.un(c.between(y, 0, 1), core.Unary{Op: core.Affine, Alpha: 1.0 / 6})
	case core.Clip: // [lo < y < hi]
		return c.between(y, f.Alpha, f.Beta)
	case core.LeakyReLU: // alpha + (1 - alpha)[y > 0]
		return c.un(c.gt(y, 0), core.Unary{Op: core.Affine, Alpha: 1 - f.Alpha, Beta: f.Alpha})
	case core.ELU: // 1 if y > 0 else y + alpha: m + (1 - m)(y + alpha)
		m := c.gt(y, 0)
		e := c.affine(y, 1, f.Alpha)
		return c.into(c.into(e, c.affine(m, -1, 1), core.Mul), m, core.Add)
	}
	c.fail(fmt.Errorf("no output form"))
	return nil
}

// derivFromInput returns f'(x); nil means a constant (constDeriv).
func (c *calc) derivFromInput(f core.Unary, x *core.Tensor) *core.Tensor {
	u := func(t *core.Tensor, op core.UnaryOp) *core.Tensor { return c.un(t, core.Unary{Op: op}) }
	switch f.Op {
	case core.Identity, core.Affine, core.Neg:
		return nil
	case core.Abs: // [x > 0] - [x < 0]
		return c.into(c.gt(x, 0), c.lt(x, 0), core.Sub)
	case core.Square: // 2x
		return c.affine(x, 2, 0)
	case core.Sqrt: // 1/(2 sqrt x)
		return c.un(c.apply(x, core.Unary{Op: core.Rsqrt}), core.Unary{Op: core.Affine, Alpha: 0.5})
	case core.Rsqrt: // -x^-1.5 / 2
		return c.un(c.apply(x, core.Unary{Op: core.Pow, Alpha: -1.5}), core.Unary{Op: core.Affine, Alpha: -0.5})
	case core.Recip: // -1/x^2
		return c.un(u(c.apply(x, core.Unary{Op: core.Recip}), core.Square), core.Unary{Op: core.Neg})
	case core.Exp: // e^x
		return c.apply(x, core.Unary{Op: core.Exp})
	case core.Log: // 1/x
		return c.apply(x, core.Unary{Op: core.Recip})
	case core.Pow: // a x^(a-1)
		return c.un(c.apply(x, core.Unary{Op: core.Pow, Alpha: f.Alpha - 1}), core.Unary{Op: core.Affine, Alpha: f.Alpha})
	case core.Sigmoid, core.Tanh:
		return c.derivFromOutput(f, c.apply(x, f))
	case core.ReLU: // [x > 0]
		return c.gt(x, 0)
	case core.LeakyReLU: // alpha + (1 - alpha)[x > 0]
		return c.un(c.gt(x, 0), core.Unary{Op: core.Affine, Alpha: 1 - f.Alpha, Beta: f.Alpha})
	case core.ELU: // [x > 0] + [x <= 0] alpha e^min(x,0)
		m := c.gt(x, 0)
		e := u(c.apply(x, core.Unary{Op: core.Clip, Alpha: -math.MaxFloat32, Beta: 0}), core.Exp)
		c.un(e, core.Unary{Op: core.Affine, Alpha: f.Alpha})
		return c.into(c.into(e, c.affine(m, -1, 1), core.Mul), m, core.Add)
	case core.ReLU6: // [0 < x < 6]
		return c.between(x, 0, 6)
	case core.GELU:
		return c.geluDeriv(x)
	case core.GELUTanh:
		return c.geluTanhDeriv(x)
	case core.SiLU: // s (1 + x (1 - s)), s = sigmoid(x)
		s := c.apply(x, core.Unary{Op: core.Sigmoid})
		t := c.into(c.affine(s, -1, 1), x, core.Mul)
		return c.into(c.un(t, core.Unary{Op: core.Affine, Alpha: 1, Beta: 1}), s, core.Mul)
	case core.HardSigmoid: // [-3 < x < 3] / 6
		return c.un(c.between(x, -3, 3), core.Unary{Op: core.Affine, Alpha: 1.0 / 6})
	case core.HardSwish: // relu6(x+3)/6 + x [-3 < x < 3] / 6
		t := c.into(c.between(x, -3, 3), x, core.Mul)
		c.un(t, core.Unary{Op: core.Affine, Alpha: 1.0 / 6})
		return c.into(t, c.apply(x, core.Unary{Op: core.HardSigmoid}), core.Add)
	case core.Clip: // [lo < x < hi]
		return c.between(x, f.Alpha, f.Beta)
	case core.Round, core.Floor, core.Ceil: // step functions: 0 wherever they have a derivative
		return c.zeros(x.Backend(), x.Shape())
	}
	c.fail(fmt.Errorf("unknown unary op %d", f.Op))
	return nil
}

// geluDeriv is Phi(x) + x phi(x). There is no erf kernel, so Phi comes
// from the GELU kernel itself: Phi(|x|) = gelu(a)/a with a = max(|x|,
// 1e-20) (exact to float32 rounding; at a = 1e-20 it is 0.5), and
// Phi(x) = Phi(|x|) for x >= 0, 1 - Phi(|x|) for x < 0.
func (c *calc) geluDeriv(x *core.Tensor) *core.Tensor {
	a := c.un(c.apply(x, core.Unary{Op: core.Abs}), core.Unary{Op: core.Clip, Alpha: 1e-20, Beta: math.MaxFloat32})
	p := c.into(c.apply(a, core.Unary{Op: core.GELU}), a, core.Div) // Phi(|x|)
	neg := c.lt(x, 0)
	// Phi(x) = p + neg (1 - 2p)
	c.into(neg, c.affine(p, -2, 1), core.Mul)
	c.into(p, neg, core.Add)
	// x phi(x) = x e^(-x^2/2) / sqrt(2 pi)
	g := c.un(c.apply(x, core.Unary{Op: core.Square}), core.Unary{Op: core.Affine, Alpha: -0.5})
	c.un(g, core.Unary{Op: core.Exp})
	c.un(g, core.Unary{Op: core.Affine, Alpha: float32(1 / math.Sqrt(2*math.Pi))})
	c.into(g, x, core.Mul)
	return c.into(p, g, core.Add)
}

// geluTanhDeriv differentiates x/2 (1 + tanh(u)), u = k (x + 0.044715 x^3),
// k = sqrt(2/pi): (1 + t)/2 + x/2 (1 - t^2) k (1 + 3*0.044715 x^2).
func (c *calc) geluTanhDeriv(x *core.Tensor) *core.Tensor {
	const a = 0.044715
	k := float32(math.Sqrt(2 / math.Pi))
	x2 := c.apply(x, core.Unary{Op: core.Square})
	// t = tanh(k x (1 + a x^2))
	t := c.into(c.affine(x2, a*k, k), x, core.Mul)
	c.un(t, core.Unary{Op: core.Tanh})
	// r = x/2 (1 - t^2) k (1 + 3a x^2)
	r := c.un(c.apply(t, core.Unary{Op: core.Square}), core.Unary{Op: core.Affine, Alpha: -0.5 * k, Beta: 0.5 * k})
	c.into(r, c.un(x2, core.Unary{Op: core.Affine, Alpha: 3 * a, Beta: 1}), core.Mul)
	c.into(r, x, core.Mul)
	return c.into(r, c.un(t, core.Unary{Op: core.Affine, Alpha: 0.5, Beta: 0.5}), core.Add)
}
