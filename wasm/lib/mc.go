package main

import (
	"errors"
	"fmt"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/models"
)

// ErrAborted reports a run the caller cancelled (an AbortSignal in JS).
var ErrAborted = errors.New("aborted")

// mcSamples runs l passes times on in in nn.MCSample mode (a new dropout
// mask each pass, drawn from one RNG seeded with seed; batch norm on its
// running statistics) and returns each pass's outputs on the host (their
// softmax probabilities when softmax is set). After each pass it reports
// done+i+1 of total to o.Run and stops with ErrAborted when the run is
// cancelled; between passes it lets the JS event loop run (pause), so that
// a cancel can arrive while it works.
func mcSamples(l nn.Layer, in *core.Tensor, passes int, seed uint64, softmax bool, o ClassifyOptions, done, total int) ([][]float32, error) {
	if passes < 1 || passes > 1000 {
		return nil, fmt.Errorf("%w: mcDropout %d: want 1 to 1000 passes", ErrBadInput, passes)
	}
	ctx := &nn.Context{Mode: nn.MCSample, RNG: core.NewRNG(seed)}
	out := make([][]float32, 0, passes)
	for i := 0; i < passes; i++ {
		if o.Run.canceled() {
			return nil, fmt.Errorf("%w after %d of %d passes", ErrAborted, done+i, total)
		}
		y, err := l.Forward(ctx, in)
		if err == nil && softmax {
			var p *core.Tensor
			p, err = core.Softmax(y, -1)
			y.Free()
			y = p
		}
		if err != nil {
			return nil, fmt.Errorf("mc dropout pass %d: %w", i+1, err)
		}
		v, err := y.Data()
		y.Free()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		o.Run.pass(done+i+1, total)
		if o.Run != nil {
			pause()
		}
	}
	if o.Run.canceled() {
		return nil, fmt.Errorf("%w after %d of %d passes", ErrAborted, done+passes, total)
	}
	return out, nil
}

// headsClassify is an ensemble of fine-tuned heads: each head's answer
// for img (one inference pass, or o.MC MC-dropout passes of its dropout)
// is a sample, and the answer is the lecture's mean and variance over all
// samples (heads x masks). The backbone's features are computed once per
// backbone. The heads must have the same classes in the same order.
func headsClassify(fs []*fineTuned, img *data.Image, o ClassifyOptions) ([]Prediction, error) {
	if len(fs) == 0 {
		return nil, fmt.Errorf("%w: an ensemble needs at least one head", ErrBadInput)
	}
	for i, f := range fs[1:] {
		if fmt.Sprint(f.labels) != fmt.Sprint(fs[0].labels) {
			return nil, fmt.Errorf("%w: head %d has classes %v, head 0 has %v", ErrBadInput, i+1, f.labels, fs[0].labels)
		}
	}
	feats := map[any][]float32{}
	passes := max(o.MC, 1)
	var samples [][]float32
	for i, f := range fs {
		var key any = f.base // heads on the frozen backbone share its features
		if f.tail != nil {
			key = f
		}
		fv, ok := feats[key]
		if !ok {
			x, err := f.base.input(img)
			if err != nil {
				return nil, err
			}
			if fv, err = f.featuresOf(x); err != nil {
				return nil, err
			}
			feats[key] = fv
		}
		s, err := f.samples(fv, o, i*passes, len(fs)*passes, uint64(i))
		if err != nil {
			return nil, fmt.Errorf("head %d: %w", i, err)
		}
		samples = append(samples, s...)
	}
	mean, variance, err := MeanVar(samples)
	if err != nil {
		return nil, err
	}
	if o.MC == 0 && len(fs) == 1 {
		variance = nil
	}
	return fromTop(models.Top(mean, false, fs[0].labels, topK(o.TopK)), variance), nil
}
