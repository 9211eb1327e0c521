package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// The VGG configurations of Simonyan and Zisserman's Table 1: the number
// of 3x3 convolutions in each of the five stages (64, 128, 256, 512 and
// 512 filters), each stage ending with a 2x2/2 max pool.
var (
	VGG11 = [5]int{1, 1, 2, 2, 2} // configuration A
	VGG13 = [5]int{2, 2, 2, 2, 2} // configuration B
	VGG16 = [5]int{2, 2, 3, 3, 3} // configuration D
	VGG19 = [5]int{2, 2, 4, 4, 4} // configuration E
)

// VGG is torchvision's VGG with convs[i] 3x3 convolutions in stage i,
// batch norm after each convolution when batchNorm is set (the convs keep
// their bias, as in torchvision's vgg*_bn):
//
//	input 224x224x3
//	stage 1  convs[0] x conv 3x3 pad 1, 64, relu;  max pool 2x2/2 -> 112x112x64
//	stage 2  convs[1] x conv 3x3 pad 1, 128, relu; max pool       -> 56x56x128
//	stage 3  convs[2] x conv 3x3 pad 1, 256, relu; max pool       -> 28x28x256
//	stage 4  convs[3] x conv 3x3 pad 1, 512, relu; max pool       -> 14x14x512
//	stage 5  convs[4] x conv 3x3 pad 1, 512, relu; max pool       -> 7x7x512
//	avgpool     AdaptiveAvgPool2d(7, 7)                          -> 7x7x512 (identity here)
//	classifier  fc 4096, relu, dropout, fc 4096, relu, dropout, fc classes
//
// All layers of features sit in one Seq numbered as torchvision's
// (conv, [bn,] relu per convolution, then the pool): VGG-16's convs are
// features.0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28; with batch norm
// features.0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40.
//
// The adaptive average pool is the identity on the 7x7 map of 224x224
// inputs (we have no adaptive pool: other sizes fail at classifier.0).
// classifier.0.weight follows our Flatten, which reads the 7x7x512 map in
// H, W, C order, while torchvision flattens C, H, W: the converter must
// permute its rows, row (h*7+w)*512+c of ours being input feature
// c*49+h*7+w of torchvision's (after the [Out, In] -> [In, Out] transpose).
func VGG(bd *nn.Builder, convs [5]int, batchNorm bool, classes int) nn.Layer {
	widths := [5]int{64, 128, 256, 512, 512}
	var features []nn.Layer
	cin := 3
	for stage, n := range convs {
		for range n {
			features = append(features, bd.Conv2D(cin, widths[stage], 3, nn.ConvOpt{Pad: 1, Bias: true}))
			if batchNorm {
				features = append(features, bd.BatchNorm(widths[stage]))
			}
			features = append(features, nn.Act(core.ReLU))
			cin = widths[stage]
		}
		features = append(features, nn.MaxPool2D(2, 2, 0, false))
	}
	return nn.Sequential{
		nn.N("features", nn.Seq(features...)), // 7x7x512
		nn.N("avgpool", nn.Identity{}),
		nn.N("flatten", nn.Flatten{}), // 25088, in H, W, C order
		nn.N("classifier", nn.Seq(
			bd.Linear(7*7*512, 4096, core.Identity), nn.Act(core.ReLU), &nn.Dropout{P: 0.5},
			bd.Linear(4096, 4096, core.Identity), nn.Act(core.ReLU), &nn.Dropout{P: 0.5},
			bd.Linear(4096, classes, core.Identity),
		)),
	}
}
