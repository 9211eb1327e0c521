package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// bneck is one row of the MobileNetV3 tables (Howard et al. 2019, Tables
// 1 and 2): kernel, expansion size, output channels, squeeze-and-excite,
// nonlinearity (ReLU "RE" or hard-swish "HS") and stride.
type bneck struct {
	k, exp, out int
	se          bool
	act         core.UnaryOp
	s           int
}

// MobileNetV3Large is torchvision's mobilenet_v3_large (Table 1):
//
//	input 224x224x3
//	features.0      conv 3x3/2 16, BN, hard-swish  -> 112x112x16
//	features.1      bneck 3x3 16 16 RE /1           -> 112x112x16
//	features.2-3    bneck 3x3 64,72 24 RE /2        -> 56x56x24
//	features.4-6    bneck 5x5 72,120,120 40 SE RE /2 -> 28x28x40
//	features.7-10   bneck 3x3 240,200,184,184 80 HS /2 -> 14x14x80
//	features.11-12  bneck 3x3 480,672 112 SE HS /1  -> 14x14x112
//	features.13-15  bneck 5x5 672,960,960 160 SE HS /2 -> 7x7x160
//	features.16     conv 1x1 960, BN, hard-swish    -> 7x7x960
//	avgpool; classifier.0 linear 1280, .1 hard-swish, .2 dropout 0.2, .3 linear -> classes
func MobileNetV3Large(bd *nn.Builder, classes int) nn.Layer {
	re, hs := core.ReLU, core.HardSwish
	return mobileNetV3(bd, 16, []bneck{
		{3, 16, 16, false, re, 1},
		{3, 64, 24, false, re, 2},
		{3, 72, 24, false, re, 1},
		{5, 72, 40, true, re, 2},
		{5, 120, 40, true, re, 1},
		{5, 120, 40, true, re, 1},
		{3, 240, 80, false, hs, 2},
		{3, 200, 80, false, hs, 1},
		{3, 184, 80, false, hs, 1},
		{3, 184, 80, false, hs, 1},
		{3, 480, 112, true, hs, 1},
		{3, 672, 112, true, hs, 1},
		{5, 672, 160, true, hs, 2},
		{5, 960, 160, true, hs, 1},
		{5, 960, 160, true, hs, 1},
	}, 1280, classes)
}

// MobileNetV3Small is torchvision's mobilenet_v3_small (Table 2):
//
//	input 224x224x3
//	features.0      conv 3x3/2 16, BN, hard-swish   -> 112x112x16
//	features.1      bneck 3x3 16 16 SE RE /2         -> 56x56x16
//	features.2-3    bneck 3x3 72,88 24 RE /2         -> 28x28x24
//	features.4-6    bneck 5x5 96,240,240 40 SE HS /2 -> 14x14x40
//	features.7-8    bneck 5x5 120,144 48 SE HS /1    -> 14x14x48
//	features.9-11   bneck 5x5 288,576,576 96 SE HS /2 -> 7x7x96
//	features.12     conv 1x1 576, BN, hard-swish     -> 7x7x576
//	avgpool; classifier.0 linear 1024, .1 hard-swish, .2 dropout 0.2, .3 linear -> classes
func MobileNetV3Small(bd *nn.Builder, classes int) nn.Layer {
	re, hs := core.ReLU, core.HardSwish
	return mobileNetV3(bd, 16, []bneck{
		{3, 16, 16, true, re, 2},
		{3, 72, 24, false, re, 2},
		{3, 88, 24, false, re, 1},
		{5, 96, 40, true, hs, 2},
		{5, 240, 40, true, hs, 1},
		{5, 240, 40, true, hs, 1},
		{5, 120, 48, true, hs, 1},
		{5, 144, 48, true, hs, 1},
		{5, 288, 96, true, hs, 2},
		{5, 576, 96, true, hs, 1},
		{5, 576, 96, true, hs, 1},
	}, 1024, classes)
}

// mobileNetV3 is torchvision's MobileNetV3 class: a stem of stem channels,
// the bneck rows as features.1.., a 1x1 conv to 6x the last row's
// channels, then the classifier through last hidden units. Batch norms
// have eps 1e-3 and momentum 0.01.
func mobileNetV3(bd *nn.Builder, stem int, rows []bneck, last, classes int) nn.Layer {
	bn := func(c int) *nn.BatchNorm { return kerasBatchNorm(bd, c) }
	hs := core.HardSwish
	features := nn.Seq(mobileConvBN(bd, 3, stem, 3, 2, 1, bn, hs))
	cin := stem
	for _, r := range rows {
		features = append(features, nn.N(fmt.Sprint(len(features)), invertedResidualV3(bd, cin, r)))
		cin = r.out
	}
	features = append(features, nn.N(fmt.Sprint(len(features)), mobileConvBN(bd, cin, 6*cin, 1, 1, 1, bn, hs)))
	return nn.Sequential{
		nn.N("features", features),
		nn.N("avgpool", nn.GlobalAvgPool{}),
		nn.N("flatten", nn.Flatten{}),
		nn.N("classifier", nn.Seq(bd.Linear(6*cin, last, core.Identity), nn.Act(hs), &nn.Dropout{P: 0.2},
			bd.Linear(last, classes, core.Identity))),
	}
}

// invertedResidualV3 is torchvision's mobilenetv3.InvertedResidual, a
// Sequential named "block": a 1x1 expansion (absent when exp == cin, which
// shifts the later indices down), the k x k depthwise conv with stride s,
// squeeze-and-excitation when r.se (fc1 to makeDivisible(exp/4, 8)
// channels with ReLU, fc2 back with a hard-sigmoid gate), and the linear
// 1x1 projection (conv + BN). The input is added when s == 1 and cin == out.
func invertedResidualV3(bd *nn.Builder, cin int, r bneck) nn.Layer {
	bn := func(c int) *nn.BatchNorm { return kerasBatchNorm(bd, c) }
	var block []nn.Layer
	if r.exp != cin {
		block = append(block, mobileConvBN(bd, cin, r.exp, 1, 1, 1, bn, r.act))
	}
	block = append(block, mobileConvBN(bd, r.exp, r.exp, r.k, r.s, r.exp, bn, r.act))
	if r.se {
		sq := makeDivisible(float64(r.exp/4), 8)
		block = append(block, &nn.SqueezeExcite{
			FC1:   bd.Conv2D(r.exp, sq, 1, nn.ConvOpt{Bias: true, Act: core.ReLU}),
			FC2:   bd.Conv2D(sq, r.exp, 1, nn.ConvOpt{Bias: true, Act: core.HardSigmoid}),
			Name1: "fc1", Name2: "fc2",
		})
	}
	block = append(block, mobileConvBN(bd, r.exp, r.out, 1, 1, 1, bn, core.Identity))
	body := nn.Sequential{nn.N("block", nn.Seq(block...))}
	if r.s == 1 && cin == r.out {
		return &nn.Residual{Body: body}
	}
	return body
}
