//go:build goexperiment.simd && wasm

package cpu

import "simd/archsimd"

// l4 loads s[c : c+4].
func l4(s []float32, c int) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(s[c : c+4]))
}

// s4 stores v into s[c : c+4].
func s4(v archsimd.Float32x4, s []float32, c int) { v.StoreArray((*[4]float32)(s[c : c+4])) }

// winoInputTile is winoInputTileScalar (winograd.go) four channels at a
// time with wasm SIMD: the same additions in the same order in each lane.
func winoInputTile(out, d *[16][]float32) {
	n := len(out[0])
	d00, d01, d02, d03 := d[0][:n], d[1][:n], d[2][:n], d[3][:n]
	d10, d11, d12, d13 := d[4][:n], d[5][:n], d[6][:n], d[7][:n]
	d20, d21, d22, d23 := d[8][:n], d[9][:n], d[10][:n], d[11][:n]
	d30, d31, d32, d33 := d[12][:n], d[13][:n], d[14][:n], d[15][:n]
	v00, v01, v02, v03 := out[0][:n], out[1][:n], out[2][:n], out[3][:n]
	v10, v11, v12, v13 := out[4][:n], out[5][:n], out[6][:n], out[7][:n]
	v20, v21, v22, v23 := out[8][:n], out[9][:n], out[10][:n], out[11][:n]
	v30, v31, v32, v33 := out[12][:n], out[13][:n], out[14][:n], out[15][:n]
	c := 0
	for ; c+4 <= n; c += 4 {
		x1, x2 := l4(d01, c), l4(d21, c)
		e11 := l4(d11, c)
		r01, r21 := x1.Sub(x2), x2.Sub(e11)
		r11, r31 := e11.Add(x2), e11.Sub(l4(d31, c))
		x1, x2 = l4(d02, c), l4(d22, c)
		e12 := l4(d12, c)
		r02, r22 := x1.Sub(x2), x2.Sub(e12)
		r12, r32 := e12.Add(x2), e12.Sub(l4(d32, c))
		s4(r01.Add(r02), v01, c)
		s4(r02.Sub(r01), v02, c)
		s4(r11.Add(r12), v11, c)
		s4(r12.Sub(r11), v12, c)
		s4(r21.Add(r22), v21, c)
		s4(r22.Sub(r21), v22, c)
		s4(r31.Add(r32), v31, c)
		s4(r32.Sub(r31), v32, c)
		x1, x2 = l4(d00, c), l4(d20, c)
		e10 := l4(d10, c)
		s4(x1.Sub(x2).Sub(r02), v00, c)
		s4(x2.Sub(e10).Sub(r22), v20, c)
		s4(e10.Add(x2).Sub(r12), v10, c)
		s4(e10.Sub(l4(d30, c)).Sub(r32), v30, c)
		x1, x2 = l4(d03, c), l4(d23, c)
		e13 := l4(d13, c)
		s4(r01.Sub(x1.Sub(x2)), v03, c)
		s4(r21.Sub(x2.Sub(e13)), v23, c)
		s4(r11.Sub(e13.Add(x2)), v13, c)
		s4(r31.Sub(e13.Sub(l4(d33, c))), v33, c)
	}
	winoInputTileScalar(out, d, c)
}

// winoOutputTile is winoOutputTileScalar four channels at a time with
// wasm SIMD: the same additions in the same order in each lane.
func winoOutputTile(y *[4][]float32, m *[16][]float32, bias []float32) {
	n := len(bias)
	m00, m01, m02, m03 := m[0][:n], m[1][:n], m[2][:n], m[3][:n]
	m10, m11, m12, m13 := m[4][:n], m[5][:n], m[6][:n], m[7][:n]
	m20, m21, m22, m23 := m[8][:n], m[9][:n], m[10][:n], m[11][:n]
	m30, m31, m32, m33 := m[12][:n], m[13][:n], m[14][:n], m[15][:n]
	y00, y01, y10, y11 := y[0][:n], y[1][:n], y[2][:n], y[3][:n]
	o := 0
	for ; o+4 <= n; o += 4 {
		e10, e20 := l4(m10, o), l4(m20, o)
		a0, b0 := l4(m00, o).Add(e10).Add(e20), e10.Sub(e20).Sub(l4(m30, o))
		e11, e21 := l4(m11, o), l4(m21, o)
		a1, b1 := l4(m01, o).Add(e11).Add(e21), e11.Sub(e21).Sub(l4(m31, o))
		e12, e22 := l4(m12, o), l4(m22, o)
		a2, b2 := l4(m02, o).Add(e12).Add(e22), e12.Sub(e22).Sub(l4(m32, o))
		e13, e23 := l4(m13, o), l4(m23, o)
		a3, b3 := l4(m03, o).Add(e13).Add(e23), e13.Sub(e23).Sub(l4(m33, o))
		bo := l4(bias, o)
		s4(a0.Add(a1).Add(a2).Add(bo), y00, o)
		s4(a1.Sub(a2).Sub(a3).Add(bo), y01, o)
		s4(b0.Add(b1).Add(b2).Add(bo), y10, o)
		s4(b1.Sub(b2).Sub(b3).Add(bo), y11, o)
	}
	winoOutputTileScalar(y, m, bias, o)
}
