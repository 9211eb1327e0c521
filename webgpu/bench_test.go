package webgpu

import (
	"testing"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/models"
)

// The benchmarks run in the browser like the tests:
//
//	webgpu/testdata/browser-test.sh -run '^$' -bench . -benchtime 3x
//
// Each iteration submits the work and reads the result back, so the time
// includes the GPU's. On SwiftShader (a CPU) they measure the plumbing,
// not a GPU.

// benchGPU returns the shared backend or skips.
func benchGPU(b *testing.B) *Backend {
	sharedOnce.Do(func() { shared, sharedErr = New() })
	if sharedErr != nil {
		b.Skipf("no WebGPU here: %v", sharedErr)
	}
	return shared
}

func benchData(b *testing.B, be core.Backend, s core.Shape) *core.Tensor {
	v := make([]float32, s.Size())
	g := core.NewRNG(1)
	for i := range v {
		v[i] = g.NormFloat32()
	}
	x, err := core.FromData(be, s, v)
	if err != nil {
		b.Fatal(err)
	}
	return x
}

// BenchmarkMatMul is a 512^3 GEMM: 268 M multiply-adds per iteration.
func BenchmarkMatMul(b *testing.B) {
	be := benchGPU(b)
	x, y := benchData(b, be, core.Shape{512, 512}), benchData(b, be, core.Shape{512, 512})
	defer x.Free()
	defer y.Free()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z, err := core.MatMulT(x, y, nil, core.MatMul{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := z.Data(); err != nil {
			b.Fatal(err)
		}
		z.Free()
	}
	b.ReportMetric(2*512*512*512*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv3x3 is a ResNet stage-1 convolution: 56x56x64 -> 64, 3x3,
// 116 M multiply-adds.
func BenchmarkConv3x3(b *testing.B) {
	be := benchGPU(b)
	x, w := benchData(b, be, core.Shape{1, 56, 56, 64}), benchData(b, be, core.Shape{3, 3, 64, 64})
	defer x.Free()
	defer w.Free()
	p := core.ConvPadding(core.Conv{Act: core.Act(core.ReLU)}, x.Shape(), []int{3, 3}, core.Same)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		y, err := core.Convolve(x, w, nil, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := y.Data(); err != nil {
			b.Fatal(err)
		}
		y.Free()
	}
	b.ReportMetric(2*56*56*64*64*9*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkForward is one inference of zoo models at their input size.
func BenchmarkForward(b *testing.B) {
	be := benchGPU(b)
	for _, id := range []string{"mobilenet_v2", "resnet18"} {
		b.Run(id, func(b *testing.B) {
			spec, err := models.Lookup(id)
			if err != nil {
				b.Fatal(err)
			}
			m, err := spec.New(nn.NewBuilder(be, 1))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				for _, p := range m.Params() {
					p.T.Free()
				}
			}()
			x := benchData(b, be, spec.Input)
			defer x.Free()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				y, err := m.Forward(nn.Eval, x)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := y.Data(); err != nil {
					b.Fatal(err)
				}
				y.Free()
			}
		})
	}
}
