package cpu

import (
	"math"

	"webcnn/core"
)

// epilogue is the fused end of a GEMM or conv row: bias, then activation.
// Identity, ReLU and ReLU6 run in float32 (equal, bit for bit, to the
// float64 definitions in unaryFunc: see TestFastActivationsExact); every
// other activation goes through unaryFunc like the reference kernels.
type epilogue struct {
	bias []float32 // nil, or one value per column
	op   core.UnaryOp
	fn   func(float64) float64 // the reference definition, for other ops
}

// newEpilogue returns the epilogue that adds bias (nil for none) and
// applies act.
func newEpilogue(bias []float32, act core.Unary) epilogue {
	e := epilogue{bias: bias, op: act.Op}
	switch act.Op {
	case core.Identity, core.ReLU, core.ReLU6:
	default:
		e.fn = unaryFunc(act)
	}
	return e
}

// cols returns the epilogue for the columns [j0, j0+n) of a wider output.
func (e epilogue) cols(j0, n int) epilogue {
	if e.bias != nil {
		e.bias = e.bias[j0 : j0+n]
	}
	return e
}

// apply sets row[j] = act(row[j] + bias[j]) for every j.
func (e epilogue) apply(row []float32) {
	if e.bias != nil {
		bias := e.bias[:len(row)]
		j := 0
		for ; j+4 <= len(row); j += 4 {
			r, b := (*[4]float32)(row[j:j+4]), (*[4]float32)(bias[j:j+4])
			r[0], r[1], r[2], r[3] = r[0]+b[0], r[1]+b[1], r[2]+b[2], r[3]+b[3]
		}
		for ; j < len(row); j++ {
			row[j] += bias[j]
		}
	}
	e.activate(row)
}

// activate sets row[j] = act(row[j]) for every j. The float32 loops take
// four elements per step: js/wasm pays a dispatch per loop iteration.
func (e epilogue) activate(row []float32) {
	j := 0
	switch {
	case e.fn != nil:
		for j, v := range row {
			row[j] = float32(e.fn(float64(v)))
		}
	case e.op == core.ReLU:
		for ; j+4 <= len(row); j += 4 {
			r := (*[4]float32)(row[j : j+4])
			r[0], r[1], r[2], r[3] = relu32(r[0]), relu32(r[1]), relu32(r[2]), relu32(r[3])
		}
		for ; j < len(row); j++ {
			row[j] = relu32(row[j])
		}
	case e.op == core.ReLU6:
		for ; j+4 <= len(row); j += 4 {
			r := (*[4]float32)(row[j : j+4])
			r[0], r[1], r[2], r[3] = relu632(r[0]), relu632(r[1]), relu632(r[2]), relu632(r[3])
		}
		for ; j < len(row); j++ {
			row[j] = relu632(row[j])
		}
	}
}

// relu32 is math.Max(0, x) in float32: negative values and -0 become +0,
// NaN stays NaN. It works on the bits with integer selects: Go's builtin
// max calls the runtime on js/wasm, and a float branch mispredicts on
// random signs.
func relu32(x float32) float32 {
	b := math.Float32bits(x)
	m := uint32(int32(b) >> 31) // all ones when the sign bit is set
	if b&0x7fffffff > 0x7f800000 {
		m = 0 // NaN
	}
	return math.Float32frombits(b &^ m)
}

// relu632 is math.Min(math.Max(0, x), 6) in float32, like relu32. The
// bits of non-negative floats order like their values, so x > 6 (NaN
// excluded) is one unsigned range test on the bits.
func relu632(x float32) float32 {
	const six, inf = 0x40c00000, 0x7f800000
	b := math.Float32bits(relu32(x))
	if b-(six+1) <= inf-(six+1) {
		b = six
	}
	return math.Float32frombits(b)
}
