package webgpu

import (
	"math"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
)

// TestZooMore extends TestModels to the zoo's other families at 64x64
// (the time of a SwiftShader run bounds the sizes): bottleneck ResNet,
// DenseNet's concatenations, MobileNetV3's hard-swish and squeeze-excite,
// ConvNeXt's 7x7 depthwise, layer norm and GELU, GoogLeNet's ceil-mode
// pools, Xception's separable convolutions. Same weights on both backends
// (one seed), logits compared as TestModels does: |gpu - cpu| <= 1e-4 *
// max |cpu logit|.
func TestZooMore(t *testing.T) {
	b := gpu(t)
	in := core.Shape{1, 64, 64, 3}
	for _, id := range []string{"mobilenet_v3_small", "resnet50", "densenet121", "convnext_tiny", "googlenet", "xception"} {
		t.Run(id, func(t *testing.T) {
			spec, err := models.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, in.Size())
			rng := core.NewRNG(11)
			for i := range x {
				x[i] = rng.NormFloat32()
			}
			run := func(be core.Backend) ([]float32, time.Duration) {
				t.Helper()
				m, err := spec.New(nn.NewBuilder(be, 5))
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					for _, p := range m.Params() {
						p.T.Free()
					}
				}()
				xt, err := core.FromData(be, in, x)
				if err != nil {
					t.Fatal(err)
				}
				defer xt.Free()
				if err := be.Sync(); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				y, err := m.Forward(nn.Eval, xt)
				if err != nil {
					t.Fatalf("%s forward on %s: %v", id, be.Name(), err)
				}
				defer y.Free()
				v, err := y.Data()
				if err != nil {
					t.Fatal(err)
				}
				return v, time.Since(start)
			}
			want, tc := run(cpu.New())
			got, tg := run(b)
			scale, maxErr := 0.0, 0.0
			for i := range want {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				e := math.Abs(float64(got[i]) - float64(want[i]))
				if math.IsNaN(e) {
					e = math.Inf(1)
				}
				maxErr = math.Max(maxErr, e)
			}
			t.Logf("%s %v: %d logits, max |cpu| %.4g, max |gpu - cpu| %.3g (relative %.3g); forward cpu %v, gpu %v (first)",
				id, in, len(want), scale, maxErr, maxErr/scale, tc.Round(time.Millisecond), tg.Round(time.Millisecond))
			if !(maxErr <= 1e-4*scale) {
				t.Errorf("%s: logits differ by %.3g, more than 1e-4 of their scale %.4g", id, maxErr, scale)
			}
		})
	}
}
