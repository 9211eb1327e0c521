package nn_test

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/optim"
)

// One training step by hand: a linear layer 2 -> 2 with zero weights sees
// x = [1, 0] of class 0. The logits [0, 0] give the loss ln 2 = 0.693 and
// the gradient softmax - onehot = [-0.5, 0.5]; so dW = x^T [-0.5, 0.5] and
// db = [-0.5, 0.5], and SGD with rate 1 makes the logits [1, -1]: the
// loss becomes ln(1 + e^-2) = 0.127, with gradient -/+ e^-2/(1 + e^-2) =
// -/+0.1192.
func ExampleForwardGrad() {
	b := cpu.New()
	fc := nn.NewBuilder(b, 1).Linear(2, 2, core.Identity)
	_ = nn.Load(fc, map[string][]float32{"weight": {0, 0, 0, 0}, "bias": {0, 0}})
	x, _ := core.FromData(b, core.Shape{1, 2}, []float32{1, 0})
	opt := &optim.SGD{LR: 1}
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(1)}
	for step := 0; step < 2; step++ {
		y, pb, _ := nn.ForwardGrad(ctx, fc, x, false) // no gradient for the input
		loss, dy, _ := autograd.SoftmaxCrossEntropy(y, []int{0}, 0)
		grads, _ := nn.Backward(pb, dy)
		dw, _ := grads.Of(fc.W).Data()
		fmt.Printf("loss %.3f, dW [%.4f %.4f %.4f %.4f]\n", loss, dw[0], dw[1], dw[2], dw[3])
		_ = opt.Step(fc.Params(), grads)
	}
	// Output:
	// loss 0.693, dW [-0.5000 0.5000 0.0000 0.0000]
	// loss 0.127, dW [-0.1192 0.1192 0.0000 0.0000]
}
