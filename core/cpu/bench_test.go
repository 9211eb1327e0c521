package cpu

import (
	"fmt"
	"testing"

	"webcnn/core"
)

// benchConv is a conv layer of MobileNetV2 or ResNet-50, batch 1, "same"
// padding (TensorFlow's, so stride 2 pads 0 before and 1 after on even
// inputs; the cost is that of PyTorch's symmetric padding).
type benchConv struct {
	name             string
	h, w, cin, cout  int
	k, stride, group int
}

var benchConvs = []benchConv{
	{"3x3_112x112x32to64", 112, 112, 32, 64, 3, 1, 1},
	{"1x1_56x56x144to24", 56, 56, 144, 24, 1, 1, 1},
	{"dw3x3_112x112x96", 112, 112, 96, 96, 3, 1, 96},
	{"3x3_56x56x64to64", 56, 56, 64, 64, 3, 1, 1},
	{"7x7s2_224x224x3to64", 224, 224, 3, 64, 7, 2, 1},
	{"1x1_14x14x1024to256", 14, 14, 1024, 256, 1, 1, 1},
}

// BenchmarkConv reports GFLOP/s, counting a multiply-add as 2 flops:
// 2 * outH * outW * Cout * K*K*Cin/G. The reference backend runs the
// first (smallest-cost) shape only, for the speedup.
func BenchmarkConv(b *testing.B) {
	for i, c := range benchConvs {
		backends := []*Backend{New()}
		if i == 0 {
			backends = append(backends, NewReference())
		}
		for _, be := range backends {
			b.Run(fmt.Sprintf("%s/%s", c.name, be.Name()), func(b *testing.B) { benchConvRun(b, be, c, core.ReLU, 0) })
		}
	}
}

// mobileNetV2Convs are the distinct conv layers of MobileNetV2 at 224x224
// (Sandler et al. 2018, Table 2; width 1): the first conv, every
// depthwise 3x3 (stride 1 and 2), every 1x1 expansion (ReLU6) and
// projection (linear), and the last 1x1 to 1280. Batch norm is folded, so
// each has a bias.
var mobileNetV2Convs = []struct {
	benchConv
	act core.UnaryOp
}{
	{benchConv{"first_3x3s2_224x224x3to32", 224, 224, 3, 32, 3, 2, 1}, core.ReLU6},
	{benchConv{"dw3x3_112x112x32", 112, 112, 32, 32, 3, 1, 32}, core.ReLU6},
	{benchConv{"dw3x3s2_112x112x96", 112, 112, 96, 96, 3, 2, 96}, core.ReLU6},
	{benchConv{"dw3x3_56x56x144", 56, 56, 144, 144, 3, 1, 144}, core.ReLU6},
	{benchConv{"dw3x3s2_56x56x144", 56, 56, 144, 144, 3, 2, 144}, core.ReLU6},
	{benchConv{"dw3x3_28x28x192", 28, 28, 192, 192, 3, 1, 192}, core.ReLU6},
	{benchConv{"dw3x3s2_28x28x192", 28, 28, 192, 192, 3, 2, 192}, core.ReLU6},
	{benchConv{"dw3x3_14x14x384", 14, 14, 384, 384, 3, 1, 384}, core.ReLU6},
	{benchConv{"dw3x3_14x14x576", 14, 14, 576, 576, 3, 1, 576}, core.ReLU6},
	{benchConv{"dw3x3s2_14x14x576", 14, 14, 576, 576, 3, 2, 576}, core.ReLU6},
	{benchConv{"dw3x3_7x7x960", 7, 7, 960, 960, 3, 1, 960}, core.ReLU6},
	{benchConv{"expand_1x1_112x112x16to96", 112, 112, 16, 96, 1, 1, 1}, core.ReLU6},
	{benchConv{"expand_1x1_56x56x24to144", 56, 56, 24, 144, 1, 1, 1}, core.ReLU6},
	{benchConv{"expand_1x1_28x28x32to192", 28, 28, 32, 192, 1, 1, 1}, core.ReLU6},
	{benchConv{"expand_1x1_14x14x64to384", 14, 14, 64, 384, 1, 1, 1}, core.ReLU6},
	{benchConv{"expand_1x1_14x14x96to576", 14, 14, 96, 576, 1, 1, 1}, core.ReLU6},
	{benchConv{"expand_1x1_7x7x160to960", 7, 7, 160, 960, 1, 1, 1}, core.ReLU6},
	{benchConv{"project_1x1_112x112x32to16", 112, 112, 32, 16, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_56x56x144to24", 56, 56, 144, 24, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_28x28x192to32", 28, 28, 192, 32, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_14x14x384to64", 14, 14, 384, 64, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_14x14x576to96", 14, 14, 576, 96, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_7x7x960to160", 7, 7, 960, 160, 1, 1, 1}, core.Identity},
	{benchConv{"project_1x1_7x7x960to320", 7, 7, 960, 320, 1, 1, 1}, core.Identity},
	{benchConv{"last_1x1_7x7x320to1280", 7, 7, 320, 1280, 1, 1, 1}, core.ReLU6},
}

// BenchmarkMobileNetV2Layers reports GFLOP/s of each layer shape of
// mobileNetV2Convs, and of the classifier (1280 -> 1000 with bias). Most
// of these layers take a millisecond or less, so each timed iteration
// runs one as many times as makes 40 MFLOP (make bench times 3
// iterations); ns/op is that group's time.
func BenchmarkMobileNetV2Layers(b *testing.B) {
	for _, c := range mobileNetV2Convs {
		b.Run(c.name, func(b *testing.B) { benchConvRun(b, New(), c.benchConv, c.act, 40e6) })
	}
	b.Run("classifier_1x1280to1000", func(b *testing.B) {
		be := New()
		x, w, bias := benchTensor(b, be, core.Shape{1, 1280}), benchTensor(b, be, core.Shape{1280, 1000}), benchTensor(b, be, core.Shape{1000})
		dst, err := core.New(be, core.Shape{1, 1000})
		if err != nil {
			b.Fatal(err)
		}
		const flops, reps = 2 * 1280 * 1000, 16 // 40 MFLOP
		for range reps {                        // untimed: tiered compilation in js/wasm
			if err := be.MatMul(dst, x, w, bias, core.MatMul{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for range b.N * reps {
			if err := be.MatMul(dst, x, w, bias, core.MatMul{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(flops*float64(b.N*reps)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
	})
}

// resNet18Convs are the 3x3 convs of ResNet-18 at 224x224 (He et al.
// 2015, Table 1) with batch norm folded into a bias: per stage, the
// stride-1 shape (4, 3, 3 and 3 such layers) and the stride-2 first conv
// of stages 2-4. Half of them fuse a ReLU (the others add the shortcut
// first); the benchmark fuses it in all, which costs the same.
var resNet18Convs = []benchConv{
	{"3x3_56x56x64to64", 56, 56, 64, 64, 3, 1, 1},
	{"3x3_28x28x128to128", 28, 28, 128, 128, 3, 1, 1},
	{"3x3_14x14x256to256", 14, 14, 256, 256, 3, 1, 1},
	{"3x3_7x7x512to512", 7, 7, 512, 512, 3, 1, 1},
	{"3x3s2_56x56x64to128", 56, 56, 64, 128, 3, 2, 1},
	{"3x3s2_28x28x128to256", 28, 28, 128, 256, 3, 2, 1},
	{"3x3s2_14x14x256to512", 14, 14, 256, 512, 3, 2, 1},
}

// BenchmarkResNet18Layers reports GFLOP/s (of the direct convolution's
// multiply-adds, whatever the algorithm) of each shape of resNet18Convs,
// with a bias and ReLU, each run as many times as makes 200 MFLOP.
func BenchmarkResNet18Layers(b *testing.B) {
	for _, c := range resNet18Convs {
		b.Run(c.name, func(b *testing.B) { benchConvRun(b, New(), c, core.ReLU, 200e6) })
	}
}

// BenchmarkWinograd compares the Winograd path with the im2col GEMM path
// (GFLOP/s of the direct conv's multiply-adds, bias and ReLU fused) on
// ResNet-18's stride-1 3x3 shapes and on narrower ones around
// winoMinChannels, each run as many times as makes 200 MFLOP.
func BenchmarkWinograd(b *testing.B) {
	shapes := append(resNet18Convs[:4:4],
		benchConv{"3x3_56x56x8to8", 56, 56, 8, 8, 3, 1, 1},
		benchConv{"3x3_56x56x16to16", 56, 56, 16, 16, 3, 1, 1},
		benchConv{"3x3_56x56x24to24", 56, 56, 24, 24, 3, 1, 1},
		benchConv{"3x3_56x56x32to32", 56, 56, 32, 32, 3, 1, 1},
		benchConv{"3x3_56x56x16to64", 56, 56, 16, 64, 3, 1, 1},
		benchConv{"3x3_56x56x64to16", 56, 56, 64, 16, 3, 1, 1},
		benchConv{"3x3_7x7x64to64", 7, 7, 64, 64, 3, 1, 1},
		benchConv{"3x3_7x7x256to256", 7, 7, 256, 256, 3, 1, 1},
		benchConv{"3x3_4x4x512to512", 4, 4, 512, 512, 3, 1, 1},
	)
	for _, c := range shapes {
		for _, wino := range []bool{false, true} {
			name := c.name + "/im2col"
			if wino {
				name = c.name + "/winograd"
			}
			b.Run(name, func(b *testing.B) {
				xs, ws := core.Shape{1, c.h, c.w, c.cin}, core.Shape{3, 3, c.cin, c.cout}
				p := core.ConvPadding(core.Conv{}, xs, []int{3, 3}, core.Same)
				ds, err := core.ConvShape(xs, ws, p)
				if err != nil {
					b.Fatal(err)
				}
				x, w, bias := benchTensor(b, New(), xs), benchTensor(b, New(), ws), benchTensor(b, New(), core.Shape{c.cout})
				od := make([]float32, ds.Size())
				g := newGeom(xs, ds, ws[:2], nil, nil, p.PadBefore, p.PadAfter)
				ep := newEpilogue(data(bias), core.Act(core.ReLU))
				conv := func() {
					if wino {
						convWinograd(od, data(x), data(w), &g, ep)
					} else {
						convGEMM(od, data(x), data(w), &g, 1, ep)
					}
				}
				flops := 2 * float64(ds.Size()) * float64(9*c.cin)
				reps := max(1, int(200e6/flops+0.5))
				for range reps {
					conv()
				}
				b.ResetTimer()
				for range b.N * reps {
					conv()
				}
				b.ReportMetric(flops*float64(b.N*reps)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// benchConvRun times one conv of shape c with a bias and activation act,
// run at least minFlops worth of times per timed iteration (0: once).
func benchConvRun(b *testing.B, be *Backend, c benchConv, act core.UnaryOp, minFlops float64) {
	xs := core.Shape{1, c.h, c.w, c.cin}
	ws := core.Shape{c.k, c.k, c.cin / c.group, c.cout}
	p := core.ConvPadding(core.Conv{Stride: []int{c.stride, c.stride}, Groups: c.group,
		Act: core.Act(act)}, xs, []int{c.k, c.k}, core.Same)
	x, w, bias := benchTensor(b, be, xs), benchTensor(b, be, ws), benchTensor(b, be, core.Shape{c.cout})
	ds, err := core.ConvShape(xs, ws, p)
	if err != nil {
		b.Fatal(err)
	}
	dst, err := core.New(be, ds)
	if err != nil {
		b.Fatal(err)
	}
	flops := 2 * float64(ds.Size()) * float64(c.k*c.k*c.cin/c.group)
	reps := max(1, int(minFlops/flops+0.5))
	// Untimed runs: js/wasm engines compile hot code in tiers.
	for range reps {
		if err := be.Conv(dst, x, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N * reps {
		if err := be.Conv(dst, x, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(flops*float64(b.N*reps)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// BenchmarkMatMul reports GFLOP/s (2*n^3 flops) for square products; the
// reference backend runs the smallest size only.
func BenchmarkMatMul(b *testing.B) {
	for i, n := range []int{256, 512, 1024} {
		backends := []*Backend{New()}
		if i == 0 {
			backends = append(backends, NewReference())
		}
		for _, be := range backends {
			b.Run(fmt.Sprintf("%d/%s", n, be.Name()), func(b *testing.B) {
				s := core.Shape{n, n}
				x, y := benchTensor(b, be, s), benchTensor(b, be, s)
				dst, err := core.New(be, s)
				if err != nil {
					b.Fatal(err)
				}
				if err := be.MatMul(dst, x, y, nil, core.MatMul{}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if err := be.MatMul(dst, x, y, nil, core.MatMul{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// benchTensor is a tensor of shape s on be with seeded values in [-1, 1).
func benchTensor(b *testing.B, be core.Backend, s core.Shape) *core.Tensor {
	g := core.NewRNG(uint64(s.Size()))
	v := make([]float32, s.Size())
	for i := range v {
		v[i] = g.Float32()*2 - 1
	}
	t, err := core.FromData(be, s, v)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkWinoWeights times the Winograd weight transform (winoWeights)
// per (input, output) channel pair, at 64 channels (in cache) and 512.
func BenchmarkWinoWeights(b *testing.B) {
	for _, ch := range []int{64, 512} {
		b.Run(fmt.Sprint(ch), func(b *testing.B) {
			w := make([]float32, 9*ch*ch)
			for range b.N {
				var pbs [16]*packedB
				putScratch(winoWeights(&pbs, w, ch, ch))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ch*ch), "ns/pair")
		})
	}
}

// BenchmarkWinoTransforms times the Winograd input and output transforms
// (winoInput, winoOutput with ReLU) of a 56x56 map per tile and channel.
func BenchmarkWinoTransforms(b *testing.B) {
	for _, ch := range []int{16, 64} {
		xs := core.Shape{1, 56, 56, ch}
		g := newGeom(xs, xs, []int{3, 3}, nil, nil, []int{1, 1}, []int{1, 1})
		x := make([]float32, xs.Size())
		nb := winoTiles
		v := make([]float32, 16*nb*ch)
		zeros := make([]float32, ch)
		b.Run(fmt.Sprintf("input%d", ch), func(b *testing.B) {
			for range b.N {
				for t0 := 0; t0 < 28*28; t0 += nb {
					n := min(nb, 28*28-t0)
					winoInput(v[:16*n*ch], x, &g, t0, n, 28, 28, zeros)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*28*28*ch), "ns/tile-channel")
		})
		od := make([]float32, xs.Size())
		b.Run(fmt.Sprintf("output%d", ch), func(b *testing.B) {
			ep := newEpilogue(zeros, core.Act(core.ReLU))
			spill := make([]float32, ch)
			for range b.N {
				for t0 := 0; t0 < 28*28; t0 += nb {
					n := min(nb, 28*28-t0)
					winoOutput(od, v[:16*n*ch], &g, t0, n, 28, 28, zeros, spill, ep)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*28*28*ch), "ns/tile-channel")
		})
	}
}
