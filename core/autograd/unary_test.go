package autograd_test

import (
	"fmt"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
)

// TestUnaryGrad checks the derivative of every elementwise op, from the
// input and, where FromOutput allows, from the output.
func TestUnaryGrad(t *testing.T) {
	kinks := []float32{0, 6, -3, 3, -1, 2}
	for _, f := range []core.Unary{
		{Op: core.Identity}, {Op: core.Affine, Alpha: -1.5, Beta: 2}, {Op: core.Neg}, {Op: core.Abs}, {Op: core.Square},
		{Op: core.Sqrt}, {Op: core.Rsqrt}, {Op: core.Recip}, {Op: core.Exp}, {Op: core.Log}, {Op: core.Pow, Alpha: 2.5},
		{Op: core.Pow, Alpha: -0.5}, {Op: core.Sigmoid}, {Op: core.Tanh}, {Op: core.ReLU}, {Op: core.LeakyReLU, Alpha: 0.1},
		{Op: core.LeakyReLU, Alpha: -0.2}, {Op: core.ELU, Alpha: 1}, {Op: core.ELU, Alpha: -0.5}, {Op: core.ReLU6}, {Op: core.GELU},
		{Op: core.GELUTanh}, {Op: core.SiLU}, {Op: core.HardSigmoid}, {Op: core.HardSwish}, {Op: core.Clip, Alpha: -1, Beta: 2},
	} {
		name := f.Op.String()
		if f.Alpha != 0 {
			name = fmt.Sprintf("%s(%g)", name, f.Alpha)
		}
		t.Run(name, func(t *testing.T) {
			b := backends[1]
			g := core.NewRNG(11)
			const n = 200
			v := randn(g, n, 3)
			for i := range v {
				switch f.Op {
				case core.Sqrt, core.Rsqrt, core.Log, core.Pow, core.Recip: // the domain: x > 0, away from 0
					v[i] = 0.3 + g.Float32()*2
				case core.Exp:
					v[i] /= 2
				}
				for _, k := range kinks {
					if d := v[i] - k; d > -0.05 && d < 0.05 {
						v[i] += 0.1
					}
				}
			}
			// A few large values test saturation (GELU's Phi near 1, tanh...).
			if f.Op != core.Exp && f.Op != core.Pow && f.Op != core.Square && v[0] < 0.3 {
				v[0], v[1] = 9.5, -9.5
			}
			x := tensor(t, b, core.Shape{4, n / 4}, v)
			r := randn(g, n, 1)
			dy := tensor(t, b, x.Shape(), r)
			fwd := func() (*core.Tensor, error) { return core.Apply(x, f) }
			dx, err := autograd.UnaryGrad(f, x, nil, dy)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "from input", x, r, fwd, dx)
			if autograd.FromOutput(f) {
				y, _ := core.Apply(x, f)
				dx, err := autograd.UnaryGrad(f, nil, y, dy)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "from output", x, r, fwd, dx)
			}
		})
	}
}

// TestUnaryGradKinks pins the derivative at the kinks (PyTorch's choices:
// ReLU'(0) = 0, ReLU6'(6) = 0, clip at its bounds 0) and the exactness of
// the step masks at the smallest float32 above 0.
func TestUnaryGradKinks(t *testing.T) {
	b := backends[1]
	tiny := float32(1e-45) // the smallest denormal, 2^-149
	for _, tc := range []struct {
		f    core.Unary
		x    []float32
		want []float32
	}{
		{core.Act(core.ReLU), []float32{-1, 0, tiny, 3}, []float32{0, 0, 1, 1}},
		{core.Act(core.ReLU6), []float32{0, tiny, 6, 5.999999}, []float32{0, 1, 0, 1}},
		{core.Unary{Op: core.Clip, Alpha: -1, Beta: 1}, []float32{-1, -0.5, 1, 2}, []float32{0, 1, 0, 0}},
		{core.Act(core.Abs), []float32{-2, 0, tiny, 5}, []float32{-1, 0, 1, 1}},
		{core.Act(core.HardSigmoid), []float32{-3, 0, 3, 4}, []float32{0, 1.0 / 6, 0, 0}},
	} {
		x := tensor(t, b, core.Shape{4}, tc.x)
		dy := tensor(t, b, core.Shape{4}, []float32{1, 1, 1, 1})
		dx, err := autograd.UnaryGrad(tc.f, x, nil, dy)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := dx.Data()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s'(%v) = %v, want %v", tc.f.Op, tc.x, got, tc.want)
		}
	}
}
