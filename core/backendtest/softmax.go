package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// refSoftmax computes softmax (or log-softmax) along axis ax in float64:
// y = exp(x - m) / sum exp(x - m), log y = x - m - log sum exp(x - m),
// m the maximum along the axis (which cancels mathematically).
func refSoftmax(x []float64, xs core.Shape, ax int, log bool) []float64 {
	m, ms := refReduce(x, xs, core.ReduceMax, ax)
	at := func(i int) int {
		o := unravel(i, xs)
		o[ax] = 0
		return offset(o, ms)
	}
	sum := make([]float64, len(m))
	for i, v := range x {
		sum[at(i)] += math.Exp(v - m[at(i)])
	}
	y := make([]float64, len(x))
	for i, v := range x {
		j := at(i)
		if log {
			y[i] = v - m[j] - math.Log(sum[j])
		} else {
			y[i] = math.Exp(v-m[j]) / sum[j]
		}
	}
	return y
}

func testSoftmax(t *testing.T, b core.Backend) {
	t.Run("hand", func(t *testing.T) {
		// Hand: softmax of equal logits is uniform; of (0, ln 3) it is (1/4, 3/4).
		x := tensor(t, b, shapeOf(2, 2), []float32{5, 5, 0, float32(math.Log(3))})
		y := must(t, "softmax")(core.Softmax(x, -1))
		expectTensor(t, "softmax hand", y, shapeOf(2, 2), []float64{0.5, 0.5, 0.25, 0.75}, rounding)
		y = must(t, "log softmax")(core.LogSoftmax(x, -1))
		expectTensor(t, "log softmax hand", y, shapeOf(2, 2), []float64{-math.Ln2, -math.Ln2, math.Log(0.25), math.Log(0.75)}, rounding)
	})
	t.Run("large_logits", func(t *testing.T) {
		// Logits near 1000 overflow a naive exp; shifting by the maximum
		// gives softmax(1000, 1001, 1002) = softmax(0, 1, 2) (hand: the
		// shift cancels in the ratio).
		x := tensor(t, b, shapeOf(2, 3), []float32{1000, 1001, 1002, -1000, -1001, -1002})
		want := refSoftmax([]float64{0, 1, 2, 0, -1, -2}, shapeOf(2, 3), 1, false)
		y := must(t, "softmax")(core.Softmax(x, 1))
		expectTensor(t, "softmax of large logits", y, shapeOf(2, 3), want, rounding)
		want = refSoftmax([]float64{0, 1, 2, 0, -1, -2}, shapeOf(2, 3), 1, true)
		y = must(t, "log softmax")(core.LogSoftmax(x, 1))
		expectTensor(t, "log softmax of large logits", y, shapeOf(2, 3), want, rounding)
	})
	g := core.NewRNG(26)
	for _, c := range []struct {
		s  core.Shape
		ax int
	}{
		{shapeOf(4, 10), -1},
		{shapeOf(3, 1000), 1}, // ImageNet's 1000 classes
		{shapeOf(2, 3, 4, 5), 3},
		{shapeOf(2, 3, 4, 5), 1},
		{shapeOf(2, 3, 4, 5), 0},
		{shapeOf(5, 1), -1},
		{shapeOf(2, 17), -1},
	} {
		ax := c.ax
		if ax < 0 {
			ax += len(c.s)
		}
		v := normals(g, c.s.Size(), 0, 5)
		x := tensor(t, b, c.s, v)
		t.Run(desc("softmax_%v_axis%d", c.s, c.ax), func(t *testing.T) {
			// Tolerance: rounding against the float64 formula.
			what := desc("softmax %v axis %d", c.s, c.ax)
			y := must(t, what)(core.Softmax(x, c.ax))
			expectTensor(t, what, y, c.s, refSoftmax(f64(v), c.s, ax, false), rounding)
		})
		t.Run(desc("log_softmax_%v_axis%d", c.s, c.ax), func(t *testing.T) {
			what := desc("log softmax %v axis %d", c.s, c.ax)
			y := must(t, what)(core.LogSoftmax(x, c.ax))
			expectTensor(t, what, y, c.s, refSoftmax(f64(v), c.s, ax, true), rounding)
		})
	}
	t.Run("maxout", func(t *testing.T) {
		// Hand: max over groups of k consecutive channels.
		x := tensor(t, b, shapeOf(1, 1, 2, 4), []float32{1, -2, 7, 3, 0, 5, -1, -4})
		y := must(t, "maxout")(core.Maxout(x, 2))
		expectTensor(t, "maxout k2 hand", y, shapeOf(1, 1, 2, 2), []float64{1, 7, 5, -1}, exact)
		// Groups of k consecutive channels: the maximum of v[i*k .. i*k+k-1].
		for _, k := range []int{2, 3, 5} {
			s := shapeOf(2, 3, 4, 3*k)
			v := ints(g, s.Size(), -50, 50)
			os := shapeOf(2, 3, 4, 3)
			want := make([]float64, os.Size())
			for i := range want {
				want[i] = math.Inf(-1)
				for j := 0; j < k; j++ {
					want[i] = math.Max(want[i], float64(v[i*k+j]))
				}
			}
			what := desc("maxout %v k=%d", s, k)
			y := must(t, what)(core.Maxout(tensor(t, b, s, v), k))
			expectTensor(t, what, y, os, want, exact)
		}
		// The lecture's maxout unit, max(w1.x + b1, w2.x + b2): a dense layer
		// producing the two affine maps side by side, then maxout with k = 2.
		xv := []float32{1, 2, -1}
		w := []float32{ // [3 inputs, 2 units]: unit 0 uses w1 = (1,0,2), unit 1 uses w2 = (-1,1,1)
			1, -1,
			0, 1,
			2, 1,
		}
		d := must(t, "dense")(core.Dense(tensor(t, b, shapeOf(1, 3), xv), tensor(t, b, shapeOf(3, 2), w), tensor(t, b, shapeOf(2), []float32{0.5, 1}), core.Unary{}))
		y = must(t, "maxout")(core.Maxout(d, 2))
		// Hand: w1.x + b1 = 1 + 0 - 2 + 0.5 = -0.5; w2.x + b2 = -1 + 2 - 1 + 1 = 1.
		expectTensor(t, "maxout of two affine maps", y, shapeOf(1, 1), []float64{1}, exact)
	})
}
