package cpu

import (
	"math"

	"webcnn/core"
)

// Unary sets dst[i] = f(x[i]). Each function is evaluated in float64 and
// rounded once to float32, so every backend can be held to its definition.
func (b *Backend) Unary(dst, x *core.Tensor, f core.Unary) error {
	d, s := data(dst), data(x)
	if !b.Reference {
		switch f.Op {
		case core.Identity, core.ReLU, core.ReLU6:
			// The epilogue's forms, on the bits: equal to unaryFunc's
			// (NaN payloads aside; TestFastActivationsExact).
			newEpilogue(nil, f).activateTo(d, s)
			return nil
		}
	}
	fn := unaryFunc(f)
	for i, v := range s {
		d[i] = float32(fn(float64(v)))
	}
	return nil
}

// unaryFunc returns the float64 definition of an elementwise op.
func unaryFunc(f core.Unary) func(float64) float64 {
	a, c := float64(f.Alpha), float64(f.Beta)
	switch f.Op {
	case core.Identity:
		return func(x float64) float64 { return x }
	case core.Affine:
		return func(x float64) float64 { return a*x + c }
	case core.Neg:
		return func(x float64) float64 { return -x }
	case core.Abs:
		return math.Abs
	case core.Square:
		return func(x float64) float64 { return x * x }
	case core.Sqrt:
		return math.Sqrt
	case core.Rsqrt:
		return func(x float64) float64 { return 1 / math.Sqrt(x) }
	case core.Recip:
		return func(x float64) float64 { return 1 / x }
	case core.Exp:
		return math.Exp
	case core.Log:
		return math.Log
	case core.Pow:
		return func(x float64) float64 { return math.Pow(x, a) }
	case core.Sigmoid:
		return sigmoid
	case core.Tanh:
		return math.Tanh
	case core.ReLU:
		return func(x float64) float64 { return math.Max(0, x) }
	case core.LeakyReLU:
		return func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * x
		}
	case core.ELU:
		return func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * math.Expm1(x)
		}
	case core.ReLU6:
		return relu6
	case core.GELU:
		return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
	case core.GELUTanh:
		return func(x float64) float64 {
			return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		}
	case core.SiLU:
		return func(x float64) float64 { return x * sigmoid(x) }
	case core.HardSigmoid:
		return func(x float64) float64 { return relu6(x+3) / 6 }
	case core.HardSwish:
		return func(x float64) float64 { return x * relu6(x+3) / 6 }
	case core.Clip:
		return func(x float64) float64 { return math.Min(math.Max(x, a), c) }
	case core.Round:
		return math.RoundToEven
	case core.Floor:
		return math.Floor
	case core.Ceil:
		return math.Ceil
	}
	panic("cpu: unary op " + f.Op.String() + " not implemented")
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func relu6(x float64) float64 { return math.Min(math.Max(x, 0), 6) }
