package backendtest

import (
	"testing"

	"webcnn/core"
)

// refMatMul is y[i][j] = act(bias[j] + sum_l A[i][l] B[l][j]) in float64,
// where A[i][l] is a[l*M+i] when transA (a stored [K,M]) and a[i*K+l]
// otherwise; B[l][j] is b[j*K+l] when transB (b stored [N,K]) and b[l*N+j]
// otherwise.
func refMatMul(a, b, bias []float64, m, k, n int, transA, transB bool, act core.Unary) []float64 {
	y := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			if bias != nil {
				s = bias[j]
			}
			for l := 0; l < k; l++ {
				av := a[i*k+l]
				if transA {
					av = a[l*m+i]
				}
				bv := b[l*n+j]
				if transB {
					bv = b[j*k+l]
				}
				s += av * bv
			}
			y[i*n+j] = unary64(act, s)
		}
	}
	return y
}

// matmulCase runs one product of random small integers against refMatMul.
func matmulCase(t *testing.T, b core.Backend, g *core.RNG, m, k, n int, transA, transB, withBias bool, act core.Unary, tl tolerance) bool {
	t.Helper()
	as, bs := shapeOf(m, k), shapeOf(k, n)
	if transA {
		as = shapeOf(k, m)
	}
	if transB {
		bs = shapeOf(n, k)
	}
	av, bv := ints(g, m*k, -4, 4), ints(g, k*n, -4, 4)
	var cv []float32
	var bias *core.Tensor
	if withBias {
		cv = ints(g, n, -9, 9)
		bias = tensor(t, b, shapeOf(n), cv)
	}
	what := desc("matmul %v x %v transA=%v transB=%v bias=%v act=%s", as, bs, transA, transB, withBias, unaryName(act))
	want := refMatMul(f64(av), f64(bv), f64or(cv), m, k, n, transA, transB, act)
	y, err := core.MatMulT(tensor(t, b, as, av), tensor(t, b, bs, bv), bias, core.MatMul{TransA: transA, TransB: transB, Act: act})
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	defer y.Free()
	return expectTensor(t, what, y, shapeOf(m, n), want, tl)
}

func testMatMul(t *testing.T, b core.Backend) {
	t.Run("hand", func(t *testing.T) {
		// Hand: [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]], + bias [1,-100] then ReLU.
		a := tensor(t, b, shapeOf(2, 2), []float32{1, 2, 3, 4})
		w := tensor(t, b, shapeOf(2, 2), []float32{5, 6, 7, 8})
		y := must(t, "matmul")(core.MatMulT(a, w, nil, core.MatMul{}))
		expectTensor(t, "matmul 2x2", y, shapeOf(2, 2), []float64{19, 22, 43, 50}, exact)
		bias := tensor(t, b, shapeOf(2), []float32{1, -100})
		y = must(t, "matmul")(core.MatMulT(a, w, bias, core.MatMul{Act: core.Act(core.ReLU)}))
		expectTensor(t, "matmul 2x2 bias relu", y, shapeOf(2, 2), []float64{20, 0, 44, 0}, exact)
		// Hand: A^T B^T = (BA)^T: [[1,3],[2,4]] x [[5,7],[6,8]] = [[23,31],[34,46]].
		y = must(t, "matmul")(core.MatMulT(a, w, nil, core.MatMul{TransA: true, TransB: true}))
		expectTensor(t, "matmul 2x2 transA transB", y, shapeOf(2, 2), []float64{23, 31, 34, 46}, exact)
	})
	t.Run("transposes", func(t *testing.T) {
		g := core.NewRNG(21)
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, mkn := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 16, 4}, {17, 9, 33}, {5, 1, 3}, {1, 17, 1}} {
					if !matmulCase(t, b, g, mkn[0], mkn[1], mkn[2], ta, tb, true, core.Unary{}, exact) {
						t.FailNow()
					}
				}
			}
		}
	})
	t.Run("edges", func(t *testing.T) {
		// M, K and N each around tile edges. Exact: |sum| <= 33*16 + 9.
		g := core.NewRNG(22)
		bad := 0
		for _, m := range edgeCout {
			for _, k := range edgeCout {
				for _, n := range edgeCout {
					ta, tb := (m+k)%2 == 1, (k+n)%3 == 0
					if !matmulCase(t, b, g, m, k, n, ta, tb, (m+n)%2 == 0, core.Unary{}, exact) {
						bad++
					}
					if bad > 3 {
						t.Fatalf("stopping after %d failing shapes", bad)
					}
				}
			}
		}
	})
	t.Run("larger", func(t *testing.T) {
		// Products past 64 in every dimension and past common depth (256)
		// and row (96) blocks, for tiled and packed kernels. Exact:
		// |sum| <= 513*16 + 9.
		g := core.NewRNG(23)
		for _, c := range []struct {
			m, k, n        int
			transA, transB bool
		}{
			{67, 70, 65, false, false},
			{65, 129, 66, true, true},
			{130, 260, 7, false, true},
			{97, 513, 5, true, false},
			{193, 257, 4, false, false},
		} {
			if !matmulCase(t, b, g, c.m, c.k, c.n, c.transA, c.transB, true, core.Unary{}, exact) {
				t.FailNow()
			}
		}
	})
	t.Run("fused_activation", func(t *testing.T) {
		// Every activation after the bias, against the float64 product
		// (exact) followed by the float64 formula: rounding. Positive-domain
		// ops get positive operands.
		for i, uc := range unaryCases {
			g := core.NewRNG(uint64(500 + i))
			m, k, n := 3, 4, 5
			var av, bv, cv []float32
			if uc.positive {
				av, bv, cv = ints(g, m*k, 1, 3), ints(g, k*n, 1, 3), ints(g, n, 0, 3)
			} else {
				av, bv, cv = ints(g, m*k, -2, 2), ints(g, k*n, -2, 2), ints(g, n, -3, 3)
			}
			want := refMatMul(f64(av), f64(bv), f64(cv), m, k, n, false, false, uc.f)
			what := "matmul act " + unaryName(uc.f)
			y := must(t, what)(core.MatMulT(tensor(t, b, shapeOf(m, k), av), tensor(t, b, shapeOf(k, n), bv), tensor(t, b, shapeOf(n), cv), core.MatMul{Act: uc.f}))
			expectTensor(t, what, y, shapeOf(m, n), want, rounding)
		}
	})
	t.Run("dense", func(t *testing.T) {
		// Dense flattens [N, H, W, C] to [N, H*W*C] in row-major order and
		// multiplies by [In, Out]: the reference indexes the flat input.
		g := core.NewRNG(24)
		xs := shapeOf(2, 3, 3, 2)
		in, out := 18, 5
		xv, wv, cv := ints(g, xs.Size(), -3, 3), ints(g, in*out, -3, 3), ints(g, out, -3, 3)
		for _, act := range []core.Unary{{}, core.Act(core.ReLU), core.Act(core.Sigmoid)} {
			want := refMatMul(f64(xv), f64(wv), f64(cv), 2, in, out, false, false, act)
			tl := exact
			if act.Op == core.Sigmoid {
				tl = rounding
			}
			what := "dense [2 3 3 2] x [18 5] " + unaryName(act)
			y := must(t, what)(core.Dense(tensor(t, b, xs, xv), tensor(t, b, shapeOf(in, out), wv), tensor(t, b, shapeOf(out), cv), act))
			expectTensor(t, what, y, shapeOf(2, out), want, tl)
		}
		// Without bias, on an already flat input.
		want := refMatMul(f64(xv), f64(wv), nil, 2, in, out, false, false, core.Unary{})
		y := must(t, "dense")(core.Dense(tensor(t, b, shapeOf(2, in), xv), tensor(t, b, shapeOf(in, out), wv), nil, core.Unary{}))
		expectTensor(t, "dense [2 18] no bias", y, shapeOf(2, out), want, exact)
	})
}
