package nn

import (
	"fmt"
	"math"

	"webcnn/core"
)

// FoldBatchNorm returns l prepared for inference, with every batch norm
// that directly follows a convolution or a linear layer folded into that
// layer's weights, and the number of batch norms folded. A pair folds when,
// inside a Sequential, a *BatchNorm follows a *Conv or *Linear without a
// fused activation (or a Sequential whose last layer is one, such as a
// separable conv); the batch norm's per-channel scale s = gamma /
// sqrt(var + eps) and shift move into the layer's last weight axis (Cout,
// or Out) and bias:
//
//	W'[..., c] = W[..., c] * s[c]
//	b'[c]      = (b[c] - mean[c]) * s[c] + beta[c]    (b = 0 without a bias)
//
// so that one conv computes what conv + batch norm did, for any groups,
// stride, dilation or padding. An *Activation right after a folded batch
// norm is fused into the layer's store as well (core.Conv.Act,
// Linear.Act), and so is an *Activation right after a conv or linear
// layer without batch norm (VGG, AlexNet, SqueezeNet). The arithmetic runs on the host in float64 and the new
// tensors are written on the layer's backend, so it works on every
// core.Backend. Everything else is kept as it is: a batch norm after an
// activation, a concatenation or an addition (DenseNet's pre-activation
// norms) still runs on its own. The containers walked are Sequential,
// Residual, Concat and Frozen; layers of other kinds (an imported graph,
// whose batch norms graph.Spec.Fuse folds at load) are kept whole. The count says
// what was folded; nothing else is reported.
//
// The result is for inference only. The batch norms it folds are gone:
// their running statistics are no longer updated and training-mode batch
// statistics are not computed, so ForwardGrad and the Trainable layers of
// the result train convolutions, not the network that was built (a folded
// Conv still has gradients, as any conv). Train, fine-tune or save
// weights with the unfolded model; parameter names, Plan rows and summary
// counts also change (the folded conv gains a bias, the batch norm's four
// tensors disappear).
//
// FoldBatchNorm consumes l: once it returns without error the old
// weights, biases and batch-norm tensors of every folded pair are freed
// (except tensors that another layer of l also uses), so l must not run
// again; layers that did not fold are shared by l and the result. On
// error nothing is freed, l is unchanged and the result is nil.
func FoldBatchNorm(l Layer) (Layer, int, error) {
	f := &folder{uses: map[*core.Tensor]int{}}
	for _, p := range l.Params() {
		f.uses[p.T]++
	}
	out, err := f.layer(l, "")
	if err != nil {
		for _, t := range f.made {
			t.Free()
		}
		return nil, 0, err
	}
	for _, t := range f.dropped {
		// A tensor of l is freed with its last use; one made here and
		// replaced by a second fold (conv, batch norm, batch norm) has none.
		if f.uses[t]--; f.uses[t] <= 0 {
			t.Free()
		}
	}
	return out, f.n, nil
}

// folder holds one FoldBatchNorm walk: how many layers of the tree use
// each tensor, the tensors replaced (freed at the end when no other layer
// uses them) and the tensors made (freed on error).
type folder struct {
	uses    map[*core.Tensor]int
	dropped []*core.Tensor
	made    []*core.Tensor
	n       int
}

// layer returns the folded form of l, named path in errors. Containers
// are rebuilt, so l itself is never modified.
func (f *folder) layer(l Layer, path string) (Layer, error) {
	switch l := l.(type) {
	case Sequential:
		return f.seq(l, path)
	case Concat:
		out := make(Concat, len(l))
		for i, c := range l {
			fl, err := f.layer(c.Layer, join(path, c.Name))
			if err != nil {
				return nil, err
			}
			out[i] = Named{c.Name, fl}
		}
		return out, nil
	case *Residual:
		r := *l
		var err error
		if r.Body, err = f.layer(l.Body, path); err != nil {
			return nil, err
		}
		if l.Shortcut != nil {
			if r.Shortcut, err = f.layer(l.Shortcut, join(path, l.ShortcutName)); err != nil {
				return nil, err
			}
		}
		return &r, nil
	case Frozen:
		fl, err := f.layer(l.Layer, path)
		if err != nil {
			return nil, err
		}
		return Frozen{fl}, nil
	}
	return l, nil
}

// seq folds the children of s, then each batch norm into the conv or
// linear layer that ends the child before it, and the activation after it.
func (f *folder) seq(s Sequential, path string) (Sequential, error) {
	out := make(Sequential, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if bn, ok := c.Layer.(*BatchNorm); ok && len(out) > 0 {
			t := tail(&out[len(out)-1])
			folded, err := f.fold(t, bn, join(path, c.Name))
			if err != nil {
				return nil, err
			}
			if folded {
				if i+1 < len(s) {
					if a, ok := s[i+1].Layer.(*Activation); ok {
						setAct(t.Layer, a.F)
						i++
					}
				}
				continue
			}
		}
		if a, ok := c.Layer.(*Activation); ok && len(out) > 0 {
			if t := tail(&out[len(out)-1]); withAct(t, a.F) {
				continue
			}
		}
		l, err := f.layer(c.Layer, join(path, c.Name))
		if err != nil {
			return nil, err
		}
		out = append(out, Named{c.Name, l})
	}
	return out, nil
}

// withAct fuses activation a into t's layer when it is a *Conv or
// *Linear without one (VGG's conv + ReLU), as a copy sharing its tensors.
func withAct(t *Named, a core.Unary) bool {
	switch l := t.Layer.(type) {
	case *Conv:
		if l.P.Act.Op == core.Identity {
			c := *l
			c.P.Act = a
			t.Layer = &c
			return true
		}
	case *Linear:
		if l.Act.Op == core.Identity {
			c := *l
			c.Act = a
			t.Layer = &c
			return true
		}
	}
	return false
}

// tail returns the last leaf of n, descending into Sequentials (which
// seq has already rebuilt, so the slot may be overwritten).
func tail(n *Named) *Named {
	for {
		s, ok := n.Layer.(Sequential)
		if !ok || len(s) == 0 {
			return n
		}
		n = &s[len(s)-1]
	}
}

// setAct sets the fused activation of a layer that fold made.
func setAct(l Layer, a core.Unary) {
	switch l := l.(type) {
	case *Conv:
		l.P.Act = a
	case *Linear:
		l.Act = a
	}
}

// fold replaces t's layer by a new *Conv or *Linear with bn folded in and
// reports whether it did: it does not when t is another kind of layer or
// already has a fused activation (bn then follows the activation).
func (f *folder) fold(t *Named, bn *BatchNorm, path string) (bool, error) {
	var w, b *core.Tensor
	switch l := t.Layer.(type) {
	case *Conv:
		if l.P.Act.Op != core.Identity {
			return false, nil
		}
		w, b = l.W, l.B
	case *Linear:
		if l.Act.Op != core.Identity {
			return false, nil
		}
		w, b = l.W, l.B
	default:
		return false, nil
	}
	nw, nb, err := f.scale(w, b, bn)
	if err != nil {
		return false, fmt.Errorf("fold batch norm %s into %s: %w", path, t.Name, err)
	}
	switch l := t.Layer.(type) {
	case *Conv:
		c := *l
		c.W, c.B = nw, nb
		t.Layer = &c
	case *Linear:
		c := *l
		c.W, c.B = nw, nb
		t.Layer = &c
	}
	f.dropped = append(f.dropped, w, bn.Gamma, bn.Beta, bn.Mean, bn.Var)
	if b != nil {
		f.dropped = append(f.dropped, b)
	}
	f.n++
	return true, nil
}

// scale computes the folded weights and bias of w and b (nil: zeros)
// followed by bn, as new tensors on w's backend.
func (f *folder) scale(w, b *core.Tensor, bn *BatchNorm) (*core.Tensor, *core.Tensor, error) {
	ws := w.Shape()
	cout := ws[ws.Rank()-1]
	for _, p := range []struct {
		name string
		t    *core.Tensor
	}{{"weight", bn.Gamma}, {"bias", bn.Beta}, {"running_mean", bn.Mean}, {"running_var", bn.Var}} {
		if p.t == nil || !p.t.Shape().Equal(core.Shape{cout}) {
			return nil, nil, fmt.Errorf("batch norm %s is %v, the weights %v have %d output channels", p.name, shapeOf(p.t), ws, cout)
		}
	}
	read := func(ts ...*core.Tensor) ([][]float32, error) {
		out := make([][]float32, len(ts))
		for i, t := range ts {
			v, err := t.Data()
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	v, err := read(w, bn.Gamma, bn.Beta, bn.Mean, bn.Var)
	if err != nil {
		return nil, nil, err
	}
	wv, gamma, beta, mean, variance := v[0], v[1], v[2], v[3], v[4]
	bias := make([]float32, cout)
	if b != nil {
		if !b.Shape().Equal(core.Shape{cout}) {
			return nil, nil, fmt.Errorf("bias %v, the weights %v have %d output channels", b.Shape(), ws, cout)
		}
		if bias, err = b.Data(); err != nil {
			return nil, nil, err
		}
	}
	s := make([]float64, cout)
	for c := range s {
		d := float64(variance[c]) + float64(bn.Eps)
		if !(d > 0) {
			return nil, nil, fmt.Errorf("channel %d: running_var + eps = %v, not positive", c, d)
		}
		s[c] = float64(gamma[c]) / math.Sqrt(d)
		bias[c] = float32((float64(bias[c])-float64(mean[c]))*s[c] + float64(beta[c]))
	}
	for i := range wv {
		wv[i] = float32(float64(wv[i]) * s[i%cout])
	}
	nw, err := core.FromData(w.Backend(), ws, wv)
	if err != nil {
		return nil, nil, err
	}
	f.made = append(f.made, nw)
	nb, err := core.FromData(w.Backend(), core.Shape{cout}, bias)
	if err != nil {
		return nil, nil, err
	}
	f.made = append(f.made, nb)
	return nw, nb, nil
}

// shapeOf is t's shape, or "missing" for nil.
func shapeOf(t *core.Tensor) any {
	if t == nil {
		return "missing"
	}
	return t.Shape()
}
