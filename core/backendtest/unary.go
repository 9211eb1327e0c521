package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// unary64 is the float64 reference of every elementwise op: the formula of
// its doc comment in core/backend.go, evaluated with package math (GELU
// through math.Erf, the tanh form through math.Tanh).
func unary64(f core.Unary, x float64) float64 {
	a, c := float64(f.Alpha), float64(f.Beta)
	relu6 := func(v float64) float64 { return math.Min(math.Max(0, v), 6) }
	switch f.Op {
	case core.Identity:
		return x
	case core.Affine:
		return a*x + c
	case core.Neg:
		return -x
	case core.Abs:
		return math.Abs(x)
	case core.Square:
		return x * x
	case core.Sqrt:
		return math.Sqrt(x)
	case core.Rsqrt:
		return 1 / math.Sqrt(x)
	case core.Recip:
		return 1 / x
	case core.Exp:
		return math.Exp(x)
	case core.Log:
		return math.Log(x)
	case core.Pow:
		return math.Pow(x, a)
	case core.Sigmoid:
		return 1 / (1 + math.Exp(-x))
	case core.Tanh:
		return math.Tanh(x)
	case core.ReLU:
		return math.Max(0, x)
	case core.LeakyReLU:
		if x >= 0 {
			return x
		}
		return a * x
	case core.ELU:
		if x >= 0 {
			return x
		}
		return a * math.Expm1(x)
	case core.ReLU6:
		return relu6(x)
	case core.GELU:
		return x / 2 * (1 + math.Erf(x/math.Sqrt2))
	case core.GELUTanh:
		return x / 2 * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	case core.SiLU:
		return x / (1 + math.Exp(-x))
	case core.HardSigmoid:
		return relu6(x+3) / 6
	case core.HardSwish:
		return x * relu6(x+3) / 6
	case core.Clip:
		return math.Min(math.Max(x, a), c)
	case core.Round:
		return math.RoundToEven(x)
	case core.Floor:
		return math.Floor(x)
	case core.Ceil:
		return math.Ceil(x)
	}
	panic("backendtest: no reference for unary op " + f.Op.String())
}

// unaryCase is one op with its parameters and the domain the suite tests
// it on: positive inputs only for sqrt, rsqrt, log, recip and pow (a GPU
// need not return NaN outside the domain), |x| <= 80 for exp (e^88.7
// overflows float32).
type unaryCase struct {
	f        core.Unary
	positive bool
	maxAbs   float64 // 0: no limit
}

var unaryCases = []unaryCase{
	{f: core.Unary{Op: core.Identity}},
	{f: core.Unary{Op: core.Affine, Alpha: 2.5, Beta: -1}},
	{f: core.Unary{Op: core.Affine, Alpha: -0.125, Beta: 3}},
	{f: core.Unary{Op: core.Neg}},
	{f: core.Unary{Op: core.Abs}},
	{f: core.Unary{Op: core.Square}},
	{f: core.Unary{Op: core.Sqrt}, positive: true},
	{f: core.Unary{Op: core.Rsqrt}, positive: true},
	{f: core.Unary{Op: core.Recip}, positive: true},
	{f: core.Unary{Op: core.Exp}, maxAbs: 80},
	{f: core.Unary{Op: core.Log}, positive: true},
	{f: core.Unary{Op: core.Pow, Alpha: 2}, positive: true},
	{f: core.Unary{Op: core.Pow, Alpha: 0.5}, positive: true},
	{f: core.Unary{Op: core.Pow, Alpha: -0.75}, positive: true},
	{f: core.Unary{Op: core.Pow, Alpha: 3}, positive: true},
	{f: core.Unary{Op: core.Sigmoid}},
	{f: core.Unary{Op: core.Tanh}},
	{f: core.Unary{Op: core.ReLU}},
	{f: core.Unary{Op: core.LeakyReLU, Alpha: 0.01}},
	{f: core.Unary{Op: core.LeakyReLU, Alpha: 0.2}},
	{f: core.Unary{Op: core.ELU, Alpha: 1}},
	{f: core.Unary{Op: core.ELU, Alpha: 0.5}},
	{f: core.Unary{Op: core.ReLU6}},
	{f: core.Unary{Op: core.GELU}},
	{f: core.Unary{Op: core.GELUTanh}},
	{f: core.Unary{Op: core.SiLU}},
	{f: core.Unary{Op: core.HardSigmoid}},
	{f: core.Unary{Op: core.HardSwish}},
	{f: core.Unary{Op: core.Clip, Alpha: -1, Beta: 2.5}},
	{f: core.Unary{Op: core.Clip, Alpha: 0, Beta: 6}},
	{f: core.Unary{Op: core.Round}},
	{f: core.Unary{Op: core.Floor}},
	{f: core.Unary{Op: core.Ceil}},
}

// allUnaryOps lists every op the core package names (String stops
// answering a name past the last), so a new op without a case fails.
func allUnaryOps() []core.UnaryOp {
	var ops []core.UnaryOp
	for op := core.UnaryOp(0); op.String() != "unary?"; op++ {
		ops = append(ops, op)
	}
	return ops
}

// unaryName names a case for subtests: the op and its parameters.
func unaryName(f core.Unary) string {
	switch f.Op {
	case core.Affine, core.Clip:
		return desc("%s_%g_%g", f.Op, f.Alpha, f.Beta)
	case core.Pow, core.LeakyReLU, core.ELU:
		return desc("%s_%g", f.Op, f.Alpha)
	}
	return f.Op.String()
}

// probes are the points every op is evaluated at: around 0, around the
// kinks and saturations at -3, 3 and 6, and at large |x|.
var probes = []float32{-1000, -100, -20, -10, -6.5, -6, -5.5, -3.5, -3.01, -3, -2.99, -2.5,
	-1, -0.5, -0.1, -1e-3, -1e-7, 0, 1e-7, 1e-3, 0.1, 0.5, 1, 2.5, 2.99, 3, 3.01, 3.5,
	5.5, 5.99, 6, 6.01, 6.5, 10, 20, 100, 1000}

// positiveProbes are the points of the ops defined on x > 0.
var positiveProbes = []float32{1e-7, 1e-3, 0.01, 0.1, 0.5, 0.999, 1, 1.001, 2, 2.5, 3, 6, 10, 100, 1000, 1e6}

// unaryInputs returns the probes plus random values within c's domain.
func unaryInputs(c unaryCase, g *core.RNG) []float32 {
	var v []float32
	if c.positive {
		v = append(v, positiveProbes...)
		v = append(v, uniform(g, 64, 0.01, 20)...)
	} else {
		v = append(v, probes...)
		v = append(v, normals(g, 64, 0, 4)...)
	}
	if c.maxAbs == 0 {
		return v
	}
	var in []float32
	for _, x := range v {
		if math.Abs(float64(x)) <= c.maxAbs {
			in = append(in, x)
		}
	}
	return append(in, float32(c.maxAbs), float32(-c.maxAbs))
}

func testUnary(t *testing.T, b core.Backend) {
	t.Run("cases_cover_every_op", func(t *testing.T) {
		have := map[core.UnaryOp]bool{}
		for _, c := range unaryCases {
			have[c.f.Op] = true
		}
		for _, op := range allUnaryOps() {
			if !have[op] {
				t.Errorf("unary op %s has no test case", op)
			}
		}
	})
	for i, c := range unaryCases {
		t.Run(unaryName(c.f), func(t *testing.T) {
			v := unaryInputs(c, core.NewRNG(uint64(100+i)))
			want := make([]float64, len(v))
			for j, x := range v {
				want[j] = unary64(c.f, float64(x))
			}
			x := tensor(t, b, shapeOf(len(v)), v)
			y := must(t, "apply")(core.Apply(x, c.f))
			// Tolerance: rounding against the float64 formula.
			if !expectTensor(t, "apply "+unaryName(c.f), y, shapeOf(len(v)), want, rounding) {
				t.Logf("inputs: %v", v)
			}
			// The same op in place: Backend.Unary allows dst to alias x.
			if err := b.Unary(x, x, c.f); err != nil {
				t.Fatalf("in-place %s: %v", unaryName(c.f), err)
			}
			expectTensor(t, "in-place "+unaryName(c.f), x, shapeOf(len(v)), want, rounding)
		})
	}
	t.Run("shape_4d", func(t *testing.T) {
		// Elementwise ops ignore the shape: a [2,3,4,5] tensor through
		// hard-swish equals the formula at each element.
		g := core.NewRNG(7)
		s := shapeOf(2, 3, 4, 5)
		v := normals(g, s.Size(), 0, 4)
		f := core.Unary{Op: core.HardSwish}
		want := make([]float64, len(v))
		for i, x := range v {
			want[i] = unary64(f, float64(x))
		}
		y := must(t, "hard swish")(core.Apply(tensor(t, b, s, v), f))
		expectTensor(t, "hard swish [2 3 4 5]", y, s, want, rounding)
	})
	t.Run("scale", func(t *testing.T) {
		// Hand: 2*x - 3 on small integers is exact.
		y := must(t, "scale")(core.Scale(tensor(t, b, shapeOf(4), []float32{-2, 0, 1, 5}), 2, -3))
		expectTensor(t, "scale 2x-3", y, shapeOf(4), []float64{-7, -3, -1, 7}, exact)
	})
	t.Run("hand_values", func(t *testing.T) {
		// Hand-computed points of the piecewise ops.
		x := tensor(t, b, shapeOf(7), []float32{-4, -3, -1.5, 0, 1.5, 3, 7})
		for _, c := range []struct {
			f    core.Unary
			want []float64
		}{
			{core.Act(core.ReLU), []float64{0, 0, 0, 0, 1.5, 3, 7}},
			{core.Act(core.ReLU6), []float64{0, 0, 0, 0, 1.5, 3, 6}},
			{core.Unary{Op: core.LeakyReLU, Alpha: 0.25}, []float64{-1, -0.75, -0.375, 0, 1.5, 3, 7}},
			// relu6(x+3)/6: (0, 0, 1.5, 3, 4.5, 6, 6)/6
			{core.Act(core.HardSigmoid), []float64{0, 0, 0.25, 0.5, 0.75, 1, 1}},
			// x * hard-sigmoid(x)
			{core.Act(core.HardSwish), []float64{0, 0, -0.375, 0, 1.125, 3, 7}},
			{core.Unary{Op: core.Clip, Alpha: -1, Beta: 2}, []float64{-1, -1, -1, 0, 1.5, 2, 2}},
		} {
			y := must(t, unaryName(c.f))(core.Apply(x, c.f))
			expectTensor(t, "hand "+unaryName(c.f), y, shapeOf(7), c.want, rounding)
		}
	})
}
