package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// refReduce folds x over axes in float64 (keep-dims): sum, mean = sum /
// count, max, min, product. No axes means every axis.
func refReduce(x []float64, xs core.Shape, op core.ReduceOp, axes ...int) ([]float64, core.Shape) {
	os := xs.Clone()
	if len(axes) == 0 {
		for i := range os {
			os[i] = 1
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += len(xs)
		}
		os[a] = 1
	}
	count := float64(xs.Size() / os.Size())
	y := make([]float64, os.Size())
	for i := range y {
		switch op {
		case core.ReduceMax:
			y[i] = math.Inf(-1)
		case core.ReduceMin:
			y[i] = math.Inf(1)
		case core.ReduceProd:
			y[i] = 1
		}
	}
	oi := make([]int, len(xs))
	for i, v := range x {
		idx := unravel(i, xs)
		for a := range idx {
			oi[a] = idx[a]
			if os[a] == 1 {
				oi[a] = 0
			}
		}
		j := offset(oi, os)
		switch op {
		case core.Sum, core.Mean:
			y[j] += v
		case core.ReduceMax:
			y[j] = math.Max(y[j], v)
		case core.ReduceMin:
			y[j] = math.Min(y[j], v)
		case core.ReduceProd:
			y[j] *= v
		}
	}
	if op == core.Mean {
		for i := range y {
			y[i] /= count
		}
	}
	return y, os
}

func testReduce(t *testing.T, b core.Backend) {
	t.Run("hand", func(t *testing.T) {
		// Hand: [[1,2,3],[4,5,6]] summed over rows and over columns.
		x := tensor(t, b, shapeOf(2, 3), []float32{1, 2, 3, 4, 5, 6})
		y := must(t, "sum")(core.Reduce(x, core.Sum, 0))
		expectTensor(t, "sum axis 0", y, shapeOf(1, 3), []float64{5, 7, 9}, exact)
		y = must(t, "sum")(core.Reduce(x, core.Sum, 1))
		expectTensor(t, "sum axis 1", y, shapeOf(2, 1), []float64{6, 15}, exact)
		y = must(t, "mean")(core.Reduce(x, core.Mean))
		expectTensor(t, "mean all", y, shapeOf(1, 1), []float64{3.5}, exact)
		y = must(t, "min")(core.Reduce(x, core.ReduceMin, -1))
		expectTensor(t, "min axis -1", y, shapeOf(2, 1), []float64{1, 4}, exact)
	})
	xs := shapeOf(2, 3, 4, 5)
	v := ints(core.NewRNG(18), xs.Size(), -50, 50)
	x := tensor(t, b, xs, v)
	for _, axes := range [][]int{{0}, {1}, {2}, {3}, {-1}, {0, 2}, {1, 3}, {0, 3}, {0, 1, 2}, {1, 2}, {0, 1, 2, 3}, {}} {
		for _, op := range []core.ReduceOp{core.Sum, core.Mean, core.ReduceMax, core.ReduceMin} {
			t.Run(desc("%s_axes%v", op, axes), func(t *testing.T) {
				// Sum, max, min of small integers: exact. Mean: rounding.
				tl := exact
				if op == core.Mean {
					tl = rounding
				}
				want, os := refReduce(f64(v), xs, op, axes...)
				what := desc("reduce %s %v over %v", op, xs, axes)
				y := must(t, what)(core.Reduce(x, op, axes...))
				expectTensor(t, what, y, os, want, tl)
			})
		}
	}
	t.Run("prod", func(t *testing.T) {
		// Products of ±2^k (k in -1..1) and zeros: exact in float32
		// over any order while |exponent| stays below 126.
		g := core.NewRNG(20)
		pv := make([]float32, xs.Size())
		for i := range pv {
			pv[i] = []float32{-2, -1, -0.5, 0.5, 1, 2}[g.IntN(6)]
		}
		pv[7] = 0
		px := tensor(t, b, xs, pv)
		for _, axes := range [][]int{{0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}} {
			want, os := refReduce(f64(pv), xs, core.ReduceProd, axes...)
			what := desc("reduce prod %v over %v", xs, axes)
			y := must(t, what)(core.Reduce(px, core.ReduceProd, axes...))
			expectTensor(t, what, y, os, want, exact)
		}
		for _, n := range []int{1, 5, 64, 127, 128, 129, 257} {
			s := shapeOf(2, n)
			v := make([]float32, s.Size())
			for i := range v {
				v[i] = []float32{-2, -1, -0.5, 0.5, 1, 2}[g.IntN(6)]
			}
			want, os := refReduce(f64(v), s, core.ReduceProd, 1)
			what := desc("reduce prod %v over 1", s)
			y := must(t, what)(core.Reduce(tensor(t, b, s, v), core.ReduceProd, 1))
			expectTensor(t, what, y, os, want, exact)
		}
	})
	t.Run("edges", func(t *testing.T) {
		// Lengths around vector and workgroup edges on the reduced axis.
		g := core.NewRNG(19)
		for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000} {
			s := shapeOf(3, n)
			v := ints(g, s.Size(), -9, 9)
			for _, op := range []core.ReduceOp{core.Sum, core.ReduceMax, core.ReduceMin} {
				for _, ax := range []int{0, 1} {
					want, os := refReduce(f64(v), s, op, ax)
					what := desc("reduce %s %v over %d", op, s, ax)
					y := must(t, what)(core.Reduce(tensor(t, b, s, v), op, ax))
					expectTensor(t, what, y, os, want, exact)
				}
			}
		}
	})
	t.Run("moments", func(t *testing.T) {
		// Mean and biased variance (divided by the count) in float64.
		// Tolerance: rounding.
		g := core.NewRNG(20)
		s := shapeOf(2, 3, 4, 5)
		v := normals(g, s.Size(), 1, 2)
		for _, axes := range [][]int{{3}, {0, 1, 2}, {1, 2}, {0, 3}} {
			mean, os := refReduce(f64(v), s, core.Mean, axes...)
			sq := make([]float64, len(v))
			for i := range v {
				o := unravel(i, s)
				for _, a := range axes {
					o[a] = 0
				}
				d := float64(v[i]) - mean[offset(o, os)]
				sq[i] = d * d
			}
			variance, _ := refReduce(sq, s, core.Mean, axes...)
			m, vr, err := core.Moments(tensor(t, b, s, v), axes...)
			m = must(t, "moments")(m, err)
			vr = must(t, "moments")(vr, nil)
			expectTensor(t, desc("moments mean %v over %v", s, axes), m, os, mean, rounding)
			expectTensor(t, desc("moments variance %v over %v", s, axes), vr, os, variance, rounding)
		}
	})
}
