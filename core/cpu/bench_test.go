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
			b.Run(fmt.Sprintf("%s/%s", c.name, be.Name()), func(b *testing.B) {
				xs := core.Shape{1, c.h, c.w, c.cin}
				ws := core.Shape{c.k, c.k, c.cin / c.group, c.cout}
				p := core.ConvPadding(core.Conv{Stride: []int{c.stride, c.stride}, Groups: c.group,
					Act: core.Act(core.ReLU)}, xs, []int{c.k, c.k}, core.Same)
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
				// One untimed run: js/wasm engines compile hot code in tiers.
				if err := be.Conv(dst, x, w, bias, p); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if err := be.Conv(dst, x, w, bias, p); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
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
