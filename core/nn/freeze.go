package nn

import "webcnn/core"

// Frozen wraps a layer that training leaves alone (transfer learning:
// "retrain only part of the model"): its parameters get no gradient, so an
// optimizer does not move them, and it always runs in inference mode, so
// its batch norms use (and keep) their running statistics and its dropout
// is off, as Keras does for trainable = False. Gradients still flow
// through it to trained layers before it; a frozen prefix of a Sequential
// keeps nothing for the backward pass at all. Its parameters keep their
// names.
type Frozen struct{ Layer }

var _ Trainable = Frozen{}

// inference returns ctx in inference mode, keeping its RNG.
func inference(ctx *Context) *Context {
	if ctx == nil {
		return Eval
	}
	return &Context{Mode: core.Inference, RNG: ctx.RNG}
}

// Forward runs the layer in inference mode.
func (f Frozen) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	return f.Layer.Forward(inference(ctx), x)
}

// ForwardGrad runs the layer in inference mode; its pullback (only when
// the input gradient is needed) propagates dy and collects nothing.
func (f Frozen) ForwardGrad(ctx *Context, x *core.Tensor, needDX bool) (*core.Tensor, Pullback, error) {
	c := inference(ctx)
	if !needDX {
		y, err := f.Layer.Forward(c, x)
		return y, nil, err
	}
	y, pb, err := ForwardGrad(c, f.Layer, x, true)
	if err != nil {
		return nil, nil, err
	}
	return y, func(dy *core.Tensor, _ *Grads) (*core.Tensor, error) { return pb(dy, discard) }, nil
}

// FreezeFirst returns a copy of s whose first n children are Frozen, so
// that training updates only the last len(s)-n: the head (a new
// classifier on a pretrained backbone) or the last blocks. Freezing is
// idempotent; n is clipped to [0, len(s)].
func FreezeFirst(s Sequential, n int) Sequential {
	out := append(Sequential(nil), s...)
	for i := range out[:min(max(n, 0), len(out))] {
		if _, ok := out[i].Layer.(Frozen); !ok {
			out[i].Layer = Frozen{out[i].Layer}
		}
	}
	return out
}

// TrainLast freezes all but the last n children of s (see FreezeFirst).
func TrainLast(s Sequential, n int) Sequential { return FreezeFirst(s, len(s)-n) }
