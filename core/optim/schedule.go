package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of each step (or epoch: the caller
// chooses the unit), from 0.
type Schedule interface {
	At(step int) float32
}

// StepDecay multiplies Base by Gamma every Every steps (the ResNet-RS
// baseline's stepwise decay; AlexNet and VGG with Gamma 0.1).
type StepDecay struct {
	Base, Gamma float32
	Every       int
}

// At returns Base * Gamma^(step/Every).
func (s StepDecay) At(step int) float32 {
	if s.Every <= 0 {
		return s.Base
	}
	return s.Base * float32(math.Pow(float64(s.Gamma), float64(step/s.Every)))
}

// Cosine warms up linearly for Warmup steps, then decays from Base to Min
// along half a cosine until Total (Loshchilov & Hutter 2017, without
// restarts; the ResNet-RS recipe's "cosine LR decay"):
//
//	step < Warmup:  Base * (step+1) / Warmup
//	otherwise:      Min + (Base-Min)/2 * (1 + cos(pi * (step-Warmup)/(Total-Warmup)))
//
// and Min from Total on.
type Cosine struct {
	Base, Min     float32
	Warmup, Total int
}

// At returns the rate of step.
func (c Cosine) At(step int) float32 {
	if step < c.Warmup {
		return c.Base * float32(step+1) / float32(c.Warmup)
	}
	if step >= c.Total || c.Total <= c.Warmup {
		return c.Min
	}
	f := float64(step-c.Warmup) / float64(c.Total-c.Warmup)
	return c.Min + (c.Base-c.Min)*float32(0.5*(1+math.Cos(math.Pi*f)))
}

// Plateau divides the learning rate by 1/Factor when a metric has not
// improved for more than Patience evaluations: AlexNet's "divide by 10
// when the validation error stops improving", PyTorch's
// ReduceLROnPlateau with threshold_mode "rel". Zero fields take PyTorch's
// defaults (Factor 0.1, Patience 10, Threshold 1e-4).
type Plateau struct {
	LR        float32
	Factor    float32
	Patience  int
	Threshold float32 // relative improvement that counts
	Maximize  bool    // the metric is an accuracy (higher is better)
	Cooldown  int     // evaluations to wait after a reduction
	MinLR     float32

	started  bool
	best     float32
	bad, coo int
}

// Observe records one evaluation of the metric and returns the learning
// rate to use from now on.
func (p *Plateau) Observe(metric float32) float32 {
	if p.Factor == 0 {
		p.Factor = 0.1
	}
	if p.Patience == 0 {
		p.Patience = 10
	}
	if p.Threshold == 0 {
		p.Threshold = 1e-4
	}
	better := !p.started
	if p.started {
		if p.Maximize {
			better = metric > p.best*(1+p.Threshold)
		} else {
			better = metric < p.best*(1-p.Threshold)
		}
	}
	p.started = true
	if better {
		p.best, p.bad = metric, 0
	} else {
		p.bad++
	}
	if p.coo > 0 {
		p.coo--
		p.bad = 0
	}
	if p.bad > p.Patience {
		p.LR = max(p.LR*p.Factor, p.MinLR)
		p.coo, p.bad = p.Cooldown, 0
	}
	return p.LR
}

// String describes the state (for logs).
func (p *Plateau) String() string {
	return fmt.Sprintf("plateau(lr %g, best %g, %d bad)", p.LR, p.best, p.bad)
}
