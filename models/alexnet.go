package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// AlexNet is torchvision's AlexNet, the single-tower variant of
// Krizhevsky's "One weird trick" (2014) rather than the two-GPU network
// of the 2012 paper (64/192/384/256/256 filters instead of 96/256/384/384/256,
// no LRN):
//
//	input 224x224x3
//	features.0  conv 11x11/4 pad 2, 64, relu   -> 55x55x64
//	features.2  max pool 3x3/2                 -> 27x27x64
//	features.3  conv 5x5 pad 2, 192, relu      -> 27x27x192
//	features.5  max pool 3x3/2                 -> 13x13x192
//	features.6  conv 3x3 pad 1, 384, relu      -> 13x13x384
//	features.8  conv 3x3 pad 1, 256, relu      -> 13x13x256
//	features.10 conv 3x3 pad 1, 256, relu      -> 13x13x256
//	features.12 max pool 3x3/2                 -> 6x6x256
//	avgpool     AdaptiveAvgPool2d(6, 6)        -> 6x6x256 (identity here)
//	classifier  dropout, fc 4096, relu, dropout, fc 4096, relu, fc classes
//
// 61,100,840 parameters and 0.71 G multiply-adds for 1000 classes.
//
// The adaptive average pool is the identity on the 6x6 map that inputs of
// 224x224 give (we have no adaptive pool, so other input sizes fail at
// classifier.1 with a shape error). ReLUs are separate layers so that the
// Seq indices are torchvision's.
//
// classifier.1.weight follows our Flatten, which reads the 6x6x256 map in
// H, W, C order, while torchvision flattens C, H, W: the converter must
// permute its rows, row (h*6+w)*256+c of ours being input feature
// c*36+h*6+w of torchvision's (after the [Out, In] -> [In, Out] transpose).
func AlexNet(bd *nn.Builder, classes int) nn.Layer {
	relu := func() nn.Layer { return nn.Act(core.ReLU) }
	conv := func(cin, cout, k, s, p int) nn.Layer {
		return bd.Conv2D(cin, cout, k, nn.ConvOpt{Stride: s, Pad: p, Bias: true})
	}
	return nn.Sequential{
		nn.N("features", nn.Seq(
			conv(3, 64, 11, 4, 2), relu(), nn.MaxPool2D(3, 2, 0, false), // 55x55x64 -> 27x27x64
			conv(64, 192, 5, 1, 2), relu(), nn.MaxPool2D(3, 2, 0, false), // 27x27x192 -> 13x13x192
			conv(192, 384, 3, 1, 1), relu(), // 13x13x384
			conv(384, 256, 3, 1, 1), relu(), // 13x13x256
			conv(256, 256, 3, 1, 1), relu(), nn.MaxPool2D(3, 2, 0, false), // 6x6x256
		)),
		nn.N("avgpool", nn.Identity{}),
		nn.N("flatten", nn.Flatten{}), // 9216, in H, W, C order
		nn.N("classifier", nn.Seq(
			&nn.Dropout{P: 0.5}, bd.Linear(6*6*256, 4096, core.Identity), relu(),
			&nn.Dropout{P: 0.5}, bd.Linear(4096, 4096, core.Identity), relu(),
			bd.Linear(4096, classes, core.Identity),
		)),
	}
}
