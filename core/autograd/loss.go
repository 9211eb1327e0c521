package autograd

import (
	"fmt"

	"webcnn/core"
)

// SoftmaxCrossEntropy is the classification loss: the mean over the batch
// of -sum_c q_c log softmax(z)_c, where logits z are [N, C] and the target
// q is one-hot on labels[i], smoothed by eps (Szegedy et al. 2016):
// q = (1 - eps) onehot + eps/C. It returns the loss and its gradient with
// respect to the logits, (softmax(z) - q)/N. The targets are built on the
// host (data, like the labels); everything else runs on z's backend, and
// reading the loss back is the one synchronization.
func SoftmaxCrossEntropy(logits *core.Tensor, labels []int, eps float32) (float32, *core.Tensor, error) {
	s := logits.Shape()
	if s.Rank() != 2 || s[0] != len(labels) {
		return 0, nil, fmt.Errorf("cross-entropy: logits %v for %d labels, want [%d, classes]", s, len(labels), len(labels))
	}
	if eps < 0 || eps >= 1 {
		return 0, nil, fmt.Errorf("cross-entropy: label smoothing %v must be in [0, 1)", eps)
	}
	n, k := s[0], s[1]
	q := make([]float32, n*k)
	for i, l := range labels {
		if l < 0 || l >= k {
			return 0, nil, fmt.Errorf("cross-entropy: label %d of sample %d outside [0, %d)", l, i, k)
		}
		for j := range k {
			q[i*k+j] = eps / float32(k)
		}
		q[i*k+l] += 1 - eps
	}
	var c calc
	target := c.tmp(core.FromData(logits.Backend(), s, q))
	logp := c.tmp(core.LogSoftmax(logits, -1))
	loss := c.reduce(c.bin(logp, target, core.Mul), core.Sum)
	grad := c.un(c.into(c.un(logp, core.Unary{Op: core.Exp}), target, core.Sub), core.Unary{Op: core.Affine, Alpha: 1 / float32(n)})
	var l []float32
	if c.err == nil {
		var err error
		l, err = loss.Data()
		c.fail(err)
	}
	g, err := c.result(grad)
	if err != nil {
		return 0, nil, fmt.Errorf("cross-entropy: %w", err)
	}
	return -l[0] / float32(n), g, nil
}
