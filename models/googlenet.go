package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// inceptionConv is torchvision's BasicConv2d of GoogLeNet and Inception v3:
// a convolution without bias ("conv"), batch norm with eps 0.001 ("bn")
// and a functional ReLU. kh x kw kernels are padded by pad on both axes,
// or by (k-1)/2 per axis when pad < 0 (Inception v3's 1x7 and 7x1).
func inceptionConv(bd *nn.Builder, cin, cout, kh, kw, stride, pad int) nn.Sequential {
	bn := bd.BatchNorm(cout)
	bn.Eps = 1e-3
	return nn.Sequential{
		nn.N("conv", bd.ConvKxK(cin, cout, kh, kw, nn.ConvOpt{Stride: stride, Pad: pad})),
		nn.N("bn", bn),
		nn.N("relu", nn.Act(core.ReLU)),
	}
}

// googLeNetInception is the Inception module of GoogLeNet's Table 1: a 1x1
// branch, a 1x1 reduction then 3x3, a 1x1 reduction then "5x5", and a
// 3x3/1 max pool then 1x1 projection, concatenated. As in torchvision,
// the "5x5" branch (branch3) is a 3x3 convolution, a known deviation kept
// for its pretrained weights.
func googLeNetInception(bd *nn.Builder, cin, c1, c3r, c3, c5r, c5, proj int) nn.Concat {
	return nn.Concat{
		nn.N("branch1", inceptionConv(bd, cin, c1, 1, 1, 1, 0)),
		nn.N("branch2", nn.Seq(inceptionConv(bd, cin, c3r, 1, 1, 1, 0), inceptionConv(bd, c3r, c3, 3, 3, 1, 1))),
		nn.N("branch3", nn.Seq(inceptionConv(bd, cin, c5r, 1, 1, 1, 0), inceptionConv(bd, c5r, c5, 3, 3, 1, 1))),
		nn.N("branch4", nn.Seq(nn.MaxPool2D(3, 1, 1, true), inceptionConv(bd, cin, proj, 1, 1, 1, 0))),
	}
}

// GoogLeNet is torchvision's GoogLeNet (Szegedy et al. 2015, Table 1) with
// batch norm and without the auxiliary classifiers (aux1, aux2), which only
// run in training:
//
//	input 224x224x3
//	conv1     conv 7x7/2 pad 3, 64         -> 112x112x64
//	maxpool1  max pool 3x3/2 ceil          -> 56x56x64
//	conv2     conv 1x1, 64                 -> 56x56x64
//	conv3     conv 3x3 pad 1, 192          -> 56x56x192
//	maxpool2  max pool 3x3/2 ceil          -> 28x28x192
//	inception3a, 3b                        -> 28x28x256, 28x28x480
//	maxpool3  max pool 3x3/2 ceil          -> 14x14x480
//	inception4a..4e                        -> 14x14x512, 512, 512, 528, 832
//	maxpool4  max pool 2x2/2 ceil          -> 7x7x832
//	inception5a, 5b                        -> 7x7x832, 7x7x1024
//	avgpool, dropout 0.2, fc classes
//
// 6,624,904 parameters and 1.50 G multiply-adds for 1000 classes.
// torchvision's pretrained weights expect transform_input: inputs
// normalized to (x - 0.5)/0.5 per channel rather than with ImageNet's
// mean and standard deviation; that is the data pipeline's job here.
func GoogLeNet(bd *nn.Builder, classes int) nn.Layer {
	return nn.Sequential{
		nn.N("conv1", inceptionConv(bd, 3, 64, 7, 7, 2, 3)),                           // 112x112x64
		nn.N("maxpool1", nn.MaxPool2D(3, 2, 0, true)),                                 // 56x56x64
		nn.N("conv2", inceptionConv(bd, 64, 64, 1, 1, 1, 0)),                          // 56x56x64
		nn.N("conv3", inceptionConv(bd, 64, 192, 3, 3, 1, 1)),                         // 56x56x192
		nn.N("maxpool2", nn.MaxPool2D(3, 2, 0, true)),                                 // 28x28x192
		nn.N("inception3a", googLeNetInception(bd, 192, 64, 96, 128, 16, 32, 32)),     // 28x28x256
		nn.N("inception3b", googLeNetInception(bd, 256, 128, 128, 192, 32, 96, 64)),   // 28x28x480
		nn.N("maxpool3", nn.MaxPool2D(3, 2, 0, true)),                                 // 14x14x480
		nn.N("inception4a", googLeNetInception(bd, 480, 192, 96, 208, 16, 48, 64)),    // 14x14x512
		nn.N("inception4b", googLeNetInception(bd, 512, 160, 112, 224, 24, 64, 64)),   // 14x14x512
		nn.N("inception4c", googLeNetInception(bd, 512, 128, 128, 256, 24, 64, 64)),   // 14x14x512
		nn.N("inception4d", googLeNetInception(bd, 512, 112, 144, 288, 32, 64, 64)),   // 14x14x528
		nn.N("inception4e", googLeNetInception(bd, 528, 256, 160, 320, 32, 128, 128)), // 14x14x832
		nn.N("maxpool4", nn.MaxPool2D(2, 2, 0, true)),                                 // 7x7x832
		nn.N("inception5a", googLeNetInception(bd, 832, 256, 160, 320, 32, 128, 128)), // 7x7x832
		nn.N("inception5b", googLeNetInception(bd, 832, 384, 192, 384, 48, 128, 128)), // 7x7x1024
		nn.N("avgpool", nn.GlobalAvgPool{}),                                           // 1x1x1024
		nn.N("flatten", nn.Flatten{}),
		nn.N("dropout", &nn.Dropout{P: 0.2}),
		nn.N("fc", bd.Linear(1024, classes, core.Identity)),
	}
}
