package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// DenseNet is torchvision's DenseNet-BC (Huang et al. 2017, table 1):
// growth rate k = growth, bottleneck width bnSize*k, compression 0.5.
// DenseNet-121 is blocks {6, 12, 24, 16}, DenseNet-169 {6, 12, 32, 32},
// both with growth 32, 64 initial features and bnSize 4. Shapes of
// DenseNet-121 for a 224x224 input:
//
//	features.conv0 7x7/2 64, norm0, relu0   -> 112x112x64
//	features.pool0 max 3x3/2 p1             -> 56x56x64
//	denseblock1: 6 layers                   -> 56x56x256  (64 + 6*32)
//	transition1: 1x1 conv, avg pool 2x2/2   -> 28x28x128
//	denseblock2: 12 layers                  -> 28x28x512
//	transition2                             -> 14x14x256
//	denseblock3: 24 layers                  -> 14x14x1024
//	transition3                             -> 7x7x512
//	denseblock4: 16 layers                  -> 7x7x1024
//	features.norm5, relu, avg pool, classifier
//
// A dense layer (denseblockB.denselayerL) is norm1, relu1, conv1 1x1
// bnSize*k, norm2, relu2, conv2 3x3 k; its output joins its input after
// the channels already there, as torch.cat([previous..., new]) does.
// A transition (transitionB) is norm, relu, conv 1x1 halving the
// channels, pool.
func DenseNet(bd *nn.Builder, growth int, blocks [4]int, initFeatures, bnSize, classes int) nn.Layer {
	features := nn.Sequential{
		nn.N("conv0", bd.Conv2D(3, initFeatures, 7, nn.ConvOpt{Stride: 2, Pad: 3})),
		nn.N("norm0", bd.BatchNorm(initFeatures)), nn.N("relu0", nn.Act(core.ReLU)),
		nn.N("pool0", nn.MaxPool2D(3, 2, 1, false)),
	}
	c := initFeatures
	for i, n := range blocks {
		block := make(nn.Sequential, n)
		for j := range block {
			block[j] = nn.N(fmt.Sprintf("denselayer%d", j+1), denseLayer(bd, c, growth, bnSize))
			c += growth
		}
		features = append(features, nn.N(fmt.Sprintf("denseblock%d", i+1), block))
		if i == len(blocks)-1 {
			break
		}
		features = append(features, nn.N(fmt.Sprintf("transition%d", i+1), nn.Sequential{
			nn.N("norm", bd.BatchNorm(c)), nn.N("relu", nn.Act(core.ReLU)),
			nn.N("conv", bd.Conv2D(c, c/2, 1, nn.ConvOpt{})),
			nn.N("pool", nn.AvgPool2D(2, 2, 0)),
		}))
		c /= 2
	}
	features = append(features, nn.N("norm5", bd.BatchNorm(c)))
	return nn.Sequential{
		nn.N("features", features),
		nn.N("relu", nn.Act(core.ReLU)), nn.N("avgpool", nn.GlobalAvgPool{}), nn.N("flatten", nn.Flatten{}),
		nn.N("classifier", bd.Linear(c, classes, core.Identity)),
	}
}

// denseLayer maps c channels to c + growth: the input passes through and
// the bottleneck's new maps follow it.
func denseLayer(bd *nn.Builder, c, growth, bnSize int) nn.Layer {
	w := bnSize * growth
	return nn.Concat{
		nn.N("", nn.Identity{}),
		nn.N("", nn.Sequential{
			nn.N("norm1", bd.BatchNorm(c)), nn.N("relu1", nn.Act(core.ReLU)),
			nn.N("conv1", bd.Conv2D(c, w, 1, nn.ConvOpt{})),
			nn.N("norm2", bd.BatchNorm(w)), nn.N("relu2", nn.Act(core.ReLU)),
			nn.N("conv2", bd.Conv2D(w, growth, 3, nn.ConvOpt{Pad: 1})),
		}),
	}
}
