package nn

import (
	"fmt"
	"math"

	"webcnn/core"
)

// Builder allocates layers on a backend with Kaiming/He initialization
// from a seeded RNG. It keeps the first allocation error (read it with
// Err), so model constructors read like the papers' tables.
type Builder struct {
	B   core.Backend
	RNG *core.RNG
	// ShapesOnly allocates tensors without writing values (with a backend
	// that holds no memory, models can be planned and counted for free).
	ShapesOnly bool
	err        error
}

// NewBuilder returns a builder for backend b seeded with seed.
func NewBuilder(b core.Backend, seed uint64) *Builder {
	return &Builder{B: b, RNG: core.NewRNG(seed)}
}

// Err returns the first error met while building.
func (bd *Builder) Err() error { return bd.err }

// tensor allocates a tensor filled by fill (nil: zeros).
func (bd *Builder) tensor(s core.Shape, fill func(i int) float32) *core.Tensor {
	if bd.err != nil {
		return nil
	}
	var t *core.Tensor
	var err error
	if fill == nil || bd.ShapesOnly {
		t, err = core.New(bd.B, s)
	} else {
		d := make([]float32, s.Size())
		for i := range d {
			d[i] = fill(i)
		}
		t, err = core.FromData(bd.B, s, d)
	}
	if err != nil {
		bd.err = fmt.Errorf("build: %w", err)
	}
	return t
}

// he returns normal values with standard deviation sqrt(2/fanIn)
// (He et al. 2015, torchvision's kaiming_normal_ for ReLU networks).
func (bd *Builder) he(fanIn int) func(int) float32 {
	std := float32(math.Sqrt(2 / float64(fanIn)))
	return func(int) float32 { return bd.RNG.NormFloat32() * std }
}

// constant returns a fill of value v.
func constant(v float32) func(int) float32 { return func(int) float32 { return v } }

// ConvOpt are the options of a 2-D convolution beyond its sizes.
type ConvOpt struct {
	Stride   int
	Pad      int // symmetric explicit padding; ignored with Same
	Same     bool
	Dilation int
	Groups   int
	Bias     bool
	Act      core.UnaryOp
}

// Conv2D returns a k x k convolution from cin to cout channels.
func (bd *Builder) Conv2D(cin, cout, k int, o ConvOpt) *Conv {
	return bd.ConvKxK(cin, cout, k, k, o)
}

// ConvKxK returns a kh x kw convolution (Inception v3's 1x7 and 7x1).
// With Pad set and kh != kw, the padding is (k-1)/2 on each axis when Pad < 0.
func (bd *Builder) ConvKxK(cin, cout, kh, kw int, o ConvOpt) *Conv {
	s, d, g := max(o.Stride, 1), max(o.Dilation, 1), max(o.Groups, 1)
	ph, pw := o.Pad, o.Pad
	if o.Pad < 0 {
		ph, pw = d*(kh-1)/2, d*(kw-1)/2
	}
	c := &Conv{
		W: bd.tensor(core.Shape{kh, kw, cin / g, cout}, bd.he(kh*kw*cin/g)),
		P: core.Conv{Stride: []int{s, s}, Dilation: []int{d, d}, PadBefore: []int{ph, pw}, PadAfter: []int{ph, pw},
			Groups: g, Act: core.Act(o.Act)},
		Same: o.Same,
	}
	if o.Bias {
		c.B = bd.tensor(core.Shape{cout}, nil)
	}
	return c
}

// BatchNorm returns an inference-ready batch norm over c channels
// (gamma 1, beta 0, running mean 0, running variance 1, eps 1e-5,
// momentum 0.1: PyTorch's defaults).
func (bd *Builder) BatchNorm(c int) *BatchNorm {
	return &BatchNorm{
		Gamma: bd.tensor(core.Shape{c}, constant(1)), Beta: bd.tensor(core.Shape{c}, nil),
		Mean: bd.tensor(core.Shape{c}, nil), Var: bd.tensor(core.Shape{c}, constant(1)),
		Eps: 1e-5, Momentum: 0.1,
	}
}

// Linear returns a fully connected layer from in to out features with bias.
func (bd *Builder) Linear(in, out int, act core.UnaryOp) *Linear {
	return &Linear{W: bd.tensor(core.Shape{in, out}, bd.he(in)), B: bd.tensor(core.Shape{out}, nil), Act: core.Act(act)}
}

// LinearNoBias returns a fully connected layer without bias.
func (bd *Builder) LinearNoBias(in, out int) *Linear {
	return &Linear{W: bd.tensor(core.Shape{in, out}, bd.he(in))}
}

// LayerNorm returns a channels-last layer norm over c channels (gamma 1,
// beta 0), with ConvNeXt's eps 1e-6.
func (bd *Builder) LayerNorm(c int) *LayerNorm {
	return &LayerNorm{Gamma: bd.tensor(core.Shape{c}, constant(1)), Beta: bd.tensor(core.Shape{c}, nil), Eps: 1e-6}
}

// Scale returns a learned per-channel scale initialized to v (ConvNeXt's
// layer scale, named "layer_scale" there; the name is the caller's).
func (bd *Builder) Scale(c int, v float32) *ChannelScale {
	return &ChannelScale{Gamma: bd.tensor(core.Shape{c}, constant(v))}
}
