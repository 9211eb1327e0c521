package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// Inception v3's modules keep torchvision's flat names: every convolution
// is a child of the module (Mixed_5b.branch5x5_2.conv.weight), so the
// branches are Concat children named "" whose Sequentials hold the named
// convolutions. Pools that torchvision calls functionally are named
// avg_pool and max_pool here; they hold no parameters.

// v3Conv is a named BasicConv2d (see inceptionConv); pad < 0 pads a
// kh x kw kernel by (k-1)/2 per axis.
func v3Conv(bd *nn.Builder, name string, cin, cout, kh, kw, stride, pad int) nn.Named {
	return nn.N(name, inceptionConv(bd, cin, cout, kh, kw, stride, pad))
}

// v3AvgPool is the 3x3/1 average pool (pad 1, padding counted) before
// the pool projection of InceptionA, C and E.
func v3AvgPool() nn.Named { return nn.N("avg_pool", nn.AvgPool2D(3, 1, 1)) }

// inceptionA (Figure 5 of the paper, 35x35): 64 + 64 + 96 + pool channels.
func inceptionA(bd *nn.Builder, cin, pool int) nn.Concat {
	return nn.Concat{
		v3Conv(bd, "branch1x1", cin, 64, 1, 1, 1, 0),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch5x5_1", cin, 48, 1, 1, 1, 0),
			v3Conv(bd, "branch5x5_2", 48, 64, 5, 5, 1, 2),
		}),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0),
			v3Conv(bd, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1),
			v3Conv(bd, "branch3x3dbl_3", 96, 96, 3, 3, 1, 1),
		}),
		nn.N("", nn.Sequential{v3AvgPool(), v3Conv(bd, "branch_pool", cin, pool, 1, 1, 1, 0)}),
	}
}

// inceptionB is the 35x35 -> 17x17 grid reduction (Figure 10): 384 + 96 +
// the input's channels.
func inceptionB(bd *nn.Builder, cin int) nn.Concat {
	return nn.Concat{
		v3Conv(bd, "branch3x3", cin, 384, 3, 3, 2, 0),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0),
			v3Conv(bd, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1),
			v3Conv(bd, "branch3x3dbl_3", 96, 96, 3, 3, 2, 0),
		}),
		nn.N("max_pool", nn.MaxPool2D(3, 2, 0, false)),
	}
}

// inceptionC (Figure 6, 17x17) factorizes 7x7 into 1x7 and 7x1 with c7
// channels inside: 4 x 192 channels out.
func inceptionC(bd *nn.Builder, cin, c7 int) nn.Concat {
	return nn.Concat{
		v3Conv(bd, "branch1x1", cin, 192, 1, 1, 1, 0),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch7x7_1", cin, c7, 1, 1, 1, 0),
			v3Conv(bd, "branch7x7_2", c7, c7, 1, 7, 1, -1),
			v3Conv(bd, "branch7x7_3", c7, 192, 7, 1, 1, -1),
		}),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch7x7dbl_1", cin, c7, 1, 1, 1, 0),
			v3Conv(bd, "branch7x7dbl_2", c7, c7, 7, 1, 1, -1),
			v3Conv(bd, "branch7x7dbl_3", c7, c7, 1, 7, 1, -1),
			v3Conv(bd, "branch7x7dbl_4", c7, c7, 7, 1, 1, -1),
			v3Conv(bd, "branch7x7dbl_5", c7, 192, 1, 7, 1, -1),
		}),
		nn.N("", nn.Sequential{v3AvgPool(), v3Conv(bd, "branch_pool", cin, 192, 1, 1, 1, 0)}),
	}
}

// inceptionD is the 17x17 -> 8x8 grid reduction: 320 + 192 + the input's
// channels.
func inceptionD(bd *nn.Builder, cin int) nn.Concat {
	return nn.Concat{
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch3x3_1", cin, 192, 1, 1, 1, 0),
			v3Conv(bd, "branch3x3_2", 192, 320, 3, 3, 2, 0),
		}),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch7x7x3_1", cin, 192, 1, 1, 1, 0),
			v3Conv(bd, "branch7x7x3_2", 192, 192, 1, 7, 1, -1),
			v3Conv(bd, "branch7x7x3_3", 192, 192, 7, 1, 1, -1),
			v3Conv(bd, "branch7x7x3_4", 192, 192, 3, 3, 2, 0),
		}),
		nn.N("max_pool", nn.MaxPool2D(3, 2, 0, false)),
	}
}

// inceptionE (Figure 7, 8x8) splits its 3x3 outputs into parallel 1x3 and
// 3x1 convolutions: 320 + 2x384 + 2x384 + 192 = 2048 channels.
func inceptionE(bd *nn.Builder, cin int) nn.Concat {
	return nn.Concat{
		v3Conv(bd, "branch1x1", cin, 320, 1, 1, 1, 0),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch3x3_1", cin, 384, 1, 1, 1, 0),
			nn.N("", nn.Concat{
				v3Conv(bd, "branch3x3_2a", 384, 384, 1, 3, 1, -1),
				v3Conv(bd, "branch3x3_2b", 384, 384, 3, 1, 1, -1),
			}),
		}),
		nn.N("", nn.Sequential{
			v3Conv(bd, "branch3x3dbl_1", cin, 448, 1, 1, 1, 0),
			v3Conv(bd, "branch3x3dbl_2", 448, 384, 3, 3, 1, 1),
			nn.N("", nn.Concat{
				v3Conv(bd, "branch3x3dbl_3a", 384, 384, 1, 3, 1, -1),
				v3Conv(bd, "branch3x3dbl_3b", 384, 384, 3, 1, 1, -1),
			}),
		}),
		nn.N("", nn.Sequential{v3AvgPool(), v3Conv(bd, "branch_pool", cin, 192, 1, 1, 1, 0)}),
	}
}

// InceptionV3 is torchvision's Inception3 (Szegedy et al. 2016, Table 1)
// at 299x299 without the auxiliary classifier (AuxLogits, which only runs
// in training and would sit after Mixed_6e):
//
//	input 299x299x3
//	Conv2d_1a_3x3  conv 3x3/2, 32          -> 149x149x32
//	Conv2d_2a_3x3  conv 3x3, 32            -> 147x147x32
//	Conv2d_2b_3x3  conv 3x3 pad 1, 64      -> 147x147x64
//	maxpool1       max pool 3x3/2          -> 73x73x64
//	Conv2d_3b_1x1  conv 1x1, 80            -> 73x73x80
//	Conv2d_4a_3x3  conv 3x3, 192           -> 71x71x192
//	maxpool2       max pool 3x3/2          -> 35x35x192
//	Mixed_5b, 5c, 5d  InceptionA           -> 35x35x256, 288, 288
//	Mixed_6a          InceptionB           -> 17x17x768
//	Mixed_6b..6e      InceptionC           -> 17x17x768
//	Mixed_7a          InceptionD           -> 8x8x1280
//	Mixed_7b, 7c      InceptionE           -> 8x8x2048
//	avgpool, dropout 0.5, fc classes
//
// 23,834,568 parameters (torchvision's 27,161,264 less the 3,326,696 of
// AuxLogits) and 5.7 G multiply-adds for 1000 classes. Batch norms use
// eps 0.001. torchvision's pretrained weights expect transform_input:
// inputs normalized to (x - 0.5)/0.5 per channel, the data pipeline's job.
func InceptionV3(bd *nn.Builder, classes int) nn.Layer {
	return nn.Sequential{
		v3Conv(bd, "Conv2d_1a_3x3", 3, 32, 3, 3, 2, 0),   // 149x149x32
		v3Conv(bd, "Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0),  // 147x147x32
		v3Conv(bd, "Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1),  // 147x147x64
		nn.N("maxpool1", nn.MaxPool2D(3, 2, 0, false)),   // 73x73x64
		v3Conv(bd, "Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0),  // 73x73x80
		v3Conv(bd, "Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0), // 71x71x192
		nn.N("maxpool2", nn.MaxPool2D(3, 2, 0, false)),   // 35x35x192
		nn.N("Mixed_5b", inceptionA(bd, 192, 32)),        // 35x35x256
		nn.N("Mixed_5c", inceptionA(bd, 256, 64)),        // 35x35x288
		nn.N("Mixed_5d", inceptionA(bd, 288, 64)),        // 35x35x288
		nn.N("Mixed_6a", inceptionB(bd, 288)),            // 17x17x768
		nn.N("Mixed_6b", inceptionC(bd, 768, 128)),       // 17x17x768
		nn.N("Mixed_6c", inceptionC(bd, 768, 160)),       // 17x17x768
		nn.N("Mixed_6d", inceptionC(bd, 768, 160)),       // 17x17x768
		nn.N("Mixed_6e", inceptionC(bd, 768, 192)),       // 17x17x768
		nn.N("Mixed_7a", inceptionD(bd, 768)),            // 8x8x1280
		nn.N("Mixed_7b", inceptionE(bd, 1280)),           // 8x8x2048
		nn.N("Mixed_7c", inceptionE(bd, 2048)),           // 8x8x2048
		nn.N("avgpool", nn.GlobalAvgPool{}),              // 1x1x2048
		nn.N("dropout", &nn.Dropout{P: 0.5}),
		nn.N("flatten", nn.Flatten{}),
		nn.N("fc", bd.Linear(2048, classes, core.Identity)),
	}
}
