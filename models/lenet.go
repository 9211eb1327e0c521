package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// LeNet5 is the lecture's improved LeNet-5:
//
//	input 28x28x1
//	conv1 5x5, 6, valid, tanh   -> 24x24x6
//	avg pool 2x2/2              -> 12x12x6
//	conv2 5x5, 16, valid, tanh  -> 8x8x16
//	avg pool 2x2/2              -> 4x4x16
//	fc 120, tanh; fc 84, tanh; fc classes
//
// 156 + 2,416 + 30,840 + 10,164 + 850 = 44,426 parameters for 10 classes.
func LeNet5(bd *nn.Builder, classes int) nn.Layer {
	return nn.Sequential{
		nn.N("conv1", bd.Conv2D(1, 6, 5, nn.ConvOpt{Bias: true, Act: core.Tanh})),
		nn.N("pool1", nn.AvgPool2D(2, 2, 0)),
		nn.N("conv2", bd.Conv2D(6, 16, 5, nn.ConvOpt{Bias: true, Act: core.Tanh})),
		nn.N("pool2", nn.AvgPool2D(2, 2, 0)),
		nn.N("flatten", nn.Flatten{}),
		nn.N("fc1", bd.Linear(4*4*16, 120, core.Tanh)),
		nn.N("fc2", bd.Linear(120, 84, core.Tanh)),
		nn.N("fc3", bd.Linear(84, classes, core.Identity)),
	}
}
