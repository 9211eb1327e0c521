package models

import (
	"fmt"

	"webcnn/core/graph"
	"webcnn/core/nn"
)

// FoldForInference prepares a network that Build made for callers that
// only infer: in a zoo architecture every batch norm that follows a
// convolution (or a linear layer) is folded into its weights and bias,
// and the activation after it fused into the conv's store, so a forward
// pass runs the conv alone where it ran the conv, the batch norm's scale
// and shift, and the activation (nn.FoldBatchNorm has the rules). It
// returns the folded network and the number of batch norms folded; batch
// norms that follow something else (DenseNet's pre-activation norms) keep
// running. An imported graph comes back as it is, with 0: Build already
// fused it (graph.Spec.Fuse).
//
// l is consumed (the folded tensors are freed) and the result is for
// inference only: training, fine-tuning, saving weights and per-layer
// summaries of the published architecture need the network as Build
// made it.
func FoldForInference(l nn.Layer) (nn.Layer, int, error) {
	if _, ok := l.(*graph.Graph); ok {
		return l, 0, nil
	}
	out, n, err := nn.FoldBatchNorm(l)
	if err != nil {
		return nil, 0, fmt.Errorf("models: fold for inference: %w", err)
	}
	return out, n, nil
}
