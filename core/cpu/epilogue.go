package cpu

import (
	"unsafe"

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
		addRow(row, e.bias)
	}
	e.activate(row)
}

// addRowScalar sets row[j] += b[j] for every j of row.
func addRowScalar(row, b []float32) {
	b = b[:len(row)]
	j := 0
	for ; j+4 <= len(row); j += 4 {
		r, s := (*[4]float32)(row[j:j+4]), (*[4]float32)(b[j:j+4])
		r[0], r[1], r[2], r[3] = r[0]+s[0], r[1]+s[1], r[2]+s[2], r[3]+s[3]
	}
	for ; j < len(row); j++ {
		row[j] += b[j]
	}
}

// activate sets row[j] = act(row[j]) for every j (nothing to do for
// Identity: the Winograd path's GEMMs run with no epilogue).
func (e epilogue) activate(row []float32) {
	if e.fn == nil && e.op == core.Identity {
		return
	}
	e.activateTo(row, row)
}

// activateTo sets dst[j] = act(src[j]) for every j of dst (src may be
// dst). ReLU and ReLU6 work on the bit patterns (relu32, relu632), read
// and written as uint32: math.Float32bits moves a value through memory in
// js/wasm (a store and a load each way), which made the activation cost
// 2.4 ns a value there against 1.2 ns this way (0.84 natively). The
// loops take four values per step: js/wasm pays a dispatch per loop
// iteration.
func (e epilogue) activateTo(dst, src []float32) {
	switch {
	case e.fn != nil:
		for j, v := range src[:len(dst)] {
			dst[j] = float32(e.fn(float64(v)))
		}
	case e.op == core.ReLU:
		reluRow(dst, src)
	case e.op == core.ReLU6:
		relu6Row(dst, src)
	default:
		copy(dst, src)
	}
}

// reluRowScalar sets dst[j] = max(0, src[j]) for every j of dst.
func reluRowScalar(dst, src []float32) {
	d, s := bits(dst), bits(src[:len(dst)])
	j := 0
	for ; j+4 <= len(d); j += 4 {
		r, x := (*[4]uint32)(d[j:j+4]), (*[4]uint32)(s[j:j+4])
		r[0], r[1], r[2], r[3] = relu32(x[0]), relu32(x[1]), relu32(x[2]), relu32(x[3])
	}
	for ; j < len(d); j++ {
		d[j] = relu32(s[j])
	}
}

// relu6RowScalar sets dst[j] = min(max(0, src[j]), 6) for every j of dst.
func relu6RowScalar(dst, src []float32) {
	d, s := bits(dst), bits(src[:len(dst)])
	j := 0
	for ; j+4 <= len(d); j += 4 {
		r, x := (*[4]uint32)(d[j:j+4]), (*[4]uint32)(s[j:j+4])
		r[0], r[1], r[2], r[3] = relu632(x[0]), relu632(x[1]), relu632(x[2]), relu632(x[3])
	}
	for ; j < len(d); j++ {
		d[j] = relu632(s[j])
	}
}

// bits views float32 values as their IEEE 754 bit patterns (the memory
// is shared: writes through either slice change both).
func bits(v []float32) []uint32 {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&v[0])), len(v))
}

// relu32 is math.Max(0, x) on the bits of a float32 x: negative values
// and -0 become +0, NaN stays NaN. Integer selects only: Go's builtin max
// calls the runtime on js/wasm, and a float branch mispredicts on random
// signs.
func relu32(b uint32) uint32 {
	m := uint32(int32(b) >> 31) // all ones when the sign bit is set
	if b&0x7fffffff > 0x7f800000 {
		m = 0 // NaN
	}
	return b &^ m
}

// relu632 is math.Min(math.Max(0, x), 6) on the bits of a float32 x,
// like relu32. The bits of non-negative floats order like their values,
// so x > 6 (NaN excluded) is one unsigned range test on the bits.
func relu632(b uint32) uint32 {
	const six, inf = 0x40c00000, 0x7f800000
	b = relu32(b)
	if b-(six+1) <= inf-(six+1) {
		b = six
	}
	return b
}
