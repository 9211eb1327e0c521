package optim

import (
	"fmt"
	"math"

	"webcnn/core"
	"webcnn/core/nn"
)

// ClipGradNorm scales every gradient by min(1, maxNorm/(norm + 1e-6)),
// where norm is the global L2 norm of all of them together (PyTorch's
// clip_grad_norm_), and returns that norm (before clipping). The scale is
// computed on the device; reading the norm back is the one sync.
func ClipGradNorm(ps []nn.Param, g *nn.Grads, maxNorm float32) (float32, error) {
	if maxNorm <= 0 {
		return 0, fmt.Errorf("clip grad norm: max norm %v must be positive", maxNorm)
	}
	var o ops
	var total *core.Tensor
	var grads []*core.Tensor
	err := each(ps, g, func(_ nn.Param, grad *core.Tensor) error {
		grads = append(grads, grad)
		sq := o.apply(grad, core.Unary{Op: core.Square})
		if o.err != nil {
			return o.err
		}
		s, err := core.Reduce(sq, core.Sum)
		if err != nil {
			return err
		}
		s1, err := s.Reshape(1)
		if err != nil {
			return err
		}
		if total == nil {
			total = s1
			return nil
		}
		o.into(total, s1, core.Add)
		s.Free()
		return o.err
	})
	if err == nil && total == nil {
		return 0, o.done()
	}
	if err != nil {
		o.done()
		return 0, err
	}
	defer total.Free()
	o.unary(total, core.Unary{Op: core.Sqrt})
	scale := o.apply(total, core.Unary{Op: core.Affine, Alpha: 1, Beta: 1e-6})
	o.unary(scale, core.Unary{Op: core.Recip})
	o.affine(scale, maxNorm, 0)
	o.unary(scale, core.Unary{Op: core.Clip, Alpha: -math.MaxFloat32, Beta: 1})
	for _, grad := range grads {
		o.into(grad, scale, core.Mul)
	}
	var n []float32
	if o.err == nil {
		n, err = total.Data()
		o.fail(err)
	}
	if err := o.done(); err != nil {
		return 0, fmt.Errorf("clip grad norm: %w", err)
	}
	return n[0], nil
}
