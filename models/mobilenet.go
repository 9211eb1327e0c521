package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// MobileNetV1 is MobileNet (Howard et al. 2017, Table 1) as Keras
// applications builds it, with width multiplier alpha (every layer has
// int(c*alpha) channels) at input resolution x resolution (the paper's
// resolution multiplier; the layers do not depend on it, and the model
// rejects other input sizes as a Keras model built on
// Input(shape=(resolution, resolution, 3)) does). For 224 and alpha 1:
//
//	conv1          conv 3x3/2 32, BN, ReLU6           -> 112x112x32
//	conv_dw_1      dw 3x3/1, pw 1x1 64                -> 112x112x64
//	conv_dw_2..3   dw 3x3/2, pw 128; dw /1, pw 128    -> 56x56x128
//	conv_dw_4..5   dw 3x3/2, pw 256; dw /1, pw 256    -> 28x28x256
//	conv_dw_6..11  dw 3x3/2, pw 512; 5x (dw /1, pw 512) -> 14x14x512
//	conv_dw_12..13 dw 3x3/2, pw 1024; dw /1, pw 1024  -> 7x7x1024
//	global avg pool, dropout 1e-3, conv_preds 1x1 classes (bias), reshape -> classes
//
// (Table 1 prints the last depthwise as "s2" on a 7x7 map; every
// implementation, Keras included, uses stride 1 there.) Each depthwise
// block is conv_dw_i (no bias), conv_dw_i_bn, ReLU6, conv_pw_i (no bias),
// conv_pw_i_bn, ReLU6; batch norms have Keras's eps 1e-3.
//
// Padding follows Keras exactly: conv1 and the stride-1 depthwise convs
// are "same" (Conv.Same); a stride-2 depthwise conv is Keras's
// ZeroPadding2D(((0, 1), (0, 1))) then "valid", written here as explicit
// asymmetric padding 0 before and 1 after, which equals TF "same" on the
// even maps of every standard resolution.
//
// Parameter names are the Keras layer names; Keras's gamma, beta,
// moving_mean, moving_variance and kernel are weight, bias, running_mean,
// running_var and weight here, and a depthwise kernel [3,3,C,1] is stored
// as [3,3,1,C] (HWIO with C groups).
func MobileNetV1(bd *nn.Builder, alpha float64, resolution, classes int) nn.Layer {
	c := func(n int) int { return int(float64(n) * alpha) }
	table := []struct{ out, s int }{ // pointwise filters and depthwise stride of conv_dw_1..13
		{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
		{1024, 2}, {1024, 1},
	}
	cin := c(32)
	net := nn.Sequential{
		nn.N("input_1", inputSize{resolution, resolution, 3}),
		nn.N("conv1", bd.Conv2D(3, cin, 3, nn.ConvOpt{Stride: 2, Same: true})),
		nn.N("conv1_bn", kerasBatchNorm(bd, cin)),
		nn.N("conv1_relu", nn.Act(core.ReLU6)),
	}
	for i, row := range table {
		id, cout := i+1, c(row.out)
		dw := bd.Conv2D(cin, cin, 3, nn.ConvOpt{Stride: row.s, Groups: cin, Same: row.s == 1})
		if row.s == 2 {
			dw.P.PadBefore, dw.P.PadAfter = []int{0, 0}, []int{1, 1} // conv_pad_<id>
		}
		net = append(net,
			nn.N(fmt.Sprintf("conv_dw_%d", id), dw),
			nn.N(fmt.Sprintf("conv_dw_%d_bn", id), kerasBatchNorm(bd, cin)),
			nn.N(fmt.Sprintf("conv_dw_%d_relu", id), nn.Act(core.ReLU6)),
			nn.N(fmt.Sprintf("conv_pw_%d", id), bd.Conv2D(cin, cout, 1, nn.ConvOpt{})),
			nn.N(fmt.Sprintf("conv_pw_%d_bn", id), kerasBatchNorm(bd, cout)),
			nn.N(fmt.Sprintf("conv_pw_%d_relu", id), nn.Act(core.ReLU6)))
		cin = cout
	}
	return append(net,
		nn.N("global_average_pooling2d", nn.GlobalAvgPool{}),
		nn.N("dropout", &nn.Dropout{P: 1e-3}),
		nn.N("conv_preds", bd.Conv2D(cin, classes, 1, nn.ConvOpt{Bias: true})),
		nn.N("reshape_2", nn.Flatten{}))
}

// kerasBatchNorm is a batch norm with Keras's defaults: epsilon 1e-3 and
// momentum 0.99 on the running statistics (PyTorch's momentum 0.01).
// torchvision's MobileNetV3 uses the same values.
func kerasBatchNorm(bd *nn.Builder, c int) *nn.BatchNorm {
	bn := bd.BatchNorm(c)
	bn.Eps, bn.Momentum = 1e-3, 0.01
	return bn
}

// inputSize passes inputs of spatial size h x w with c channels and
// rejects others, as a Keras model built on Input(shape=(h, w, c)) does.
type inputSize struct{ h, w, c int }

func (s inputSize) check(in core.Shape) error {
	if in.Rank() != 4 || in[1] != s.h || in[2] != s.w || in[3] != s.c {
		return fmt.Errorf("input %v: model built for [N %d %d %d]", in, s.h, s.w, s.c)
	}
	return nil
}

// Forward returns x itself when its shape fits.
func (s inputSize) Forward(_ *nn.Context, x *core.Tensor) (*core.Tensor, error) {
	if err := s.check(x.Shape()); err != nil {
		return nil, err
	}
	return x, nil
}

// Params returns nothing.
func (inputSize) Params() []nn.Param { return nil }

// Plan checks the shape and records nothing.
func (s inputSize) Plan(_ *nn.Trace, in core.Shape, f nn.Field) (core.Shape, nn.Field, error) {
	return in, f, s.check(in)
}
