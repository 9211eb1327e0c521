//go:build goexperiment.simd && wasm

package cpu

import "simd/archsimd"

// Row kernels with wasm SIMD, eight values per step in two f32x4 vectors,
// the tail in scalar code. Each lane does what the scalar kernel does to
// one value, so the results are the same bits (NaN payloads aside: wasm
// may return its canonical NaN where the scalar code keeps the input's).

// v4 views lanes o to o+3 of v.
func v4(v *[8]float32, o int) *[4]float32 { return (*[4]float32)(v[o : o+4]) }

// maxRow is maxRowScalar with f32x4.max, which decides as math.Max does:
// NaN if either is NaN, and -0 < +0.
func maxRow(out, row []float32) {
	row = row[:len(out)]
	j := 0
	for ; j+8 <= len(out); j += 8 {
		o, r := (*[8]float32)(out[j:j+8]), (*[8]float32)(row[j:j+8])
		o0, o1 := v4(o, 0), v4(o, 4)
		archsimd.LoadFloat32x4Array(o0).Max(archsimd.LoadFloat32x4Array(v4(r, 0))).StoreArray(o0)
		archsimd.LoadFloat32x4Array(o1).Max(archsimd.LoadFloat32x4Array(v4(r, 4))).StoreArray(o1)
	}
	maxRowScalar(out[j:], row[j:])
}

// reluRow is reluRowScalar: max(x, 0) with f32x4.max (NaN stays NaN, -0
// becomes +0).
func reluRow(dst, src []float32) {
	src = src[:len(dst)]
	var zero archsimd.Float32x4
	j := 0
	for ; j+8 <= len(dst); j += 8 {
		d, s := (*[8]float32)(dst[j:j+8]), (*[8]float32)(src[j:j+8])
		archsimd.LoadFloat32x4Array(v4(s, 0)).Max(zero).StoreArray(v4(d, 0))
		archsimd.LoadFloat32x4Array(v4(s, 4)).Max(zero).StoreArray(v4(d, 4))
	}
	reluRowScalar(dst[j:], src[j:])
}

// relu6Row is relu6RowScalar: min(max(x, 0), 6) with f32x4.max and
// f32x4.min (NaN stays NaN).
func relu6Row(dst, src []float32) {
	src = src[:len(dst)]
	var zero archsimd.Float32x4
	six := archsimd.BroadcastFloat32x4(6)
	j := 0
	for ; j+8 <= len(dst); j += 8 {
		d, s := (*[8]float32)(dst[j:j+8]), (*[8]float32)(src[j:j+8])
		archsimd.LoadFloat32x4Array(v4(s, 0)).Max(zero).Min(six).StoreArray(v4(d, 0))
		archsimd.LoadFloat32x4Array(v4(s, 4)).Max(zero).Min(six).StoreArray(v4(d, 4))
	}
	relu6RowScalar(dst[j:], src[j:])
}

// addRow is addRowScalar.
func addRow(row, b []float32) {
	b = b[:len(row)]
	j := 0
	for ; j+8 <= len(row); j += 8 {
		r, s := (*[8]float32)(row[j:j+8]), (*[8]float32)(b[j:j+8])
		r0, r1 := v4(r, 0), v4(r, 4)
		archsimd.LoadFloat32x4Array(r0).Add(archsimd.LoadFloat32x4Array(v4(s, 0))).StoreArray(r0)
		archsimd.LoadFloat32x4Array(r1).Add(archsimd.LoadFloat32x4Array(v4(s, 4))).StoreArray(r1)
	}
	addRowScalar(row[j:], b[j:])
}

// axpy is axpyScalar: y[j] + (v*x[j] rounded), lane by lane.
func axpy(y []float32, v float32, x []float32) {
	x = x[:len(y)]
	vv := archsimd.BroadcastFloat32x4(v)
	j := 0
	for ; j+8 <= len(y); j += 8 {
		r, s := (*[8]float32)(y[j:j+8]), (*[8]float32)(x[j:j+8])
		r0, r1 := v4(r, 0), v4(r, 4)
		archsimd.LoadFloat32x4Array(r0).Add(vv.Mul(archsimd.LoadFloat32x4Array(v4(s, 0)))).StoreArray(r0)
		archsimd.LoadFloat32x4Array(r1).Add(vv.Mul(archsimd.LoadFloat32x4Array(v4(s, 4)))).StoreArray(r1)
	}
	axpyScalar(y[j:], v, x[j:])
}
