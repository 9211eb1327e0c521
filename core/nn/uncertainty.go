package nn

import (
	"fmt"

	"webcnn/core"
)

// MCSample is the mode of Monte-Carlo dropout: dropout variants drop as in
// training (they drop in every mode but Inference) while batch norm uses
// its running statistics (it uses batch statistics only in Training).
const MCSample core.Mode = core.Training + 1

// Stats are the lecture's combination of M predictions y^m(x) of the same
// input (an ensemble, or M dropout masks):
//
//	Mean = 1/M sum_m y^m(x)                 the averaged prediction
//	Var  = 1/M sum_m (y^m(x) - Mean)^2      its uncertainty
type Stats struct{ Mean, Var *core.Tensor }

// MeanVar computes Stats of outputs of one shape with backend ops.
func MeanVar(outs []*core.Tensor) (Stats, error) {
	if len(outs) == 0 {
		return Stats{}, fmt.Errorf("mean/var: no outputs")
	}
	m := float32(len(outs))
	mean, err := core.Apply(outs[0], core.Unary{})
	if err != nil {
		return Stats{}, err
	}
	b := mean.Backend()
	for _, o := range outs[1:] {
		if !o.Shape().Equal(mean.Shape()) {
			return Stats{}, fmt.Errorf("mean/var: outputs %v and %v differ", mean.Shape(), o.Shape())
		}
		if err := b.Binary(mean, mean, o, core.Add); err != nil {
			return Stats{}, err
		}
	}
	if err := b.Unary(mean, mean, core.Unary{Op: core.Affine, Alpha: 1 / m}); err != nil {
		return Stats{}, err
	}
	variance, err := core.New(b, mean.Shape())
	if err != nil {
		return Stats{}, err
	}
	for _, o := range outs {
		d, err := core.Elementwise(o, mean, core.Sub)
		if err != nil {
			return Stats{}, err
		}
		err = b.Unary(d, d, core.Unary{Op: core.Square})
		if err == nil {
			err = b.Binary(variance, variance, d, core.Add)
		}
		d.Free()
		if err != nil {
			return Stats{}, err
		}
	}
	return Stats{Mean: mean, Var: variance}, b.Unary(variance, variance, core.Unary{Op: core.Affine, Alpha: 1 / m})
}

// probabilities applies softmax over the last axis when asked.
func probabilities(y *core.Tensor, softmax bool) (*core.Tensor, error) {
	if !softmax {
		return y, nil
	}
	p, err := core.Softmax(y, -1)
	y.Free()
	return p, err
}

// MCDropout runs l m times on x in MCSample mode (a new dropout mask each
// time, drawn from rng) and returns the Stats of the outputs, of their
// softmax probabilities when softmax is set (Gal & Ghahramani 2016).
func MCDropout(l Layer, x *core.Tensor, m int, rng *core.RNG, softmax bool) (Stats, error) {
	if m < 1 || rng == nil {
		return Stats{}, fmt.Errorf("mc dropout: need m >= 1 passes (got %d) and an RNG", m)
	}
	ctx := &Context{Mode: MCSample, RNG: rng}
	outs := make([]*core.Tensor, 0, m)
	defer func() {
		for _, o := range outs {
			o.Free()
		}
	}()
	for i := 0; i < m; i++ {
		y, err := l.Forward(ctx, x)
		if err == nil {
			y, err = probabilities(y, softmax)
		}
		if err != nil {
			return Stats{}, fmt.Errorf("mc dropout pass %d: %w", i, err)
		}
		outs = append(outs, y)
	}
	return MeanVar(outs)
}

// EnsembleStats runs every member on x in inference and returns the Stats
// of their outputs (softmax probabilities when softmax is set): the
// averaged prediction of the ensemble and its variance.
func EnsembleStats(members []Layer, x *core.Tensor, softmax bool) (Stats, error) {
	outs := make([]*core.Tensor, 0, len(members))
	defer func() {
		for _, o := range outs {
			o.Free()
		}
	}()
	for i, l := range members {
		y, err := l.Forward(Eval, x)
		if err == nil {
			y, err = probabilities(y, softmax)
		}
		if err != nil {
			return Stats{}, fmt.Errorf("ensemble member %d: %w", i, err)
		}
		outs = append(outs, y)
	}
	return MeanVar(outs)
}

// Vote is the ensemble's majority vote: outs are the members' [N, classes]
// outputs; for each sample it returns the class most members rank first
// (ties: the smaller class) and the fraction of members that chose it.
func Vote(outs []*core.Tensor) (classes []int, agreement []float32, err error) {
	if len(outs) == 0 {
		return nil, nil, fmt.Errorf("vote: no outputs")
	}
	s := outs[0].Shape()
	if s.Rank() != 2 {
		return nil, nil, fmt.Errorf("vote: outputs %v, want [N, classes]", s)
	}
	n, k := s[0], s[1]
	counts := make([]int, n*k)
	for _, o := range outs {
		if !o.Shape().Equal(s) {
			return nil, nil, fmt.Errorf("vote: outputs %v and %v differ", s, o.Shape())
		}
		v, err := o.Data()
		if err != nil {
			return nil, nil, err
		}
		for i := 0; i < n; i++ {
			best := 0
			for j := 1; j < k; j++ {
				if v[i*k+j] > v[i*k+best] {
					best = j
				}
			}
			counts[i*k+best]++
		}
	}
	classes, agreement = make([]int, n), make([]float32, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if counts[i*k+j] > counts[i*k+best] {
				best = j
			}
		}
		classes[i] = best
		agreement[i] = float32(counts[i*k+best]) / float32(len(outs))
	}
	return classes, agreement, nil
}
