// Package models is the zoo of the lecture's architectures: one file per
// family, constructors with the papers' arguments, torchvision's
// state_dict names wherever torchvision has the model, and a Zoo table.
//
// Every model takes NHWC input and returns logits [N, classes]. Weights are
// Kaiming/He random unless loaded (nn.Load, or the converter's manifests).
package models

import (
	"fmt"
	"sort"

	"webcnn/core"
	"webcnn/core/nn"
)

// Spec describes one zoo entry.
type Spec struct {
	ID      string     // "resnet50"
	Paper   string     // short citation
	Input   core.Shape // [1, H, W, C]
	Classes int
	Build   func(bd *nn.Builder) nn.Layer
	// Published reference figures that tests hold the model to (0: none
	// published). MACs are multiply-adds of one image.
	Params, MACs int64
	Source       string // where Params and MACs come from
}

// New builds the model on bd's backend with bd's seeded He initialization.
func (s Spec) New(bd *nn.Builder) (nn.Layer, error) {
	l := s.Build(bd)
	if err := bd.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.ID, err)
	}
	return l, nil
}

// Lookup returns the zoo entry with the given id.
func Lookup(id string) (Spec, error) {
	for _, s := range Zoo {
		if s.ID == id {
			return s, nil
		}
	}
	ids := make([]string, len(Zoo))
	for i, s := range Zoo {
		ids[i] = s.ID
	}
	sort.Strings(ids)
	return Spec{}, fmt.Errorf("models: unknown model %q (have %v)", id, ids)
}

// in224 is the ImageNet input of most of the zoo.
var in224 = core.Shape{1, 224, 224, 3}

// Zoo lists every model of the lecture.
var Zoo = []Spec{
	{ID: "lenet5", Paper: "LeCun et al. 1998 (the lecture's variant)", Input: core.Shape{1, 28, 28, 1}, Classes: 10,
		Build: func(bd *nn.Builder) nn.Layer { return LeNet5(bd, 10) }, Params: 44426, Source: "computed from the lecture's description"},
	{ID: "resnet18", Paper: "He et al. 2015, Deep Residual Learning (torchvision v1.5)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, false, [4]int{2, 2, 2, 2}, 1, 64, 1000) },
		Params: 11_689_512, MACs: 1_810_000_000, Source: "torchvision docs, ResNet18_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "resnet34", Paper: "He et al. 2015, Deep Residual Learning (torchvision v1.5)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, false, [4]int{3, 4, 6, 3}, 1, 64, 1000) },
		Params: 21_797_672, MACs: 3_660_000_000, Source: "torchvision docs, ResNet34_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "resnet50", Paper: "He et al. 2015, Deep Residual Learning (torchvision v1.5)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, true, [4]int{3, 4, 6, 3}, 1, 64, 1000) },
		Params: 25_557_032, MACs: 4_090_000_000, Source: "torchvision docs, ResNet50_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "resnet101", Paper: "He et al. 2015, Deep Residual Learning (torchvision v1.5)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, true, [4]int{3, 4, 23, 3}, 1, 64, 1000) },
		Params: 44_549_160, MACs: 7_800_000_000, Source: "torchvision docs, ResNet101_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "resnet152", Paper: "He et al. 2015, Deep Residual Learning (torchvision v1.5)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, true, [4]int{3, 8, 36, 3}, 1, 64, 1000) },
		Params: 60_192_808, MACs: 11_510_000_000, Source: "torchvision docs, ResNet152_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "resnext50_32x4d", Paper: "Xie et al. 2017, Aggregated Residual Transformations (ResNeXt)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, true, [4]int{3, 4, 6, 3}, 32, 4, 1000) },
		Params: 25_028_904, MACs: 4_230_000_000, Source: "torchvision docs, ResNeXt50_32X4D_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "wide_resnet50_2", Paper: "Zagoruyko & Komodakis 2016, Wide Residual Networks", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNet(bd, true, [4]int{3, 4, 6, 3}, 1, 128, 1000) },
		Params: 68_883_240, MACs: 11_400_000_000, Source: "torchvision docs, Wide_ResNet50_2_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	// timm's GMACs (resnet50d 4.35, seresnet50 4.1) also count batch norms,
	// activations, pools and residual additions, one per element; ours count
	// convs and linears only. For resnet50d: 4.329 G of convs and linears +
	// 11.9 M (BN) + 4.9 M (ReLUs inside the stem and branches) + 0.6 M
	// (pools) + 11.0 M (the 16 blocks' additions and ReLUs) = 4.357 G.
	// seresnet50: 4.092 G. Parameters agree exactly.
	{ID: "resnet50d", Paper: "He et al. 2019, Bag of Tricks (ResNet-D)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return ResNetD(bd, [4]int{3, 4, 6, 3}, 1000) },
		Params: 25_576_264, MACs: 4_350_000_000, Source: "timm resnet50d (param count; GMACs of timm's benchmark table, model card rounds to 4.4)"},
	{ID: "seresnet50", Paper: "Hu et al. 2018, Squeeze-and-Excitation Networks", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return SEResNet(bd, [4]int{3, 4, 6, 3}, 1000) },
		Params: 28_088_024, MACs: 4_100_000_000, Source: "timm seresnet50 (param count); GMACs 4.1 from the timm/seresnet50.a2_in1k model card"},
	{ID: "densenet121", Paper: "Huang et al. 2017, Densely Connected Convolutional Networks", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return DenseNet(bd, 32, [4]int{6, 12, 24, 16}, 64, 4, 1000) },
		Params: 7_978_856, MACs: 2_830_000_000, Source: "torchvision docs, DenseNet121_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "densenet169", Paper: "Huang et al. 2017, Densely Connected Convolutional Networks", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return DenseNet(bd, 32, [4]int{6, 12, 32, 32}, 64, 4, 1000) },
		Params: 14_149_480, MACs: 3_360_000_000, Source: "torchvision docs, DenseNet169_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "convnext_tiny", Paper: "Liu et al. 2022, A ConvNet for the 2020s", Input: in224, Classes: 1000,
		Build: func(bd *nn.Builder) nn.Layer {
			return ConvNeXt(bd, [4]int{3, 3, 9, 3}, [4]int{96, 192, 384, 768}, 0.1, 1000)
		},
		Params: 28_589_128, MACs: 4_460_000_000, Source: "torchvision docs, ConvNeXt_Tiny_Weights.IMAGENET1K_V1 (num_params, GFLOPS)"},
	{ID: "alexnet", Paper: "Krizhevsky 2014, One weird trick (torchvision's single-tower AlexNet; Krizhevsky et al. 2012)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return AlexNet(bd, 1000) },
		Params: 61_100_840, MACs: 714_000_000, Source: "torchvision weights meta, AlexNet_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg11", Paper: "Simonyan & Zisserman 2015, Very Deep Convolutional Networks (configuration A)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG11, false, 1000) },
		Params: 132_863_336, MACs: 7_609_000_000, Source: "torchvision weights meta, VGG11_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg11_bn", Paper: "Simonyan & Zisserman 2015 (configuration A), with batch norm (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG11, true, 1000) },
		Params: 132_868_840, MACs: 7_609_000_000, Source: "torchvision weights meta, VGG11_BN_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg16", Paper: "Simonyan & Zisserman 2015, Very Deep Convolutional Networks (configuration D)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG16, false, 1000) },
		Params: 138_357_544, MACs: 15_470_000_000, Source: "torchvision weights meta, VGG16_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg16_bn", Paper: "Simonyan & Zisserman 2015 (configuration D), with batch norm (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG16, true, 1000) },
		Params: 138_365_992, MACs: 15_470_000_000, Source: "torchvision weights meta, VGG16_BN_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg19", Paper: "Simonyan & Zisserman 2015, Very Deep Convolutional Networks (configuration E)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG19, false, 1000) },
		Params: 143_667_240, MACs: 19_632_000_000, Source: "torchvision weights meta, VGG19_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "vgg19_bn", Paper: "Simonyan & Zisserman 2015 (configuration E), with batch norm (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return VGG(bd, VGG19, true, 1000) },
		Params: 143_678_248, MACs: 19_632_000_000, Source: "torchvision weights meta, VGG19_BN_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	{ID: "googlenet", Paper: "Szegedy et al. 2015, Going Deeper with Convolutions (torchvision: batch norm, no aux heads)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return GoogLeNet(bd, 1000) },
		Params: 6_624_904, MACs: 1_498_000_000, Source: "torchvision weights meta, GoogLeNet_Weights.IMAGENET1K_V1 (num_params, without aux1/aux2; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	// torchvision publishes 27,161,264 parameters for Inception v3 with its
	// AuxLogits head; we build it without: 27,161,264 - 3,326,696 (conv0
	// 768*128 + BN 2*128, conv1 5*5*128*768 + BN 2*768, fc 768*1000 + 1000).
	// Its _ops of 5.713 G match our 5,713,216,096 multiply-adds without
	// AuxLogits, which would add 5.7 M (5.719 G): torchvision measured in
	// eval mode, where AuxLogits does not run.
	{ID: "inception_v3", Paper: "Szegedy et al. 2016, Rethinking the Inception Architecture (torchvision, no aux logits)", Input: core.Shape{1, 299, 299, 3}, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return InceptionV3(bd, 1000) },
		Params: 23_834_568, MACs: 5_713_000_000, Source: "torchvision weights meta, Inception_V3_Weights.IMAGENET1K_V1 (num_params 27,161,264 less AuxLogits' 3,326,696; _ops, the G multiply-adds behind the docs' GFLOPS column, measured without AuxLogits)"},
	{ID: "squeezenet1_0", Paper: "Iandola et al. 2016, SqueezeNet (v1.0)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return SqueezeNet10(bd, 1000) },
		Params: 1_248_424, MACs: 819_000_000, Source: "torchvision weights meta, SqueezeNet1_0_Weights.IMAGENET1K_V1 (num_params; _ops, the G multiply-adds behind the docs' GFLOPS column)"},
	// Keras counts batch-norm moving statistics as (non-trainable)
	// parameters; nn.Count leaves buffers out, as torchvision's num_params
	// does, so Params is Keras's "Trainable params" and the test checks
	// Keras's total (with the buffers) separately.
	{ID: "mobilenet_v1", Paper: "Howard et al. 2017, MobileNets (1.0 MobileNet-224, Keras applications)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return MobileNetV1(bd, 1, 224, 1000) },
		Params: 4_231_976, MACs: 569_000_000, Source: "Keras applications MobileNet(alpha=1.0) summary: 4,253,864 total = 4,231,976 trainable + 21,888 BN moving statistics; MACs: paper Table 8 (569 M, the classifier's 1.02 M included, Table 2)"},
	{ID: "mobilenet_v1_050_160", Paper: "Howard et al. 2017, MobileNets (0.50 MobileNet-160, Keras applications)", Input: core.Shape{1, 160, 160, 3}, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return MobileNetV1(bd, 0.5, 160, 1000) },
		Params: 1_331_592, MACs: 76_000_000, Source: "Keras applications MobileNet(alpha=0.5) summary: 1,342,536 total = 1,331,592 trainable + 10,944 BN moving statistics (the paper's 1.32 M counts conv and FC weights only: 1,319,648); MACs: paper Table 9 (76 M)"},
	{ID: "mobilenet_v2", Paper: "Sandler et al. 2018, MobileNetV2 (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return MobileNetV2(bd, 1, 1000) },
		Params: 3_504_872, MACs: 301_000_000, Source: "torchvision MobileNet_V2_Weights.IMAGENET1K_V1 (num_params; _ops 0.301 GFLOPS, which count multiply-adds; the docs table rounds to 0.30)"},
	{ID: "mobilenet_v3_large", Paper: "Howard et al. 2019, Searching for MobileNetV3 (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return MobileNetV3Large(bd, 1000) },
		Params: 5_483_032, MACs: 217_000_000, Source: "torchvision MobileNet_V3_Large_Weights.IMAGENET1K_V1 (num_params; _ops 0.217 GFLOPS, which count multiply-adds; the docs table rounds to 0.22)"},
	{ID: "mobilenet_v3_small", Paper: "Howard et al. 2019, Searching for MobileNetV3 (torchvision)", Input: in224, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return MobileNetV3Small(bd, 1000) },
		Params: 2_542_856, MACs: 57_000_000, Source: "torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1 (num_params; _ops 0.057 GFLOPS, which count multiply-adds; the docs table rounds to 0.06)"},
	// No multiply-add count for Xception was found that we could check
	// (neither the paper nor Keras gives one); our conv and linear layers
	// add up to 8,357,403,496, the "~8.4 G" usually quoted.
	{ID: "xception", Paper: "Chollet 2017, Xception (Keras applications)", Input: core.Shape{1, 299, 299, 3}, Classes: 1000,
		Build:  func(bd *nn.Builder) nn.Layer { return Xception(bd, 1000) },
		Params: 22_855_952, Source: "paper Table 3 (22,855,952); Keras applications summary: 22,910,480 total = 22,855,952 trainable + 54,528 BN moving statistics; MACs: none published"},
}
