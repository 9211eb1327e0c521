package cpu

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

// orderedGEMM is the summation order every GEMM kernel keeps (gemm.go),
// written as plain loops: C[i][j] is, per depth block of blk (gemmKC, or
// all of k where gemv runs), the float32 sum from zero of the products in
// depth order; the blocks' sums are added in order, then the bias.
func orderedGEMM(m, n, k int, a, b mat, bias []float32) []float32 {
	blk := gemmKC
	if m <= gemvMaxRows {
		blk = k
	}
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for k0 := 0; k0 < k; k0 += blk {
				var t float32
				for p := k0; p < min(k0+blk, k); p++ {
					t += float32(a.d[i*a.rs+p*a.cs] * b.d[p*b.rs+j*b.cs])
				}
				if k0 == 0 {
					s = t
				} else {
					s += t
				}
			}
			if bias != nil {
				s += bias[j]
			}
			c[i*n+j] = s
		}
	}
	return c
}

// TestGEMMSummationOrder: the GEMM of this build (scalar 3x3 tiles, or
// SIMD tiles with GOEXPERIMENT=simd) gives the bits of orderedGEMM on
// random data, at sizes around every tile, unrolling and block edge, for
// plain and transposed operands. Random values in [-1, 1) make any
// change of order or of rounding (a fused multiply-add) show up in the
// last bits; bit equality here is what keeps TestNativeWasmParity exact
// across builds.
func TestGEMMSummationOrder(t *testing.T) { checkGEMMOrder(t) }

// checkGEMMOrder is TestGEMMSummationOrder's check, for each kernel a
// build can choose at run time too (kernel_simd_amd64_test.go).
func checkGEMMOrder(t *testing.T) {
	g := core.NewRNG(11)
	for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 9, 95, 97} {
		for _, n := range []int{1, 3, 7, 8, 9, 16, 17, 33} {
			for _, k := range []int{1, 3, 4, 5, 17, 255, 256, 257, 513} {
				for _, trans := range []bool{false, true} {
					if trans && (m%2 == 0 || k < 200) {
						continue // fewer cases: the strides are what differs
					}
					ad, bd := fill(g, m*k, false), fill(g, k*n, false)
					a, b := mat{d: ad, rs: k, cs: 1}, mat{d: bd, rs: n, cs: 1}
					if trans {
						a, b = mat{d: ad, rs: 1, cs: m}, mat{d: bd, rs: 1, cs: k}
					}
					bias := fill(g, n, false)
					if k%2 == 1 {
						bias = nil
					}
					want := orderedGEMM(m, n, k, a, b, bias)
					got := make([]float32, m*n)
					gemm(m, n, k, a, b, got, n, newEpilogue(bias, core.Unary{}))
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: C[%d][%d] = %v, want %v (ordered float32 sum)",
								fmt.Sprintf("gemm m=%d n=%d k=%d trans=%v bias=%v tile %dx%d", m, n, k, trans, bias != nil, gemmMR, gemmNR),
								i/n, i%n, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
