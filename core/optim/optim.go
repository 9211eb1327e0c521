// Package optim updates a network's parameters from their gradients:
// SGD with momentum (and Nesterov's variant), AdamW with decoupled weight
// decay, gradient clipping by global norm, learning-rate schedules (step,
// cosine with warm-up, reduce on plateau) and an exponential moving
// average of the weights. Every update runs as Backend ops on the
// parameters' own backend (in place), so training needs no host loop
// over the weights on any device; only scalars (the learning rate, the
// step count) live on the host.
package optim

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// Optimizer updates parameters in place from the gradients collected by
// a backward pass. Buffers and parameters without a gradient (frozen
// ones) are left alone, weight decay included.
type Optimizer interface {
	Step(ps []nn.Param, g *nn.Grads) error
	// SetLR changes the learning rate (what a schedule drives).
	SetLR(lr float32)
}

// NoDecay reports whether a parameter is left out of weight decay: the
// 1-D ones (biases, batch and layer norm scales and shifts), as in the
// ResNet-RS recipe and timm. Pass it as an optimizer's Exclude.
func NoDecay(p nn.Param) bool { return p.T.Shape().Rank() <= 1 }

// ops chains in-place updates on one backend, keeping the first error.
type ops struct {
	err  error
	tmps []*core.Tensor
}

func (o *ops) fail(err error) {
	if o.err == nil && err != nil {
		o.err = err
	}
}

// affine sets t = a*t + c in place.
func (o *ops) affine(t *core.Tensor, a, c float32) {
	if o.err == nil {
		o.fail(t.Backend().Unary(t, t, core.Unary{Op: core.Affine, Alpha: a, Beta: c}))
	}
}

// unary sets t = f(t) in place.
func (o *ops) unary(t *core.Tensor, f core.Unary) {
	if o.err == nil {
		o.fail(t.Backend().Unary(t, t, f))
	}
}

// apply returns f(x) as a temporary.
func (o *ops) apply(x *core.Tensor, f core.Unary) *core.Tensor {
	if o.err != nil {
		return nil
	}
	t, err := core.Apply(x, f)
	o.fail(err)
	if t != nil {
		o.tmps = append(o.tmps, t)
	}
	return t
}

// scaled returns a*x as a temporary.
func (o *ops) scaled(x *core.Tensor, a float32) *core.Tensor {
	return o.apply(x, core.Unary{Op: core.Affine, Alpha: a})
}

// into sets a = a op b in place (equal shapes, or b broadcast from [1]).
func (o *ops) into(a, b *core.Tensor, op core.BinaryOp) {
	if o.err != nil {
		return
	}
	if !b.Shape().Equal(a.Shape()) {
		v, err := b.Reshape(ones(a.Shape().Rank())...)
		if err != nil {
			o.fail(err)
			return
		}
		b = v
	}
	o.fail(a.Backend().Binary(a, a, b, op))
}

// clone returns a copy of t.
func (o *ops) clone(t *core.Tensor) *core.Tensor {
	if o.err != nil {
		return nil
	}
	c, err := core.Apply(t, core.Unary{})
	o.fail(err)
	return c
}

// done frees the temporaries and returns the first error.
func (o *ops) done() error {
	for _, t := range o.tmps {
		t.Free()
	}
	o.tmps = nil
	return o.err
}

func ones(r int) []int {
	s := make([]int, r)
	for i := range s {
		s[i] = 1
	}
	return s
}

// each calls f for every parameter with a gradient.
func each(ps []nn.Param, g *nn.Grads, f func(p nn.Param, grad *core.Tensor) error) error {
	for _, p := range ps {
		if p.Buffer {
			continue
		}
		grad := g.Of(p.T)
		if grad == nil {
			continue
		}
		if err := f(p, grad); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}
