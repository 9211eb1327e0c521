package webgpu

import (
	"errors"
	"math"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
)

// TestModels runs zoo models at reduced input sizes on the GPU and on the
// CPU with the same seeded weights (nn.NewBuilder with one seed gives the
// same values on any backend) and compares the logits: |gpu - cpu| <=
// 1e-4 * max |cpu logit|, the error relative to the logits' scale.
func TestModels(t *testing.T) {
	b := gpu(t)
	for _, c := range []struct {
		id    string
		input core.Shape
	}{
		{"lenet5", core.Shape{1, 28, 28, 1}},
		{"squeezenet1_0", core.Shape{1, 64, 64, 3}},
		{"mobilenet_v2", core.Shape{1, 64, 64, 3}},
		{"resnet18", core.Shape{1, 64, 64, 3}},
	} {
		t.Run(c.id, func(t *testing.T) {
			spec, err := models.Lookup(c.id)
			if err != nil {
				t.Fatal(err)
			}
			in := make([]float32, c.input.Size())
			rng := core.NewRNG(9)
			for i := range in {
				in[i] = rng.NormFloat32()
			}
			run := func(be core.Backend) ([]float32, time.Duration) {
				m, err := spec.New(nn.NewBuilder(be, 7))
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					for _, p := range m.Params() {
						p.T.Free()
					}
				}()
				x, err := core.FromData(be, c.input, in)
				if err != nil {
					t.Fatal(err)
				}
				defer x.Free()
				if err := be.Sync(); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				y, err := m.Forward(nn.Eval, x)
				if err != nil {
					t.Fatalf("%s forward on %s: %v", c.id, be.Name(), err)
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
			// Once more: pipelines compiled, the pool warm.
			_, tg2 := run(b)
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			maxErr := 0.0
			for i := range want {
				e := math.Abs(float64(got[i]) - float64(want[i]))
				if math.IsNaN(e) {
					e = math.Inf(1)
				}
				maxErr = math.Max(maxErr, e)
			}
			t.Logf("%s %v: %d logits, max |cpu| %.4g, max |gpu - cpu| %.3g (relative %.3g); forward cpu %v, gpu %v (first), %v (second)",
				c.id, c.input, len(want), scale, maxErr, maxErr/scale, tc.Round(time.Millisecond), tg.Round(time.Millisecond), tg2.Round(time.Millisecond))
			if !(maxErr <= 1e-4*scale) {
				t.Errorf("%s: logits differ by %.3g, more than 1e-4 of their scale %.4g", c.id, maxErr, scale)
			}
		})
	}
	t.Logf("%s", b.Stats())
}

// TestDeviceLost destroys a device and expects every later call to fail
// with an error wrapping ErrDeviceLost, never to hang or panic.
func TestDeviceLost(t *testing.T) {
	gpu(t) // skip where there is no WebGPU
	b, err := New()
	requireGPU(t, err)
	x, err := core.FromData(b, core.Shape{4}, []float32{1, -2, 3, -4})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = b.Sync()
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("sync after the device was destroyed: %v, want ErrDeviceLost", err)
	}
	if _, err := core.Apply(x, core.Act(core.ReLU)); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("relu after loss: %v, want ErrDeviceLost", err)
	}
	if _, err := x.Data(); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("read after loss: %v, want ErrDeviceLost", err)
	}
	if _, err := core.New(b, core.Shape{8}); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("alloc after loss: %v, want ErrDeviceLost", err)
	}
	t.Logf("after loss: %v", err)
}
