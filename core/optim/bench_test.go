package optim_test

import (
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/optim"
)

// lenet5 is models.LeNet5 (built here so that core does not depend on the
// zoo): conv 5x5x6 tanh, avg pool, conv 5x5x16 tanh, avg pool, fc 120
// tanh, fc 84 tanh, fc 10.
func lenet5(bd *nn.Builder) nn.Layer {
	return nn.Sequential{
		nn.N("conv1", bd.Conv2D(1, 6, 5, nn.ConvOpt{Bias: true, Act: core.Tanh})),
		nn.N("pool1", nn.AvgPool2D(2, 2, 0)),
		nn.N("conv2", bd.Conv2D(6, 16, 5, nn.ConvOpt{Bias: true, Act: core.Tanh})),
		nn.N("pool2", nn.AvgPool2D(2, 2, 0)),
		nn.N("flatten", nn.Flatten{}),
		nn.N("fc1", bd.Linear(4*4*16, 120, core.Tanh)),
		nn.N("fc2", bd.Linear(120, 84, core.Tanh)),
		nn.N("fc3", bd.Linear(84, 10, core.Identity)),
	}
}

// BenchmarkTrainLeNet5 times one SGD step (forward, loss, backward,
// update) of LeNet-5 on a batch of 64 random 28x28 images; it reports
// examples per second. Run natively and in js/wasm under Node.
func BenchmarkTrainLeNet5(b *testing.B) {
	be := cpu.New()
	bd := nn.NewBuilder(be, 1)
	net := lenet5(bd)
	const batch = 64
	g := core.NewRNG(2)
	v := make([]float32, batch*28*28)
	for i := range v {
		v[i] = g.NormFloat32()
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = g.IntN(10)
	}
	x, err := core.FromData(be, core.Shape{batch, 28, 28, 1}, v)
	if err != nil {
		b.Fatal(err)
	}
	opt := &optim.SGD{LR: 0.01, Momentum: 0.9}
	ps := net.Params()
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(3)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		y, pb, err := nn.ForwardGrad(ctx, net, x, false)
		if err != nil {
			b.Fatal(err)
		}
		_, dy, err := autograd.SoftmaxCrossEntropy(y, labels, 0)
		if err != nil {
			b.Fatal(err)
		}
		gs, err := nn.Backward(pb, dy)
		if err != nil {
			b.Fatal(err)
		}
		if err := opt.Step(ps, gs); err != nil {
			b.Fatal(err)
		}
		gs.Free()
		dy.Free()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
}
