package autograd_test

import (
	"fmt"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
)

// Gradient-check settings, for every test of this package and core/nn:
//
//   - eps = 1e-2: central differences err by eps^2/6 f”' (about 2e-5
//     relative for the O(1) curvatures here), and the float32 forward
//     pass (relative rounding 6e-8 on each of ~100-1000 outputs of O(1),
//     accumulated in float64 by Dot) adds about 1e-6/(2 eps) = 5e-5;
//   - tol = 1e-2 relative, below which no real mistake hides (a gradient
//     off by a factor, a missing term, a misplaced element all give
//     errors of order 1; TestCheckCatchesSmallErrors shows a 3% error
//     fails), with components under floor = 5% of the largest held to
//     tol * 5% of it in absolute terms (their relative error is noise);
//   - atol = 1e-4 absolute on top: where the exact gradient is 0 (a conv
//     bias before a batch norm) the differences measure only the forward
//     pass's rounding, observed at 1e-6 to 3e-6 here; the gradients under
//     test are of order 0.1 to 10.
//
// Inputs of piecewise functions stay more than eps away from the kinks.
const (
	eps   = 1e-2
	tol   = 1e-2
	floor = 0.05
	atol  = 1e-4
)

// backends are the CPU reference loops and the fast paths: both must give
// the same gradients.
var backends = []core.Backend{cpu.NewReference(), cpu.New()}

// randn returns n seeded normal values times scale.
func randn(g *core.RNG, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = g.NormFloat32() * scale
	}
	return v
}

func tensor(t testing.TB, b core.Backend, s core.Shape, v []float32) *core.Tensor {
	t.Helper()
	x, err := core.FromData(b, s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// check compares analytic, the gradient of <forward(), r> with respect to
// in, with central differences through forward.
func check(t *testing.T, name string, in *core.Tensor, r []float32, forward func() (*core.Tensor, error), analytic *core.Tensor) {
	t.Helper()
	if err := checkErr(in, r, forward, analytic); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func checkErr(in *core.Tensor, r []float32, forward func() (*core.Tensor, error), analytic *core.Tensor) error {
	if !analytic.Shape().Equal(in.Shape()) {
		return fmt.Errorf("gradient shape %v, want %v", analytic.Shape(), in.Shape())
	}
	num, err := autograd.NumericGrad(in, eps, func() (float64, error) {
		y, err := forward()
		if err != nil {
			return 0, err
		}
		defer y.Free()
		return autograd.Dot(y, r)
	})
	if err != nil {
		return err
	}
	got, err := analytic.Data()
	if err != nil {
		return err
	}
	return autograd.Close(got, num, tol, floor, atol)
}
