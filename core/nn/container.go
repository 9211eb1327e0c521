package nn

import (
	"fmt"

	"webcnn/core"
)

// Sequential runs its children in order. Children named "" keep their
// parameters in the parent's scope (activations have none).
type Sequential []Named

// Seq builds a Sequential whose children are named "0", "1", ... like
// torch.nn.Sequential.
func Seq(layers ...Layer) Sequential {
	s := make(Sequential, len(layers))
	for i, l := range layers {
		s[i] = Named{fmt.Sprint(i), l}
	}
	return s
}

// Forward chains the children. Intermediate outputs are freed as soon as
// the next child has consumed them (device memory on a GPU backend is not
// garbage-collected); views that share a buffer with a later output are
// kept, and the caller's input is never freed.
func (s Sequential) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	in := x
	for _, c := range s {
		y, err := c.Layer.Forward(ctx, x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		release(x, in, y)
		x = y
	}
	return x, nil
}

// release frees t unless it shares its buffer with one of keep (the
// caller's input, an output that is a view of t; in a backward pass, a dy
// a pullback returned as its dx).
func release(t *core.Tensor, keep ...*core.Tensor) {
	if t == nil || t.Buffer() == nil {
		return
	}
	for _, k := range keep {
		if k != nil && k.Buffer() == t.Buffer() {
			return
		}
	}
	t.Free()
}

// Params returns the children's parameters in their scopes.
func (s Sequential) Params() []Param {
	var ps []Param
	for _, c := range s {
		ps = append(ps, prefixed(c.Name, c.Layer.Params())...)
	}
	return ps
}

// Plan chains the children's plans.
func (s Sequential) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	for _, c := range s {
		out, nf, err := c.Layer.Plan(t.Sub(c.Name), in, f)
		if err != nil {
			return nil, f, fmt.Errorf("%s: %w", c.Name, err)
		}
		in, f = out, nf
	}
	return in, f, nil
}

// Residual is y = post(body(x) + shortcut(x)): ResNet's blocks, with the
// identity shortcut when Shortcut is nil. Body's parameters stay in the
// block's scope (torchvision: layer1.0.conv1); Shortcut has its own name
// (torchvision: downsample).
type Residual struct {
	Body         Layer
	Shortcut     Layer
	ShortcutName string
	Post         core.Unary // applied after the addition (ReLU in ResNet)
}

// Forward runs both paths and adds them.
func (r *Residual) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	y, err := r.Body.Forward(ctx, x)
	if err != nil {
		return nil, err
	}
	s := x
	if r.Shortcut != nil {
		if s, err = r.Shortcut.Forward(ctx, x); err != nil {
			return nil, fmt.Errorf("%s: %w", r.ShortcutName, err)
		}
	}
	sum, err := core.Elementwise(y, s, core.Add)
	release(y, x, sum)
	release(s, x, sum)
	if err != nil || r.Post.Op == core.Identity {
		return sum, err
	}
	if err := sum.Backend().Unary(sum, sum, r.Post); err != nil {
		return nil, err
	}
	return sum, nil
}

// Params returns the body's and the shortcut's parameters.
func (r *Residual) Params() []Param {
	ps := r.Body.Params()
	if r.Shortcut != nil {
		ps = append(ps, prefixed(r.ShortcutName, r.Shortcut.Params())...)
	}
	return ps
}

// Plan checks that both paths give the same shape; the field is the body's.
func (r *Residual) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	out, bf, err := r.Body.Plan(t, in, f)
	if err != nil {
		return nil, f, err
	}
	so := in
	if r.Shortcut != nil {
		if so, _, err = r.Shortcut.Plan(t.Sub(r.ShortcutName), in, f); err != nil {
			return nil, f, fmt.Errorf("%s: %w", r.ShortcutName, err)
		}
	}
	if !out.Equal(so) {
		return nil, f, fmt.Errorf("residual: body gives %v, shortcut %v", out, so)
	}
	return out, bf, nil
}

// Concat runs branches on the same input and joins their outputs along
// the channels: Inception modules, and DenseNet layers with an Identity
// branch first.
type Concat []Named

// Forward runs every branch and concatenates.
func (c Concat) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	outs := make([]*core.Tensor, len(c))
	for i, b := range c {
		y, err := b.Layer.Forward(ctx, x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		outs[i] = y
	}
	out, err := core.Concat(-1, outs...)
	for _, o := range outs {
		release(o, x) // a tensor returned twice is freed once: Free clears it
	}
	return out, err
}

// Params returns the branches' parameters in their scopes.
func (c Concat) Params() []Param { return Sequential(c).Params() }

// Plan adds the branches' channels; the field is the widest branch's.
func (c Concat) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	var out core.Shape
	best := f
	for _, b := range c {
		o, bf, err := b.Layer.Plan(t.Sub(b.Name), in, f)
		if err != nil {
			return nil, f, fmt.Errorf("%s: %w", b.Name, err)
		}
		if out == nil {
			out = o.Clone()
		} else {
			if !out[:out.Rank()-1].Equal(o[:o.Rank()-1]) {
				return nil, f, fmt.Errorf("concat: branch %s gives %v, others %v", b.Name, o, out)
			}
			out[out.Rank()-1] += o[o.Rank()-1]
		}
		if bf.Size > best.Size {
			best = bf
		}
	}
	return out, best, nil
}

// SqueezeExcite scales channels by gates computed from their global
// averages through two 1x1 convolutions (FC1 with its activation, FC2
// with the gate function: sigmoid in SENet, hard-sigmoid in MobileNetV3).
type SqueezeExcite struct {
	FC1, FC2 *Conv
	// Names of the two convs in the checkpoint: fc1/fc2 (torchvision, timm).
	Name1, Name2 string
}

// Forward gates x.
func (s *SqueezeExcite) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	p, err := core.GlobalAvgPool(x)
	if err != nil {
		return nil, err
	}
	g, err := s.FC1.Forward(ctx, p)
	release(p)
	if err != nil {
		return nil, err
	}
	h, err := s.FC2.Forward(ctx, g)
	release(g)
	if err != nil {
		return nil, err
	}
	out, err := core.Elementwise(x, h, core.Mul)
	release(h)
	return out, err
}

// Params returns both convs' parameters.
func (s *SqueezeExcite) Params() []Param {
	return append(prefixed(s.Name1, s.FC1.Params()), prefixed(s.Name2, s.FC2.Params())...)
}

// Plan records the two 1x1 convs on the pooled vector; the shape is kept.
func (s *SqueezeExcite) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	p := in.Clone()
	for i := 1; i < p.Rank()-1; i++ {
		p[i] = 1
	}
	h, _, err := s.FC1.Plan(t.Sub(s.Name1), p, f)
	if err != nil {
		return nil, f, err
	}
	if _, _, err := s.FC2.Plan(t.Sub(s.Name2), h, f); err != nil {
		return nil, f, err
	}
	return in, f, nil
}
