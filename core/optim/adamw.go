package optim

import (
	"math"

	"webcnn/core"
	"webcnn/core/nn"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019),
// PyTorch's formulation: at step t (from 1),
//
//	w = w * (1 - LR*WeightDecay)
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*g^2
//	w = w - LR/(1-Beta1^t) * m / (sqrt(v)/sqrt(1-Beta2^t) + Eps)
//
// Zero Beta1, Beta2 and Eps take PyTorch's defaults 0.9, 0.999 and 1e-8.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	// Exclude, if set, leaves the parameters it selects out of weight decay.
	Exclude func(nn.Param) bool

	t    int
	m, v map[*core.Tensor]*core.Tensor
}

var _ Optimizer = (*AdamW)(nil)

// SetLR changes the learning rate.
func (a *AdamW) SetLR(lr float32) { a.LR = lr }

func (a *AdamW) defaults() {
	if a.Beta1 == 0 {
		a.Beta1 = 0.9
	}
	if a.Beta2 == 0 {
		a.Beta2 = 0.999
	}
	if a.Eps == 0 {
		a.Eps = 1e-8
	}
	if a.m == nil {
		a.m, a.v = map[*core.Tensor]*core.Tensor{}, map[*core.Tensor]*core.Tensor{}
	}
}

// state returns a zero moment tensor of p, allocated on first use.
func state(m map[*core.Tensor]*core.Tensor, p *core.Tensor) (*core.Tensor, error) {
	if t, ok := m[p]; ok {
		return t, nil
	}
	t, err := core.New(p.Backend(), p.Shape())
	if err == nil {
		m[p] = t
	}
	return t, err
}

// Step advances t and updates every parameter that has a gradient.
func (a *AdamW) Step(ps []nn.Param, g *nn.Grads) error {
	a.defaults()
	a.t++
	bc1 := 1 - math.Pow(float64(a.Beta1), float64(a.t))
	bc2 := 1 - math.Pow(float64(a.Beta2), float64(a.t))
	return each(ps, g, func(p nn.Param, grad *core.Tensor) error {
		m, err := state(a.m, p.T)
		if err != nil {
			return err
		}
		v, err := state(a.v, p.T)
		if err != nil {
			return err
		}
		var o ops
		if a.WeightDecay != 0 && (a.Exclude == nil || !a.Exclude(p)) {
			o.affine(p.T, 1-a.LR*a.WeightDecay, 0)
		}
		o.affine(m, a.Beta1, 0)
		o.into(m, o.scaled(grad, 1-a.Beta1), core.Add)
		o.affine(v, a.Beta2, 0)
		sq := o.apply(grad, core.Unary{Op: core.Square})
		o.affine(sq, 1-a.Beta2, 0)
		o.into(v, sq, core.Add)
		den := o.apply(v, core.Unary{Op: core.Sqrt})
		o.affine(den, float32(1/math.Sqrt(bc2)), a.Eps)
		upd := o.apply(m, core.Unary{})
		o.into(upd, den, core.Div)
		o.affine(upd, float32(-float64(a.LR)/bc1), 0)
		o.into(p.T, upd, core.Add)
		return o.done()
	})
}
