package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// dropFunc is the signature the four dropout variants share.
type dropFunc func(x *core.Tensor, p float32, g *core.RNG, mode core.Mode) (*core.Tensor, error)

// dropCase names a variant, the shape it is tested on, and unit(i): the
// index of the unit that element i belongs to (all elements of one unit
// are dropped or kept together), nUnits units in all.
type dropCase struct {
	name   string
	f      dropFunc
	s      core.Shape
	unit   func(s core.Shape, i int) int
	nUnits func(s core.Shape) int
	// tol bounds |fraction dropped - p|: over 4 binomial standard
	// deviations sqrt(p(1-p)/units) at p = 0.3, so a fair mask passes; the
	// masks come from a fixed seed, so the test is deterministic anyway.
	tol float64
}

var dropCases = []dropCase{
	{"dropout", core.Dropout, shapeOf(8, 16, 16, 8), // 16384 units: sd 0.0036
		func(s core.Shape, i int) int { return i },
		func(s core.Shape) int { return s.Size() }, 0.015},
	{"spatial_dropout", core.SpatialDropout, shapeOf(16, 3, 3, 256), // one unit per (n, c): 4096, sd 0.0072
		func(s core.Shape, i int) int { c := s[len(s)-1]; return (i/(s.Size()/s[0]))*c + i%c },
		func(s core.Shape) int { return s[0] * s[len(s)-1] }, 0.03},
	{"dropconnect", core.DropConnect, shapeOf(3, 3, 16, 64), // weights: 9216 units, sd 0.0048
		func(s core.Shape, i int) int { return i },
		func(s core.Shape) int { return s.Size() }, 0.02},
	{"stochastic_depth", core.StochasticDepth, shapeOf(2048, 2, 2, 2), // one unit per sample: 2048, sd 0.010
		func(s core.Shape, i int) int { return i / (s.Size() / s[0]) },
		func(s core.Shape) int { return s[0] }, 0.04},
}

func testDropout(t *testing.T, b core.Backend) {
	for i, c := range dropCases {
		t.Run(c.name, func(t *testing.T) {
			g := core.NewRNG(uint64(600 + i))
			// Values in [1, 2): never zero, so a zero output means dropped.
			v := uniform(g, c.s.Size(), 1, 2)
			x := tensor(t, b, c.s, v)
			// Inference: the identity, whatever p (exact).
			for _, p := range []float32{0, 0.3, 0.9} {
				y := must(t, c.name)(c.f(x, p, nil, core.Inference))
				expectTensor(t, desc("%s p=%v inference", c.name, p), y, c.s, f64(v), exact)
			}
			// Training with p = 0 keeps everything (exact).
			y := must(t, c.name)(c.f(x, 0, core.NewRNG(1), core.Training))
			expectTensor(t, desc("%s p=0 training", c.name), y, c.s, f64(v), exact)

			const p = 0.3
			y = must(t, c.name)(c.f(x, p, core.NewRNG(42), core.Training))
			got := data(t, y)
			// Every value is 0 or x/(1-p) (rounding), and a unit is dropped
			// or kept as a whole.
			units := c.nUnits(c.s)
			state := make([]int8, units) // 0 unseen, 1 kept, 2 dropped
			bad := 0
			for j, yv := range got {
				u := c.unit(c.s, j)
				st := int8(1)
				if yv == 0 {
					st = 2
				} else if !rounding.ok(yv, float64(v[j])/(1-p)) {
					if bad < maxReports {
						t.Errorf("%s p=%v training: at %v got %v, want 0 or x/(1-p) = %v", c.name, p, unravel(j, c.s), yv, float64(v[j])/(1-p))
					}
					bad++
				}
				if state[u] == 0 {
					state[u] = st
				} else if state[u] != st {
					if bad < maxReports {
						t.Errorf("%s p=%v training: unit %d partly dropped (at %v)", c.name, p, u, unravel(j, c.s))
					}
					bad++
				}
			}
			dropped := 0
			for _, st := range state {
				if st == 2 {
					dropped++
				}
			}
			frac := float64(dropped) / float64(units)
			if math.Abs(frac-p) > c.tol {
				t.Errorf("%s p=%v: dropped %d of %d units (%.4f), want %v within %v", c.name, p, dropped, units, frac, p, c.tol)
			}
			// Same seed, same mask (exact); another seed, another mask.
			y2 := must(t, c.name)(c.f(x, p, core.NewRNG(42), core.Training))
			expectValues(t, desc("%s same seed", c.name), c.s, data(t, y2), f64(got), exact)
			y3 := must(t, c.name)(c.f(x, p, core.NewRNG(43), core.Training))
			same := true
			for j, v := range data(t, y3) {
				if v != got[j] {
					same = false
					break
				}
			}
			if same {
				t.Errorf("%s: seeds 42 and 43 gave the same mask", c.name)
			}
		})
	}
}
