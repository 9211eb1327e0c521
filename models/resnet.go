package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// ResNet is torchvision's ResNet (He et al. 2015, table 1) in its v1.5
// form: a bottleneck's stride sits on its 3x3 conv. groups and
// widthPerGroup make it ResNeXt (Xie et al. 2017: 32 and 4) or Wide
// ResNet (Zagoruyko & Komodakis 2016: 1 and 128); plain ResNets use 1
// and 64. Shapes for a 224x224 input, bottleneck channels in brackets:
//
//	conv1 7x7/2 64, bn1, relu            -> 112x112x64
//	maxpool 3x3/2 p1                     -> 56x56x64
//	layer1: layers[0] blocks, 64         -> 56x56x64   [256]
//	layer2: layers[1] blocks, 128, /2    -> 28x28x128  [512]
//	layer3: layers[2] blocks, 256, /2    -> 14x14x256  [1024]
//	layer4: layers[3] blocks, 512, /2    -> 7x7x512    [2048]
//	avgpool, fc classes
//
// A BasicBlock is conv1 3x3 (stride), bn1, relu, conv2 3x3, bn2; a
// Bottleneck is conv1 1x1, bn1, relu, conv2 3x3 (stride, groups), bn2,
// relu, conv3 1x1 (x4), bn3. Both add the shortcut, then relu; the
// shortcut is downsample.0 (1x1 conv, stride, no bias) and downsample.1
// (BN) where the stride or the channels change. Like torchvision, the
// BasicBlock has no grouped or widened form: it panics unless groups is 1
// and widthPerGroup 64.
func ResNet(bd *nn.Builder, bottleneck bool, layers [4]int, groups, widthPerGroup, classes int) nn.Layer {
	if !bottleneck && (groups != 1 || widthPerGroup != 64) {
		panic(fmt.Sprintf("models: ResNet BasicBlock supports only groups 1 and width 64, got %d and %d", groups, widthPerGroup))
	}
	return resnet{bottleneck: bottleneck, layers: layers, groups: groups, widthPerGroup: widthPerGroup}.build(bd, classes)
}

// ResNetD is the ResNet-D of "Bag of Tricks" (He et al. 2019, table 5)
// with timm's names (resnet50d is layers {3, 4, 6, 3}): the 7x7 stem
// becomes three 3x3 convs (ResNet-C) and a downsampling shortcut
// averages 2x2/2 before its stride-1 1x1 conv, so it no longer skips
// three quarters of its input (ResNet-D). Bottleneck blocks throughout.
//
//	conv1.0 3x3/2 32, conv1.1 bn, relu   -> 112x112x32
//	conv1.3 3x3 32, conv1.4 bn, relu     -> 112x112x32
//	conv1.6 3x3 64; bn1, relu            -> 112x112x64
//	maxpool, layer1..layer4, fc as in ResNet; a shortcut is
//	downsample.0 avg pool 2x2/2 (ceil, padding not counted; identity at
//	stride 1), downsample.1 1x1 conv, downsample.2 BN
func ResNetD(bd *nn.Builder, layers [4]int, classes int) nn.Layer {
	return resnet{bottleneck: true, layers: layers, groups: 1, widthPerGroup: 64, deepStem: true, avgDown: true}.build(bd, classes)
}

// SEResNet is the SE-ResNet of Hu et al. 2018 (fig. 3) with timm's names
// (seresnet50 is layers {3, 4, 6, 3}): every bottleneck gates its branch,
// after bn3 and before the addition, by a squeeze-excitation at
// layerX.Y.se: global average, fc1 1x1 conv C -> C/16 with bias, relu,
// fc2 1x1 conv C/16 -> C with bias, sigmoid. C is the block's output
// (planes x 4); timm rounds C/16 to a multiple of 8, which it already is.
func SEResNet(bd *nn.Builder, layers [4]int, classes int) nn.Layer {
	return resnet{bottleneck: true, layers: layers, groups: 1, widthPerGroup: 64, se: true}.build(bd, classes)
}

// resnet holds the variants' choices.
type resnet struct {
	bottleneck            bool
	layers                [4]int
	groups, widthPerGroup int
	deepStem              bool // ResNet-C stem: 3x3 convs 32, 32, 64
	avgDown               bool // ResNet-D shortcut: avg pool, then a stride-1 conv
	se                    bool // squeeze-excitation on each block's branch
}

func (r resnet) build(bd *nn.Builder, classes int) nn.Layer {
	relu := func() nn.Layer { return nn.Act(core.ReLU) }
	var conv1 nn.Layer = bd.Conv2D(3, 64, 7, nn.ConvOpt{Stride: 2, Pad: 3})
	if r.deepStem {
		conv1 = nn.Seq(
			bd.Conv2D(3, 32, 3, nn.ConvOpt{Stride: 2, Pad: 1}), bd.BatchNorm(32), relu(),
			bd.Conv2D(32, 32, 3, nn.ConvOpt{Pad: 1}), bd.BatchNorm(32), relu(),
			bd.Conv2D(32, 64, 3, nn.ConvOpt{Pad: 1}))
	}
	net := nn.Sequential{
		nn.N("conv1", conv1), nn.N("bn1", bd.BatchNorm(64)), nn.N("relu", relu()), // 112x112x64
		nn.N("maxpool", nn.MaxPool2D(3, 2, 1, false)), // 56x56x64
	}
	inplanes := 64
	for i, planes := range [4]int{64, 128, 256, 512} {
		stride := 2
		if i == 0 {
			stride = 1
		}
		stage := make(nn.Sequential, r.layers[i])
		for j := range stage {
			stage[j] = nn.N(fmt.Sprint(j), r.block(bd, inplanes, planes, stride))
			inplanes, stride = r.out(planes), 1
		}
		net = append(net, nn.N(fmt.Sprintf("layer%d", i+1), stage))
	}
	return append(net,
		nn.N("avgpool", nn.GlobalAvgPool{}), nn.N("flatten", nn.Flatten{}),
		nn.N("fc", bd.Linear(inplanes, classes, core.Identity)))
}

// out is a block's output channels: planes, times 4 for a bottleneck.
func (r resnet) out(planes int) int {
	if r.bottleneck {
		return 4 * planes
	}
	return planes
}

// block is a BasicBlock or a Bottleneck from inplanes channels.
func (r resnet) block(bd *nn.Builder, inplanes, planes, stride int) *nn.Residual {
	out := r.out(planes)
	var body nn.Sequential
	if r.bottleneck {
		width := planes * r.widthPerGroup / 64 * r.groups
		body = nn.Sequential{
			nn.N("conv1", bd.Conv2D(inplanes, width, 1, nn.ConvOpt{})), nn.N("bn1", bd.BatchNorm(width)), nn.N("relu1", nn.Act(core.ReLU)),
			nn.N("conv2", bd.Conv2D(width, width, 3, nn.ConvOpt{Stride: stride, Pad: 1, Groups: r.groups})), nn.N("bn2", bd.BatchNorm(width)), nn.N("relu2", nn.Act(core.ReLU)),
			nn.N("conv3", bd.Conv2D(width, out, 1, nn.ConvOpt{})), nn.N("bn3", bd.BatchNorm(out)),
		}
	} else {
		body = nn.Sequential{
			nn.N("conv1", bd.Conv2D(inplanes, planes, 3, nn.ConvOpt{Stride: stride, Pad: 1})), nn.N("bn1", bd.BatchNorm(planes)), nn.N("relu1", nn.Act(core.ReLU)),
			nn.N("conv2", bd.Conv2D(planes, planes, 3, nn.ConvOpt{Pad: 1})), nn.N("bn2", bd.BatchNorm(planes)),
		}
	}
	if r.se {
		body = append(body, nn.N("se", &nn.SqueezeExcite{
			FC1:   bd.Conv2D(out, out/16, 1, nn.ConvOpt{Bias: true, Act: core.ReLU}),
			FC2:   bd.Conv2D(out/16, out, 1, nn.ConvOpt{Bias: true, Act: core.Sigmoid}),
			Name1: "fc1", Name2: "fc2",
		}))
	}
	block := &nn.Residual{Body: body, ShortcutName: "downsample", Post: core.Act(core.ReLU)}
	switch {
	case stride == 1 && inplanes == out:
		// identity shortcut
	case r.avgDown:
		block.Shortcut = nn.Seq(avgDown(stride), bd.Conv2D(inplanes, out, 1, nn.ConvOpt{}), bd.BatchNorm(out))
	default:
		block.Shortcut = nn.Seq(bd.Conv2D(inplanes, out, 1, nn.ConvOpt{Stride: stride}), bd.BatchNorm(out))
	}
	return block
}

// avgDown is ResNet-D's shortcut pool, timm's AvgPool2d(2, stride,
// ceil_mode=True, count_include_pad=False): a window cut by the map's
// edge averages only what it covers. At stride 1 it is the identity.
func avgDown(stride int) nn.Layer {
	if stride == 1 {
		return nn.Identity{}
	}
	return &nn.Pool{P: core.Pool{Op: core.AvgPool, Kernel: []int{2, 2}, Stride: []int{stride, stride}, CeilMode: true}}
}
