package optim

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// EMA keeps an exponential moving average of a network's tensors (the
// ResNet-RS recipe's "EMA of weights"; buffers such as batch-norm
// statistics are averaged too, as timm's ModelEmaV2 does):
//
//	shadow = Decay*shadow + (1-Decay)*w      after every optimizer step
//
// Evaluate or save the average with Swap, and Swap back to train on.
type EMA struct {
	Decay  float32
	ps     []nn.Param
	shadow []*core.Tensor
}

// NewEMA starts the average at the current values of ps.
func NewEMA(ps []nn.Param, decay float32) (*EMA, error) {
	if decay < 0 || decay >= 1 {
		return nil, fmt.Errorf("ema: decay %v must be in [0, 1)", decay)
	}
	e := &EMA{Decay: decay, ps: ps}
	for _, p := range ps {
		c, err := core.Apply(p.T, core.Unary{})
		if err != nil {
			return nil, fmt.Errorf("ema: %s: %w", p.Name, err)
		}
		e.shadow = append(e.shadow, c)
	}
	return e, nil
}

// Update blends the current values into the average.
func (e *EMA) Update() error {
	for i, p := range e.ps {
		var o ops
		s := e.shadow[i]
		o.affine(s, e.Decay, 0)
		o.into(s, o.scaled(p.T, 1-e.Decay), core.Add)
		if err := o.done(); err != nil {
			return fmt.Errorf("ema: %s: %w", p.Name, err)
		}
	}
	return nil
}

// Swap exchanges the live values and the average (on the device).
func (e *EMA) Swap() error {
	for i, p := range e.ps {
		s := p.T.Shape()
		cp := core.Copy{Shape: s.Clone(), SrcStrides: s.Strides(), DstStrides: s.Strides()}
		tmp, err := core.Apply(p.T, core.Unary{})
		if err == nil {
			err = core.CopyRegion(p.T, e.shadow[i], cp)
		}
		if err == nil {
			err = core.CopyRegion(e.shadow[i], tmp, cp)
		}
		tmp.Free()
		if err != nil {
			return fmt.Errorf("ema: swap %s: %w", p.Name, err)
		}
	}
	return nil
}
