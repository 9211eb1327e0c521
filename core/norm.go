package core

import "fmt"

// checkChannelParam verifies that a per-channel parameter is [C].
func checkChannelParam(op, name string, p *Tensor, c int) error {
	if p == nil {
		return fmt.Errorf("%s: %s is missing", op, name)
	}
	if !p.Shape().Equal(Shape{c}) {
		return fmt.Errorf("%s: %s %v, want [%d]", op, name, p.Shape(), c)
	}
	return nil
}

// channels returns the last extent of x (the channels of NHWC data), or
// an error naming op when x is a scalar.
func channels(op string, x *Tensor) (int, error) {
	s := x.Shape()
	if s.Rank() < 1 {
		return 0, fmt.Errorf("%s: input %v has no channel axis", op, s)
	}
	return s[s.Rank()-1], nil
}

// affine returns x*scale + shift where scale and shift broadcast against x.
func affine(x, scale, shift *Tensor) (*Tensor, error) {
	y, err := Elementwise(x, scale, Mul)
	if err != nil {
		return nil, err
	}
	if shift == nil {
		return y, nil
	}
	if err := x.Backend().Binary(y, y, padRank(shift, y.Shape().Rank()), Add); err != nil {
		y.Free()
		return nil, err
	}
	return y, nil
}

// BatchNorm is inference-mode batch normalization with running statistics:
// y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel (last axis).
// It folds to one per-channel scale and shift, as a conv folds it at load.
func BatchNorm(x, gamma, beta, mean, variance *Tensor, eps float32) (*Tensor, error) {
	c, err := channels("batch norm", x)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct {
		n string
		t *Tensor
	}{{"gamma", gamma}, {"beta", beta}, {"running mean", mean}, {"running var", variance}} {
		if err := checkChannelParam("batch norm", p.n, p.t, c); err != nil {
			return nil, err
		}
	}
	scale, shift, err := FoldBatchNorm(gamma, beta, mean, variance, eps)
	if err != nil {
		return nil, fmt.Errorf("batch norm: %w", err)
	}
	defer scale.Free()
	defer shift.Free()
	return affine(x, scale, shift)
}

// FoldBatchNorm returns scale = gamma/sqrt(var+eps) and shift = beta -
// mean*scale, so that BatchNorm(x) = x*scale + shift.
func FoldBatchNorm(gamma, beta, mean, variance *Tensor, eps float32) (scale, shift *Tensor, err error) {
	b := gamma.Backend()
	r, err := Apply(variance, Unary{Op: Affine, Alpha: 1, Beta: eps})
	if err != nil {
		return nil, nil, err
	}
	defer r.Free()
	if err := b.Unary(r, r, Unary{Op: Rsqrt}); err != nil {
		return nil, nil, err
	}
	scale, err = Elementwise(gamma, r, Mul)
	if err != nil {
		return nil, nil, err
	}
	ms, err := Elementwise(mean, scale, Mul)
	if err != nil {
		scale.Free()
		return nil, nil, err
	}
	defer ms.Free()
	shift, err = Elementwise(beta, ms, Sub)
	if err != nil {
		scale.Free()
		return nil, nil, err
	}
	return scale, shift, nil
}

// BatchNormTrain normalizes with the batch's own statistics (mean and
// biased variance over every axis but the channels) and updates the running
// statistics in place: running = (1-momentum)*running + momentum*batch,
// where the running variance takes the unbiased batch variance (PyTorch's
// convention; momentum 0.1 there).
func BatchNormTrain(x, gamma, beta, runMean, runVar *Tensor, momentum, eps float32) (*Tensor, error) {
	s := x.Shape()
	c, err := channels("batch norm (train)", x)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct {
		n string
		t *Tensor
	}{{"gamma", gamma}, {"beta", beta}, {"running mean", runMean}, {"running var", runVar}} {
		if err := checkChannelParam("batch norm (train)", p.n, p.t, c); err != nil {
			return nil, err
		}
	}
	count := s.Size() / c
	if count < 2 {
		return nil, fmt.Errorf("batch norm (train): input %v has one value per channel; batch statistics need more", s)
	}
	axes := make([]int, s.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	mean, variance, err := Moments(x, axes...)
	if err != nil {
		return nil, fmt.Errorf("batch norm (train): %w", err)
	}
	defer mean.Free()
	defer variance.Free()
	m1, err := mean.Reshape(c)
	if err != nil {
		return nil, err
	}
	v1, err := variance.Reshape(c)
	if err != nil {
		return nil, err
	}
	y, err := BatchNorm(x, gamma, beta, m1, v1, eps)
	if err != nil {
		return nil, err
	}
	unbias := float32(count) / float32(count-1)
	if err := blendInto(runMean, m1, momentum, 1); err != nil {
		y.Free()
		return nil, fmt.Errorf("batch norm (train): running mean: %w", err)
	}
	if err := blendInto(runVar, v1, momentum, unbias); err != nil {
		y.Free()
		return nil, fmt.Errorf("batch norm (train): running var: %w", err)
	}
	return y, nil
}

// blendInto sets run = (1-m)*run + m*k*v in place.
func blendInto(run, v *Tensor, m, k float32) error {
	b := run.Backend()
	nv, err := Apply(v, Unary{Op: Affine, Alpha: m * k})
	if err != nil {
		return err
	}
	defer nv.Free()
	if err := b.Unary(run, run, Unary{Op: Affine, Alpha: 1 - m}); err != nil {
		return err
	}
	return b.Binary(run, run, nv, Add)
}

// normalize returns (x - mean)/sqrt(var + eps) over the given axes.
func normalize(x *Tensor, eps float32, axes ...int) (*Tensor, error) {
	mean, variance, err := Moments(x, axes...)
	if err != nil {
		return nil, err
	}
	defer mean.Free()
	defer variance.Free()
	b := x.Backend()
	if err := b.Unary(variance, variance, Unary{Op: Affine, Alpha: 1, Beta: eps}); err != nil {
		return nil, err
	}
	if err := b.Unary(variance, variance, Unary{Op: Rsqrt}); err != nil {
		return nil, err
	}
	d, err := Elementwise(x, mean, Sub)
	if err != nil {
		return nil, err
	}
	if err := b.Binary(d, d, variance, Mul); err != nil {
		d.Free()
		return nil, err
	}
	return d, nil
}

// LayerNorm normalizes each sample over its trailing axes, those of gamma's
// shape (PyTorch's normalized_shape): [C] for the channels-last LayerNorm
// of ConvNeXt, [H, W, C] for the lecture's whole-layer normalization. gamma
// and beta are the learned elementwise scale and shift.
func LayerNorm(x, gamma, beta *Tensor, eps float32) (*Tensor, error) {
	if gamma == nil {
		return nil, fmt.Errorf("layer norm: gamma is missing")
	}
	s, g := x.Shape(), gamma.Shape()
	k := g.Rank()
	if k == 0 || k >= s.Rank() || !Shape(s[s.Rank()-k:]).Equal(g) {
		return nil, fmt.Errorf("layer norm: gamma %v must match trailing axes of input %v", g, s)
	}
	if beta == nil || !beta.Shape().Equal(g) {
		return nil, fmt.Errorf("layer norm: beta must have gamma's shape %v", g)
	}
	axes := make([]int, k)
	for i := range axes {
		axes[i] = s.Rank() - k + i
	}
	n, err := normalize(x, eps, axes...)
	if err != nil {
		return nil, fmt.Errorf("layer norm %v: %w", s, err)
	}
	defer n.Free()
	return affine(n, gamma, beta)
}

// InstanceNorm normalizes each channel of each sample over its spatial axes,
// then applies the per-channel gamma and beta.
func InstanceNorm(x, gamma, beta *Tensor, eps float32) (*Tensor, error) {
	c, err := channels("instance norm", x)
	if err != nil {
		return nil, err
	}
	return GroupNorm(x, c, gamma, beta, eps)
}

// GroupNorm splits the channels into groups of consecutive channels and
// normalizes each sample's group over its spatial axes and channels; groups
// = 1 is a layer norm over (spatial, C), groups = C an instance norm. gamma
// and beta are per channel.
func GroupNorm(x *Tensor, groups int, gamma, beta *Tensor, eps float32) (*Tensor, error) {
	s := x.Shape()
	c, err := channels("group norm", x)
	if err != nil {
		return nil, err
	}
	if s.Rank() < 2 || groups < 1 || c%groups != 0 {
		return nil, fmt.Errorf("group norm: %d groups do not divide the %d channels of %v", groups, c, s)
	}
	if err := checkChannelParam("group norm", "gamma", gamma, c); err != nil {
		return nil, err
	}
	if err := checkChannelParam("group norm", "beta", beta, c); err != nil {
		return nil, err
	}
	gs := append(s[:s.Rank()-1].Clone(), groups, c/groups)
	v, err := x.Reshape(gs...)
	if err != nil {
		return nil, err
	}
	var axes []int
	for i := 1; i < gs.Rank()-2; i++ {
		axes = append(axes, i)
	}
	axes = append(axes, gs.Rank()-1)
	n, err := normalize(v, eps, axes...)
	if err != nil {
		return nil, fmt.Errorf("group norm %v: %w", s, err)
	}
	defer n.Free()
	nv, err := n.Reshape(s...)
	if err != nil {
		return nil, err
	}
	return affine(nv, gamma, beta)
}

// LRN is local response normalization across channels (AlexNet's NORM):
// y = x / (k + alpha/size * sum of x^2 over the size channels centred on
// the channel)^beta, with the window cut at the edges. The division of
// alpha by size is PyTorch's and Caffe's convention; AlexNet's paper writes
// alpha without it (its alpha 1e-4 with size 5 is alpha 5e-4 here).
func LRN(x *Tensor, size int, alpha, beta, k float32) (*Tensor, error) {
	s := x.Shape()
	if size < 1 {
		return nil, fmt.Errorf("lrn: size %d must be positive", size)
	}
	c, err := channels("lrn", x)
	if err != nil {
		return nil, err
	}
	sq, err := Apply(x, Unary{Op: Square})
	if err != nil {
		return nil, fmt.Errorf("lrn: %w", err)
	}
	defer sq.Free()
	// A 1-D average pool over the channels, padded with zeros that count,
	// gives the windowed sum divided by size.
	col, err := sq.Reshape(s.Size()/c, c, 1)
	if err != nil {
		return nil, err
	}
	avg, err := PoolND(col, Pool{Op: AvgPool, Kernel: []int{size}, Stride: []int{1},
		PadBefore: []int{size / 2}, PadAfter: []int{(size - 1) / 2}, CountIncludePad: true})
	if err != nil {
		return nil, fmt.Errorf("lrn: %w", err)
	}
	defer avg.Free()
	b := x.Backend()
	if err := b.Unary(avg, avg, Unary{Op: Affine, Alpha: alpha, Beta: k}); err != nil {
		return nil, fmt.Errorf("lrn: %w", err)
	}
	if err := b.Unary(avg, avg, Unary{Op: Pow, Alpha: -beta}); err != nil {
		return nil, fmt.Errorf("lrn: %w", err)
	}
	d, err := avg.Reshape(s...)
	if err != nil {
		return nil, err
	}
	return Elementwise(x, d, Mul)
}
