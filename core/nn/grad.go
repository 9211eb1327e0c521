package nn

import (
	"fmt"

	"webcnn/core"
)

// Backpropagation is per layer, like llm.c and micrograd: a Trainable
// layer's ForwardGrad computes what Forward computes and returns a
// Pullback, a closure holding what the layer's gradient needs (its input,
// output, batch statistics, dropout mask). Containers chain their
// children's pullbacks in reverse. The gradients are written with core's
// op functions and the kernels of package autograd, so training runs on
// any Backend. Nothing is cached in the layers themselves: one layer may
// be run several times in one step, and the Layer interface is unchanged.

// Pullback carries the gradient back through one forward pass of a
// layer: given dy = dL/dy it adds dL/dp into g for each parameter p that
// g wants and returns dx = dL/dx, or nil when the forward pass was told
// that the input gradient is not needed. dy is not consumed (the caller
// frees it); dx may be dy itself or a view of it (Identity, Flatten).
type Pullback func(dy *core.Tensor, g *Grads) (dx *core.Tensor, err error)

// Trainable is a Layer that can be differentiated.
type Trainable interface {
	Layer
	// ForwardGrad runs the layer as Forward does and returns its
	// pullback. needDX says whether the caller will want dL/dx. A layer
	// must return a pullback when needDX is set or when it has parameters
	// to train; otherwise (nothing to propagate) it may return nil.
	ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error)
}

// ForwardGrad runs l with its pullback (see Trainable). A layer that is not
// Trainable is still accepted where nothing flows back through it: no
// trainable parameters and needDX false (a custom pre-processing step at
// the start of a network, or a frozen part of it), so that it runs with
// Forward and a nil pullback.
func ForwardGrad(ctx *Context, l Layer, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	if t, ok := l.(Trainable); ok {
		return t.ForwardGrad(ctx, x, needDX)
	}
	if !needDX && Count(l) == 0 {
		y, err := l.Forward(ctx, x)
		return y, nil, err
	}
	return nil, nil, fmt.Errorf("%T has no gradient (it does not implement nn.Trainable)", l)
}

// Grads collects the gradients of parameters during a backward pass,
// keyed by the parameter's tensor, summing contributions when a tensor is
// used more than once.
type Grads struct {
	m    map[*core.Tensor]*core.Tensor
	keys []*core.Tensor
	skip bool // a frozen part's: collects nothing
}

// NewGrads returns an empty collection.
func NewGrads() *Grads { return &Grads{m: map[*core.Tensor]*core.Tensor{}} }

// discard collects nothing: the gradients of a frozen part.
var discard = &Grads{skip: true}

// Wants reports whether the gradient of parameter p is collected (layers
// skip computing the ones that are not).
func (g *Grads) Wants(p *core.Tensor) bool { return g != nil && !g.skip && p != nil }

// Add adds d to p's gradient. g takes ownership of d.
func (g *Grads) Add(p, d *core.Tensor) error {
	if !g.Wants(p) {
		d.Free()
		return nil
	}
	if !d.Shape().Equal(p.Shape()) {
		return fmt.Errorf("gradient %v for a parameter %v", d.Shape(), p.Shape())
	}
	old, ok := g.m[p]
	if !ok {
		g.m[p] = d
		g.keys = append(g.keys, p)
		return nil
	}
	err := old.Backend().Binary(old, old, d, core.Add)
	d.Free()
	return err
}

// Of returns the gradient of p, or nil when none was collected.
func (g *Grads) Of(p *core.Tensor) *core.Tensor { return g.m[p] }

// Len is the number of parameters with a gradient.
func (g *Grads) Len() int { return len(g.keys) }

// Free releases every gradient and empties the collection.
func (g *Grads) Free() {
	for _, k := range g.keys {
		g.m[k].Free()
	}
	g.m = map[*core.Tensor]*core.Tensor{}
	g.keys = nil
}

// Backward runs a network's pullback from the loss gradient dy and
// returns the parameter gradients (frees nothing it was given).
func Backward(pb Pullback, dy *core.Tensor) (*Grads, error) {
	if pb == nil {
		return nil, fmt.Errorf("backward: nothing to train (every parameter is frozen)")
	}
	g := NewGrads()
	dx, err := pb(dy, g)
	if err != nil {
		g.Free()
		return nil, fmt.Errorf("backward: %w", err)
	}
	release(dx, dy)
	return g, nil
}

// addGrads returns a + b, either of which may be nil, freeing both
// unless they share keep's buffer.
func addGrads(a, b, keep *core.Tensor) (*core.Tensor, error) {
	switch {
	case a == nil:
		return b, nil
	case b == nil:
		return a, nil
	}
	s, err := core.Elementwise(a, b, core.Add)
	release(a, keep)
	release(b, keep)
	return s, err
}
