package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// MobileNetV2 is torchvision's MobileNetV2 (Sandler et al. 2018, Table 2)
// with width multiplier width (1.0: the paper's network). Each row of the
// table is a bottleneck repeated n times, the first with stride s, each
// expanding its input t times:
//
//	input 224x224x3
//	features.0      conv 3x3/2 32, BN, ReLU6       -> 112x112x32
//	features.1      t=1 c=16  n=1 s=1              -> 112x112x16
//	features.2-3    t=6 c=24  n=2 s=2              -> 56x56x24
//	features.4-6    t=6 c=32  n=3 s=2              -> 28x28x32
//	features.7-10   t=6 c=64  n=4 s=2              -> 14x14x64
//	features.11-13  t=6 c=96  n=3 s=1              -> 14x14x96
//	features.14-16  t=6 c=160 n=3 s=2              -> 7x7x160
//	features.17     t=6 c=320 n=1 s=1              -> 7x7x320
//	features.18     conv 1x1 1280, BN, ReLU6       -> 7x7x1280
//	avgpool, flatten, classifier.0 dropout 0.2, classifier.1 linear -> classes
//
// Channels are rounded by makeDivisible(c*width, 8); the last conv keeps
// 1280 channels for width <= 1. Batch norms have PyTorch's eps 1e-5.
func MobileNetV2(bd *nn.Builder, width float64, classes int) nn.Layer {
	table := []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	}
	cin := makeDivisible(32*width, 8)
	last := makeDivisible(1280*max(1, width), 8)
	features := nn.Seq(mobileConvBN(bd, 3, cin, 3, 2, 1, bd.BatchNorm, core.ReLU6))
	for _, row := range table {
		cout := makeDivisible(float64(row.c)*width, 8)
		for i := 0; i < row.n; i++ {
			s := 1
			if i == 0 {
				s = row.s
			}
			features = append(features, nn.N(fmt.Sprint(len(features)), invertedResidualV2(bd, cin, cout, s, row.t)))
			cin = cout
		}
	}
	features = append(features, nn.N(fmt.Sprint(len(features)), mobileConvBN(bd, cin, last, 1, 1, 1, bd.BatchNorm, core.ReLU6)))
	return nn.Sequential{
		nn.N("features", features),
		nn.N("avgpool", nn.GlobalAvgPool{}),
		nn.N("flatten", nn.Flatten{}),
		nn.N("classifier", nn.Seq(&nn.Dropout{P: 0.2}, bd.Linear(last, classes, core.Identity))),
	}
}

// invertedResidualV2 is torchvision's mobilenetv2.InvertedResidual: an
// optional 1x1 expansion to round(cin*t) channels (absent when t == 1),
// a depthwise 3x3 with stride s, and a linear 1x1 projection, all in a
// Sequential named "conv"; the input is added when s == 1 and cin == cout.
//
//	t != 1: conv.0 (expand: .0 conv, .1 BN), conv.1 (depthwise), conv.2 project, conv.3 BN
//	t == 1: conv.0 (depthwise: .0 conv, .1 BN), conv.1 project, conv.2 BN
func invertedResidualV2(bd *nn.Builder, cin, cout, s, t int) nn.Layer {
	hidden := int(float64(cin)*float64(t) + 0.5)
	var conv []nn.Layer
	if t != 1 {
		conv = append(conv, mobileConvBN(bd, cin, hidden, 1, 1, 1, bd.BatchNorm, core.ReLU6))
	}
	conv = append(conv,
		mobileConvBN(bd, hidden, hidden, 3, s, hidden, bd.BatchNorm, core.ReLU6),
		bd.Conv2D(hidden, cout, 1, nn.ConvOpt{}),
		bd.BatchNorm(cout))
	body := nn.Sequential{nn.N("conv", nn.Seq(conv...))}
	if s == 1 && cin == cout {
		return &nn.Residual{Body: body}
	}
	return body
}

// mobileConvBN is torchvision's Conv2dNormActivation: a k x k conv without
// bias (padding (k-1)/2, stride s, groups g), the batch norm norm(cout)
// (bd.BatchNorm in MobileNetV2, Keras's eps 1e-3 in MobileNetV3), then act
// (none when act is core.Identity): children "0", "1", "2".
func mobileConvBN(bd *nn.Builder, cin, cout, k, s, g int, norm func(int) *nn.BatchNorm, act core.UnaryOp) nn.Layer {
	l := []nn.Layer{bd.Conv2D(cin, cout, k, nn.ConvOpt{Stride: s, Pad: (k - 1) / 2, Groups: g}), norm(cout)}
	if act != core.Identity {
		l = append(l, nn.Act(act))
	}
	return nn.Seq(l...)
}

// makeDivisible is torchvision's _make_divisible(v, divisor): v rounded to
// the nearest multiple of divisor (at least divisor), bumped up by one
// divisor when rounding lost more than 10%.
func makeDivisible(v float64, divisor int) int {
	n := max(divisor, int(v+float64(divisor)/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}
