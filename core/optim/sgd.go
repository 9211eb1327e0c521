package optim

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// SGD is stochastic gradient descent with momentum, PyTorch's formulation
// (no dampening): with d = g + WeightDecay*w (L2 decay, coupled to the
// gradient),
//
//	v = Momentum*v + d           (v starts at 0, so the first v is d)
//	w = w - LR*v                 or, with Nesterov, w = w - LR*(d + Momentum*v)
//
// The velocity of a parameter is allocated at its first step.
type SGD struct {
	LR, Momentum, WeightDecay float32
	Nesterov                  bool
	// Exclude, if set, leaves the parameters it selects out of weight
	// decay (NoDecay: biases and norms).
	Exclude func(nn.Param) bool

	vel map[*core.Tensor]*core.Tensor
}

var _ Optimizer = (*SGD)(nil)

// SetLR changes the learning rate.
func (s *SGD) SetLR(lr float32) { s.LR = lr }

// Step updates every parameter that has a gradient.
func (s *SGD) Step(ps []nn.Param, g *nn.Grads) error {
	if s.vel == nil {
		s.vel = map[*core.Tensor]*core.Tensor{}
	}
	return each(ps, g, func(p nn.Param, grad *core.Tensor) error {
		var o ops
		d := grad
		if wd := s.WeightDecay; wd != 0 && (s.Exclude == nil || !s.Exclude(p)) {
			d = o.scaled(p.T, wd)
			o.into(d, grad, core.Add)
		}
		if s.Momentum != 0 {
			v, ok := s.vel[p.T]
			if !ok {
				var err error
				if v, err = core.New(p.T.Backend(), p.T.Shape()); err != nil {
					return err
				}
				s.vel[p.T] = v
			}
			o.affine(v, s.Momentum, 0)
			o.into(v, d, core.Add)
			if s.Nesterov {
				nd := o.scaled(v, s.Momentum)
				o.into(nd, d, core.Add)
				d = nd
			} else {
				d = v
			}
		}
		o.into(p.T, o.scaled(d, -s.LR), core.Add)
		return o.done()
	})
}
