package nn

import (
	"fmt"

	"webcnn/core"
)

// BatchNorm normalizes channels with running statistics in inference and
// with batch statistics (updating the running ones) in training. Its
// tensors have torchvision's names: weight, bias, running_mean, running_var.
type BatchNorm struct {
	Gamma, Beta, Mean, Var *core.Tensor
	Eps, Momentum          float32
}

// Forward normalizes x.
func (n *BatchNorm) Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error) {
	if ctx != nil && ctx.Mode == core.Training {
		return core.BatchNormTrain(x, n.Gamma, n.Beta, n.Mean, n.Var, n.Momentum, n.Eps)
	}
	return core.BatchNorm(x, n.Gamma, n.Beta, n.Mean, n.Var, n.Eps)
}

// Params returns gamma and beta, and the running statistics as buffers.
func (n *BatchNorm) Params() []Param {
	return []Param{{Name: "weight", T: n.Gamma}, {Name: "bias", T: n.Beta},
		{Name: "running_mean", T: n.Mean, Buffer: true}, {Name: "running_var", T: n.Var, Buffer: true}}
}

// Plan records the layer; it keeps the shape.
func (n *BatchNorm) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	if c := in[in.Rank()-1]; c != n.Gamma.Size() {
		return nil, f, fmt.Errorf("batch norm: input %v, %d channels expected", in, n.Gamma.Size())
	}
	t.add("BatchNorm", in, int64(2*n.Gamma.Size()), 0, f)
	t.inPlace()
	return in, f, nil
}

// LayerNorm normalizes over the trailing axes of Gamma's shape ([C]:
// channels-last, as ConvNeXt).
type LayerNorm struct {
	Gamma, Beta *core.Tensor
	Eps         float32
}

// Forward normalizes x.
func (n *LayerNorm) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.LayerNorm(x, n.Gamma, n.Beta, n.Eps)
}

// Params returns weight and bias.
func (n *LayerNorm) Params() []Param {
	return []Param{{Name: "weight", T: n.Gamma}, {Name: "bias", T: n.Beta}}
}

// Plan records the layer; it keeps the shape.
func (n *LayerNorm) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	t.add("LayerNorm", in, int64(n.Gamma.Size()+n.Beta.Size()), 0, f)
	return in, f, nil
}

// ChannelScale multiplies each channel by a learned factor (ConvNeXt's
// layer scale); its tensor is named by the parent, so Params uses "".
type ChannelScale struct{ Gamma *core.Tensor }

// Forward scales x.
func (s *ChannelScale) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.Elementwise(x, s.Gamma, core.Mul)
}

// Params returns the scale under the parent's name.
func (s *ChannelScale) Params() []Param { return []Param{{Name: "", T: s.Gamma}} }

// Plan records the layer; it keeps the shape.
func (s *ChannelScale) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	t.add("Scale", in, int64(s.Gamma.Size()), 0, f)
	t.inPlace()
	return in, f, nil
}

// LRN is local response normalization across channels (AlexNet's NORM).
type LRN struct {
	Size              int
	Alpha, Beta, Bias float32
}

// Forward normalizes x.
func (n *LRN) Forward(_ *Context, x *core.Tensor) (*core.Tensor, error) {
	return core.LRN(x, n.Size, n.Alpha, n.Beta, n.Bias)
}

// Params returns nothing.
func (n *LRN) Params() []Param { return nil }

// Plan records the layer; it keeps the shape.
func (n *LRN) Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error) {
	t.add(fmt.Sprintf("LRN %d", n.Size), in, 0, 0, f)
	return in, f, nil
}
