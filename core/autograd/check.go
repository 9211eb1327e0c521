package autograd

import (
	"fmt"
	"math"

	"webcnn/core"
)

// NumericGrad returns the central finite differences
// (f(t + eps e_i) - f(t - eps e_i)) / 2eps for every element i of t, in
// float64. It perturbs t in place on its backend (one element at a time,
// restored afterwards), so f runs the real forward pass of any backend.
func NumericGrad(t *core.Tensor, eps float32, f func() (float64, error)) ([]float64, error) {
	v, err := t.Data()
	if err != nil {
		return nil, err
	}
	b := t.Backend()
	set := func(i int, x float32) error { return b.Write(t.Buffer(), i, []float32{x}) }
	g := make([]float64, len(v))
	for i, x := range v {
		if err := set(i, x+eps); err != nil {
			return nil, err
		}
		hi, err := f()
		if err != nil {
			return nil, err
		}
		if err := set(i, x-eps); err != nil {
			return nil, err
		}
		lo, err := f()
		if err != nil {
			return nil, err
		}
		if err := set(i, x); err != nil {
			return nil, err
		}
		// The step actually taken is the float32 difference of the
		// perturbed values, not exactly 2eps.
		g[i] = (hi - lo) / (float64(x+eps) - float64(x-eps))
	}
	return g, nil
}

// Dot returns sum_i t_i r_i in float64: the scalar "loss" whose gradient
// with respect to t is r, used to check a vector-Jacobian product.
func Dot(t *core.Tensor, r []float32) (float64, error) {
	v, err := t.Data()
	if err != nil {
		return 0, err
	}
	if len(v) != len(r) {
		return 0, fmt.Errorf("dot: %d and %d elements", len(v), len(r))
	}
	var s float64
	for i := range v {
		s += float64(v[i]) * float64(r[i])
	}
	return s, nil
}

// Close reports the first element where an analytic gradient got differs
// from a numeric one want by more than atol + tol*max(|want_i|,
// floor*max_j |want_j|): components well below the largest are held to an
// absolute bound instead of a relative one, and atol absorbs the noise of
// the finite differences where the whole gradient is (nearly) zero.
func Close(got []float32, want []float64, tol, floor, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d gradient values, want %d", len(got), len(want))
	}
	var m float64
	for _, w := range want {
		m = math.Max(m, math.Abs(w))
	}
	for i := range got {
		bound := atol + tol*math.Max(math.Abs(want[i]), floor*m)
		if e := math.Abs(float64(got[i]) - want[i]); e > bound || math.IsNaN(e) {
			return fmt.Errorf("element %d: analytic %.6g, numeric %.6g (difference %.3g > %.3g; largest |numeric| %.3g)", i, got[i], want[i], e, bound, m)
		}
	}
	return nil
}
