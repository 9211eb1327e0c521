//go:build goexperiment.simd && wasm

package cpu

import "simd/archsimd"

// depthwiseRow is depthwiseRowScalar (depthwise.go) with wasm SIMD: the
// same sweeps of three taps, eight channels per step in two f32x4
// vectors, each adding (p0 + p1) + p2 of the rounded products to the row,
// so the results are the scalar ones bit for bit.
func depthwiseRow(row, xd, wd, zero []float32, taps []int) {
	c := len(row)
	row = row[:c:c]
	for t := 0; t < len(taps); t += 6 {
		x0, w0 := xd[taps[t]*c:][:c:c], wd[taps[t+1]*c:][:c:c]
		x1, w1, x2, w2 := zero, zero, zero, zero
		if t+2 < len(taps) {
			x1, w1 = xd[taps[t+2]*c:], wd[taps[t+3]*c:]
		}
		if t+4 < len(taps) {
			x2, w2 = xd[taps[t+4]*c:], wd[taps[t+5]*c:]
		}
		x1, w1, x2, w2 = x1[:c:c], w1[:c:c], x2[:c:c], w2[:c:c]
		i := 0
		for ; i+8 <= c; i += 8 {
			r := (*[8]float32)(row[i : i+8])
			a0, b0 := (*[8]float32)(x0[i:i+8]), (*[8]float32)(w0[i:i+8])
			a1, b1 := (*[8]float32)(x1[i:i+8]), (*[8]float32)(w1[i:i+8])
			a2, b2 := (*[8]float32)(x2[i:i+8]), (*[8]float32)(w2[i:i+8])
			r0, r1 := (*[4]float32)(r[0:4]), (*[4]float32)(r[4:8])
			p0 := ld4(a0, 0).Mul(ld4(b0, 0))
			q0 := ld4(a0, 4).Mul(ld4(b0, 4))
			p1 := ld4(a1, 0).Mul(ld4(b1, 0))
			q1 := ld4(a1, 4).Mul(ld4(b1, 4))
			p2 := ld4(a2, 0).Mul(ld4(b2, 0))
			q2 := ld4(a2, 4).Mul(ld4(b2, 4))
			archsimd.LoadFloat32x4Array(r0).Add(p0.Add(p1).Add(p2)).StoreArray(r0)
			archsimd.LoadFloat32x4Array(r1).Add(q0.Add(q1).Add(q2)).StoreArray(r1)
		}
		for ; i < c; i++ {
			row[i] += float32(x0[i]*w0[i]) + float32(x1[i]*w1[i]) + float32(x2[i]*w2[i])
		}
	}
}

// ld4 loads lanes o to o+3 of v.
func ld4(v *[8]float32, o int) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(v[o : o+4]))
}
