package backendtest

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

// A tolerance is the accuracy class an op declares (as tract's
// Validation::{Accurate, Rounding}): got passes when
// |got - want| <= abs + rel*|want|, want being a float64 reference.
type tolerance struct {
	name     string
	abs, rel float64
}

var (
	// exact is for integer-valued data whose every intermediate result is
	// an integer below 2^24, so float32 arithmetic makes no rounding error
	// whatever the order of the operations (conv, pool, matmul, copies,
	// max/min, add/sub/mul on small integers).
	exact = tolerance{"exact", 0, 0}
	// rounding is for results compared with a float64 evaluation of the
	// mathematical formula: float32 rounding, summation order and
	// transcendental functions may each cost a few ulps.
	rounding = tolerance{"rounding", 1e-6, 1e-5}
)

func (tl tolerance) ok(got float32, want float64) bool {
	g := float64(got)
	switch {
	case math.IsNaN(want):
		return math.IsNaN(g)
	case math.IsInf(want, 0):
		return g == want
	}
	return math.Abs(g-want) <= tl.abs+tl.rel*math.Abs(want)
}

// maxReports bounds the mismatches one comparison reports.
const maxReports = 5

// expectValues compares got with want element by element. A failure names
// what was computed (the op and its parameters), the index in shape, got,
// want and the tolerance class.
func expectValues(t *testing.T, what string, shape core.Shape, got []float32, want []float64, tl tolerance) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return false
	}
	bad := 0
	for i := range want {
		if tl.ok(got[i], want[i]) {
			continue
		}
		if bad < maxReports {
			t.Errorf("%s: at %v got %v, want %v (%s: |diff| %.3g)", what, unravel(i, shape), got[i], want[i], tl.name, math.Abs(float64(got[i])-want[i]))
		}
		bad++
	}
	if bad > maxReports {
		t.Errorf("%s: %d of %d values wrong in all", what, bad, len(want))
	}
	return bad == 0
}

// expectTensor checks y's shape, reads y back and compares its values.
func expectTensor(t *testing.T, what string, y *core.Tensor, shape core.Shape, want []float64, tl tolerance) bool {
	t.Helper()
	if !y.Shape().Equal(shape) {
		t.Errorf("%s: shape %v, want %v", what, y.Shape(), shape)
		return false
	}
	return expectValues(t, what, shape, data(t, y), want, tl)
}

// unravel turns a flat row-major offset into an index vector of shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for a := len(shape) - 1; a >= 0; a-- {
		idx[a] = i % shape[a]
		i /= shape[a]
	}
	return idx
}

// offset is the flat row-major offset of idx in shape.
func offset(idx, shape []int) int {
	o := 0
	for a := range shape {
		o = o*shape[a] + idx[a]
	}
	return o
}

// tensor allocates a tensor holding v on b; it is freed when the test ends.
func tensor(t *testing.T, b core.Backend, shape core.Shape, v []float32) *core.Tensor {
	t.Helper()
	x, err := core.FromData(b, shape, v)
	if err != nil {
		t.Fatalf("from data %v: %v", shape, err)
	}
	t.Cleanup(x.Free)
	return x
}

// must returns a function that stops the test on err and frees y when the
// test ends, so that an op call reads must(t, "conv")(core.Convolve(...)).
func must(t *testing.T, what string) func(y *core.Tensor, err error) *core.Tensor {
	return func(y *core.Tensor, err error) *core.Tensor {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if y == nil {
			t.Fatalf("%s: nil tensor and nil error", what)
		}
		t.Cleanup(y.Free)
		return y
	}
}

// data reads a tensor back to the host.
func data(t *testing.T, x *core.Tensor) []float32 {
	t.Helper()
	v, err := x.Data()
	if err != nil {
		t.Fatalf("read %v: %v", x.Shape(), err)
	}
	return v
}

// ints returns n uniform integers in [lo, hi] as float32, from a
// deterministic generator so that every platform sees the same data.
func ints(g *core.RNG, n, lo, hi int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + g.IntN(hi-lo+1))
	}
	return v
}

// normals returns n values drawn from N(mean, sd^2).
func normals(g *core.RNG, n int, mean, sd float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = mean + sd*g.NormFloat32()
	}
	return v
}

// uniform returns n values uniform in [lo, hi).
func uniform(g *core.RNG, n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*g.Float32()
	}
	return v
}

// f64 widens float32 data for a float64 reference.
func f64(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}

// shapeOf is a Shape literal helper for readable tables.
func shapeOf(d ...int) core.Shape { return core.Shape(d) }

// desc formats an op's parameters for failure messages.
func desc(format string, a ...any) string { return fmt.Sprintf(format, a...) }
