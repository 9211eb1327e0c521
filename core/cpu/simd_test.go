package cpu

import (
	"math"
	"testing"

	"webcnn/core"
)

// The SIMD kernels of a GOEXPERIMENT=simd build against the scalar ones
// they replace, which stay compiled in every build as the oracle: same
// bits on random data, at lengths around every vector and unrolling edge.
// Without SIMD kernels these tests skip (the names are the scalar ones).

// needSIMD skips t in a build without SIMD kernels.
func needSIMD(t *testing.T) {
	t.Helper()
	if simdKernels == "" {
		t.Skip("no SIMD kernels in this build (GOEXPERIMENT=simd adds them)")
	}
	t.Logf("SIMD kernels: %s", simdKernels)
}

// sameBits reports the first index where got and want differ in bits
// (NaNs match any NaN), or -1.
func sameBits(got, want []float32) int {
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			return i
		}
	}
	return -1
}

// edgeLens are row lengths around the vector widths (4, 8, 16) and their
// unrollings.
var edgeLens = []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 31, 32, 33, 64, 65, 96, 144}

func TestDepthwiseRowSIMD(t *testing.T) {
	needSIMD(t)
	g := core.NewRNG(5)
	for _, c := range edgeLens {
		for _, ntaps := range []int{1, 2, 3, 4, 6, 9} {
			xd, wd := fill(g, 10*c, false), fill(g, 9*c, false)
			taps := make([]int, 0, 2*ntaps)
			for i := 0; i < ntaps; i++ {
				taps = append(taps, (i*7)%10, (i*5)%9)
			}
			zero := make([]float32, c)
			want, got := fill(g, c, false), make([]float32, c)
			copy(got, want)
			depthwiseRowScalar(want, xd, wd, zero, taps)
			depthwiseRow(got, xd, wd, zero, taps)
			if i := sameBits(got, want); i >= 0 {
				t.Errorf("depthwiseRow C=%d taps=%d: channel %d = %v, scalar %v", c, ntaps, i, got[i], want[i])
			}
		}
	}
}

// specials are the values where max, ReLU and ReLU6 have rules: signed
// zeros, NaN, infinities, the smallest subnormals and the clip at 6.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
	1e-45, -1e-45, 6, math.Nextafter32(6, 7), math.Nextafter32(6, 5), -6, 0.5, -0.5}

// specialRow returns n values: random in [-8, 8) with specials mixed in.
func specialRow(g *core.RNG, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = g.Float32()*16 - 8
		if g.IntN(3) == 0 {
			v[i] = specials[g.IntN(len(specials))]
		}
	}
	return v
}

func TestRowKernelsSIMD(t *testing.T) {
	needSIMD(t)
	g := core.NewRNG(9)
	for _, n := range edgeLens {
		for rep := 0; rep < 20; rep++ {
			a, b := specialRow(g, n), specialRow(g, n)
			check := func(name string, got, want []float32) {
				t.Helper()
				if i := sameBits(got, want); i >= 0 {
					t.Errorf("%s n=%d: [%d] = %v (%#x), scalar %v (%#x); inputs %v, %v", name, n, i,
						got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]), a[i], b[i])
				}
			}
			got, want := append([]float32(nil), a...), append([]float32(nil), a...)
			maxRow(got, b)
			maxRowScalar(want, b)
			check("maxRow", got, want)
			got, want = make([]float32, n), make([]float32, n)
			reluRow(got, a)
			reluRowScalar(want, a)
			check("reluRow", got, want)
			relu6Row(got, a)
			relu6RowScalar(want, a)
			check("relu6Row", got, want)
			got, want = append([]float32(nil), a...), append([]float32(nil), a...)
			addRow(got, b)
			addRowScalar(want, b)
			check("addRow", got, want)
			v := g.Float32()*2 - 1
			got, want = append([]float32(nil), a...), append([]float32(nil), a...)
			axpy(got, v, b)
			axpyScalar(want, v, b)
			check("axpy", got, want)
		}
	}
}

func TestWinogradTilesSIMD(t *testing.T) {
	needSIMD(t)
	g := core.NewRNG(13)
	for _, n := range edgeLens {
		var d, m, outS, outV [16][]float32
		for k := range d {
			d[k], m[k] = fill(g, n, false), fill(g, n, false)
			outS[k], outV[k] = make([]float32, n), make([]float32, n)
		}
		winoInputTileScalar(&outS, &d, 0)
		winoInputTile(&outV, &d)
		for k := range outS {
			if i := sameBits(outV[k], outS[k]); i >= 0 {
				t.Errorf("winoInputTile n=%d: element %d channel %d = %v, scalar %v", n, k, i, outV[k][i], outS[k][i])
			}
		}
		bias := fill(g, n, false)
		var yS, yV [4][]float32
		for r := range yS {
			yS[r], yV[r] = make([]float32, n), make([]float32, n)
		}
		winoOutputTileScalar(&yS, &m, bias, 0)
		winoOutputTile(&yV, &m, bias)
		for r := range yS {
			if i := sameBits(yV[r], yS[r]); i >= 0 {
				t.Errorf("winoOutputTile n=%d: pixel %d channel %d = %v, scalar %v", n, r, i, yV[r][i], yS[r][i])
			}
		}
	}
}
