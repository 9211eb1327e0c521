package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// Xception is Xception (Chollet 2017, Figure 5) as Keras applications
// builds it:
//
//	input 299x299x3
//	entry flow  block1_conv1 3x3/2 32 valid, BN, ReLU        -> 149x149x32
//	            block1_conv2 3x3 64 valid, BN, ReLU          -> 147x147x64
//	            block2  sep 128, ReLU, sep 128, max pool /2 (+ 1x1/2 shortcut) -> 74x74x128
//	            block3  ReLU, sep 256, ReLU, sep 256, max pool /2 (+ shortcut) -> 37x37x256
//	            block4  ReLU, sep 728, ReLU, sep 728, max pool /2 (+ shortcut) -> 19x19x728
//	middle flow block5..12  3x (ReLU, sep 728) + identity    -> 19x19x728
//	exit flow   block13 ReLU, sep 728, ReLU, sep 1024, max pool /2 (+ shortcut) -> 10x10x1024
//	            block14 sep 1536, ReLU, sep 2048, ReLU       -> 10x10x2048
//	avg_pool (global), predictions linear                    -> classes
//
// Every separable conv is Keras's SeparableConv2D 3x3 "same" without
// bias: blockN_sepconvM.depthwise (3x3, one group per channel, stored
// [3,3,1,C]) then blockN_sepconvM.pointwise (1x1), each with a "weight"
// (Keras: depthwise_kernel, pointwise_kernel), and a batch norm
// blockN_sepconvM_bn. Max pools are 3x3/2 "same". Keras leaves the
// shortcut convs and their batch norms auto-named (conv2d,
// batch_normalization, conv2d_1, ...); here they are blockN_shortcut and
// blockN_shortcut_bn. Batch norms have Keras's eps 1e-3.
func Xception(bd *nn.Builder, classes int) nn.Layer {
	relu := func(name string) nn.Named { return nn.N(name, nn.Act(core.ReLU)) }
	net := nn.Sequential{
		nn.N("block1_conv1", bd.Conv2D(3, 32, 3, nn.ConvOpt{Stride: 2})),
		nn.N("block1_conv1_bn", kerasBatchNorm(bd, 32)),
		relu("block1_conv1_act"),
		nn.N("block1_conv2", bd.Conv2D(32, 64, 3, nn.ConvOpt{})),
		nn.N("block1_conv2_bn", kerasBatchNorm(bd, 64)),
		relu("block1_conv2_act"),
	}
	// Entry and exit flow blocks: two separable convs (the first block
	// follows block1's ReLU and has none of its own), a strided max pool
	// and a strided 1x1 shortcut.
	down := func(block, cin, mid, cout int, firstReLU bool) nn.Named {
		p := fmt.Sprintf("block%d_", block)
		var body nn.Sequential
		if firstReLU {
			body = append(body, relu(p+"sepconv1_act"))
		}
		body = append(body,
			nn.N(p+"sepconv1", kerasSeparable(bd, cin, mid)), nn.N(p+"sepconv1_bn", kerasBatchNorm(bd, mid)),
			relu(p+"sepconv2_act"),
			nn.N(p+"sepconv2", kerasSeparable(bd, mid, cout)), nn.N(p+"sepconv2_bn", kerasBatchNorm(bd, cout)),
			nn.N(p+"pool", maxPoolSame{3, 2}))
		return nn.N("", &nn.Residual{Body: body, Shortcut: nn.Sequential{
			nn.N(p+"shortcut", bd.Conv2D(cin, cout, 1, nn.ConvOpt{Stride: 2, Same: true})),
			nn.N(p+"shortcut_bn", kerasBatchNorm(bd, cout)),
		}})
	}
	net = append(net, down(2, 64, 128, 128, false), down(3, 128, 256, 256, true), down(4, 256, 728, 728, true))
	for block := 5; block <= 12; block++ {
		var body nn.Sequential
		for i := 1; i <= 3; i++ {
			p := fmt.Sprintf("block%d_sepconv%d", block, i)
			body = append(body, relu(p+"_act"), nn.N(p, kerasSeparable(bd, 728, 728)), nn.N(p+"_bn", kerasBatchNorm(bd, 728)))
		}
		net = append(net, nn.N("", &nn.Residual{Body: body}))
	}
	net = append(net, down(13, 728, 728, 1024, true),
		nn.N("block14_sepconv1", kerasSeparable(bd, 1024, 1536)),
		nn.N("block14_sepconv1_bn", kerasBatchNorm(bd, 1536)),
		relu("block14_sepconv1_act"),
		nn.N("block14_sepconv2", kerasSeparable(bd, 1536, 2048)),
		nn.N("block14_sepconv2_bn", kerasBatchNorm(bd, 2048)),
		relu("block14_sepconv2_act"),
		nn.N("avg_pool", nn.GlobalAvgPool{}),
		nn.N("flatten", nn.Flatten{}),
		nn.N("predictions", bd.Linear(2048, classes, core.Identity)))
	return net
}

// kerasSeparable is Keras's SeparableConv2D(cout, 3, padding="same",
// use_bias=False): a depthwise 3x3 and a pointwise 1x1.
func kerasSeparable(bd *nn.Builder, cin, cout int) nn.Sequential {
	return nn.Sequential{
		nn.N("depthwise", bd.Conv2D(cin, cin, 3, nn.ConvOpt{Groups: cin, Same: true})),
		nn.N("pointwise", bd.Conv2D(cin, cout, 1, nn.ConvOpt{})),
	}
}

// maxPoolSame is Keras's MaxPooling2D(k, s, padding="same"): TF "same"
// padding computed from each input's size (an odd total goes after);
// padded positions never win the max. nn.Pool takes only fixed padding.
type maxPoolSame struct{ k, s int }

func (p maxPoolSame) pool(in core.Shape) *nn.Pool {
	if in.Rank() != 4 {
		return nn.MaxPool2D(p.k, p.s, 0, false) // let Pool report the rank
	}
	hb, ha := core.SamePadding(in[1], p.k, p.s, 1)
	wb, wa := core.SamePadding(in[2], p.k, p.s, 1)
	return &nn.Pool{P: core.Pool{Op: core.MaxPool, Kernel: []int{p.k, p.k}, Stride: []int{p.s, p.s},
		PadBefore: []int{hb, wb}, PadAfter: []int{ha, wa}}}
}

// Forward pools x.
func (p maxPoolSame) Forward(ctx *nn.Context, x *core.Tensor) (*core.Tensor, error) {
	return p.pool(x.Shape()).Forward(ctx, x)
}

// Params returns nothing.
func (maxPoolSame) Params() []nn.Param { return nil }

// Plan records the pool with the padding of this input.
func (p maxPoolSame) Plan(t *nn.Trace, in core.Shape, f nn.Field) (core.Shape, nn.Field, error) {
	return p.pool(in).Plan(t, in, f)
}
