package weights

import (
	"encoding/binary"
	"fmt"
	"math"
)

// encode stores values in a dtype; int8 also returns the per-channel scales.
func encode(d DType, shape []int, v []float32) ([]byte, []float32, error) {
	switch d {
	case F32:
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b, nil, nil
	case F16:
		b := make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(b[2*i:], F32ToF16(x))
		}
		return b, nil, nil
	case Int8:
		return quantize(shape, v)
	}
	return nil, nil, fmt.Errorf("unknown dtype %q", string(d))
}

// quantize maps each output channel (last axis) symmetrically to
// -127..127 with scale max|x|/127.
func quantize(shape []int, v []float32) ([]byte, []float32, error) {
	if len(shape) == 0 {
		return nil, nil, fmt.Errorf("int8 needs an axis of channels")
	}
	c := shape[len(shape)-1]
	scales := make([]float32, c)
	for i, x := range v {
		scales[i%c] = max(scales[i%c], float32(math.Abs(float64(x))))
	}
	for i := range scales {
		scales[i] /= 127
	}
	b := make([]byte, len(v))
	for i, x := range v {
		s := scales[i%c]
		if s == 0 {
			continue
		}
		q := math.Round(float64(x / s))
		b[i] = byte(int8(max(-127, min(127, q))))
	}
	return b, scales, nil
}

// Decode returns an entry's values as float32 from its bytes.
func Decode(e *Entry, b []byte) ([]float32, error) {
	if int64(len(b)) != e.Length {
		return nil, fmt.Errorf("tensor %q: %d bytes, want %d", e.Name, len(b), e.Length)
	}
	n := e.Elements()
	v := make([]float32, n)
	switch e.DType {
	case F32:
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range v {
			v[i] = F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case Int8:
		c := len(e.Scales)
		for i := range v {
			v[i] = float32(int8(b[i])) * e.Scales[i%c]
		}
	default:
		return nil, fmt.Errorf("tensor %q: unknown dtype %q", e.Name, string(e.DType))
	}
	return v, nil
}

// F32ToF16 rounds a float32 to the nearest IEEE 754 half (ties to even),
// with overflow to infinity and gradual underflow.
func F32ToF16(f float32) uint16 {
	x := math.Float32bits(f)
	sign := uint16(x>>16) & 0x8000
	exp := int(x>>23&0xff) - 127 + 15
	mant := x & 0x7fffff
	switch {
	case x&0x7fffffff == 0:
		return sign
	case x>>23&0xff == 0xff: // inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0: // subnormal half (or zero)
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, which is right (up to infinity)
	}
	return sign | uint16(h)
}

// F16ToF32 widens an IEEE 754 half exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
