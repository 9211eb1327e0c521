package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// fire is SqueezeNet's Fire module with torchvision's names: a 1x1
// "squeeze" to sq channels, then parallel 1x1 ("expand1x1", e1 channels)
// and 3x3 ("expand3x3", e3 channels) expansions, concatenated; every
// convolution has a bias and its own named ReLU.
func fire(bd *nn.Builder, cin, sq, e1, e3 int) nn.Sequential {
	return nn.Sequential{
		nn.N("squeeze", bd.Conv2D(cin, sq, 1, nn.ConvOpt{Bias: true})),
		nn.N("squeeze_activation", nn.Act(core.ReLU)),
		nn.N("", nn.Concat{
			nn.N("", nn.Sequential{
				nn.N("expand1x1", bd.Conv2D(sq, e1, 1, nn.ConvOpt{Bias: true})),
				nn.N("expand1x1_activation", nn.Act(core.ReLU)),
			}),
			nn.N("", nn.Sequential{
				nn.N("expand3x3", bd.Conv2D(sq, e3, 3, nn.ConvOpt{Pad: 1, Bias: true})),
				nn.N("expand3x3_activation", nn.Act(core.ReLU)),
			}),
		}),
	}
}

// SqueezeNet10 is torchvision's SqueezeNet 1.0 (Iandola et al. 2016,
// Table 1):
//
//	input 224x224x3
//	features.0  conv 7x7/2, 96, relu      -> 109x109x96
//	features.2  max pool 3x3/2 ceil       -> 54x54x96
//	features.3  fire2 (16, 64, 64)        -> 54x54x128
//	features.4  fire3 (16, 64, 64)        -> 54x54x128
//	features.5  fire4 (32, 128, 128)      -> 54x54x256
//	features.6  max pool 3x3/2 ceil       -> 27x27x256
//	features.7  fire5 (32, 128, 128)      -> 27x27x256
//	features.8  fire6 (48, 192, 192)      -> 27x27x384
//	features.9  fire7 (48, 192, 192)      -> 27x27x384
//	features.10 fire8 (64, 256, 256)      -> 27x27x512
//	features.11 max pool 3x3/2 ceil       -> 13x13x512
//	features.12 fire9 (64, 256, 256)      -> 13x13x512
//	classifier  dropout 0.5, conv 1x1 classes (classifier.1), relu,
//	            global average pool       -> 1x1xclasses
//
// 1,248,424 parameters and 0.82 G multiply-adds for 1000 classes.
func SqueezeNet10(bd *nn.Builder, classes int) nn.Layer {
	return nn.Sequential{
		nn.N("features", nn.Seq(
			bd.Conv2D(3, 96, 7, nn.ConvOpt{Stride: 2, Bias: true}), nn.Act(core.ReLU), // 109x109x96
			nn.MaxPool2D(3, 2, 0, true), // 54x54x96
			fire(bd, 96, 16, 64, 64),    // 54x54x128
			fire(bd, 128, 16, 64, 64),   // 54x54x128
			fire(bd, 128, 32, 128, 128), // 54x54x256
			nn.MaxPool2D(3, 2, 0, true), // 27x27x256
			fire(bd, 256, 32, 128, 128), // 27x27x256
			fire(bd, 256, 48, 192, 192), // 27x27x384
			fire(bd, 384, 48, 192, 192), // 27x27x384
			fire(bd, 384, 64, 256, 256), // 27x27x512
			nn.MaxPool2D(3, 2, 0, true), // 13x13x512
			fire(bd, 512, 64, 256, 256), // 13x13x512
		)),
		nn.N("classifier", nn.Seq(
			&nn.Dropout{P: 0.5},
			bd.Conv2D(512, classes, 1, nn.ConvOpt{Bias: true}), // 13x13xclasses
			nn.Act(core.ReLU),
			nn.GlobalAvgPool{}, // 1x1xclasses
		)),
		nn.N("flatten", nn.Flatten{}),
	}
}
