package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// ConvNeXt is torchvision's ConvNeXt (Liu et al. 2022): depths[i] blocks
// of dims[i] channels per stage, stochastic depth rising linearly from 0
// on the first block to sdProb on the last (identity in inference).
// ConvNeXt-T is depths {3, 3, 9, 3}, dims {96, 192, 384, 768}, sdProb
// 0.1. Shapes of ConvNeXt-T for a 224x224 input:
//
//	features.0: 0 conv 4x4/4 96 (bias), 1 LayerNorm  -> 56x56x96
//	features.1: 3 blocks                              -> 56x56x96
//	features.2: 0 LayerNorm, 1 conv 2x2/2 192 (bias)  -> 28x28x192
//	features.3: 3 blocks                              -> 28x28x192
//	features.4: downsampling                          -> 14x14x384
//	features.5: 9 blocks                              -> 14x14x384
//	features.6: downsampling                          -> 7x7x768
//	features.7: 3 blocks                              -> 7x7x768
//	avgpool -> 1x1x768; classifier: 0 LayerNorm, 1 flatten, 2 linear
//
// Every LayerNorm normalizes over the channels with eps 1e-6 (torchvision's
// LayerNorm2d, which is channels-last already in NHWC).
func ConvNeXt(bd *nn.Builder, depths, dims [4]int, sdProb float32, classes int) nn.Layer {
	features := nn.Sequential{
		nn.N("0", nn.Seq(bd.Conv2D(3, dims[0], 4, nn.ConvOpt{Stride: 4, Bias: true}), bd.LayerNorm(dims[0]))),
	}
	total := depths[0] + depths[1] + depths[2] + depths[3]
	id := 0
	for i, dim := range dims {
		if i > 0 {
			features = append(features, nn.N(fmt.Sprint(2*i), nn.Seq(
				bd.LayerNorm(dims[i-1]), bd.Conv2D(dims[i-1], dim, 2, nn.ConvOpt{Stride: 2, Bias: true}))))
		}
		stage := make(nn.Sequential, depths[i])
		for j := range stage {
			p := sdProb * float32(id) / float32(total-1)
			stage[j] = nn.N(fmt.Sprint(j), cnBlock(bd, dim, p))
			id++
		}
		features = append(features, nn.N(fmt.Sprint(2*i+1), stage))
	}
	last := dims[3]
	return nn.Sequential{
		nn.N("features", features),
		nn.N("avgpool", nn.GlobalAvgPool{}),
		nn.N("classifier", nn.Seq(bd.LayerNorm(last), nn.Flatten{}, bd.Linear(last, classes, core.Identity))),
	}
}

// cnBlock is torchvision's CNBlock, x + drop(layer_scale * block(x)):
//
//	block.0 depthwise 7x7 p3 (bias)
//	block.1 Permute to channels-last (nothing to do in NHWC)
//	block.2 LayerNorm over channels, eps 1e-6
//	block.3 Linear dim -> 4 dim, block.4 GELU (erf), block.5 Linear 4 dim -> dim
//	block.6 Permute back (nothing to do)
//	layer_scale (init 1e-6), stochastic_depth
//
// The per-pixel Linears are 1x1 convs: torchvision's weight [out, in]
// becomes our [1, 1, in, out] (transpose, then reshape). layer_scale is
// [dim, 1, 1] in torchvision and [dim] here (same values, reshaped).
func cnBlock(bd *nn.Builder, dim int, sdProb float32) nn.Layer {
	return &nn.Residual{Body: nn.Sequential{
		nn.N("block", nn.Seq(
			bd.Conv2D(dim, dim, 7, nn.ConvOpt{Pad: 3, Groups: dim, Bias: true}),
			nn.Identity{}, // Permute
			bd.LayerNorm(dim),
			bd.Conv2D(dim, 4*dim, 1, nn.ConvOpt{Bias: true}),
			nn.Act(core.GELU),
			bd.Conv2D(4*dim, dim, 1, nn.ConvOpt{Bias: true}),
			nn.Identity{}, // Permute
		)),
		nn.N("layer_scale", bd.Scale(dim, 1e-6)),
		nn.N("stochastic_depth", &nn.Dropout{P: sdProb, Kind: nn.DropPaths}),
	}}
}
