//go:build goexperiment.simd && wasm

package cpu

import "simd/archsimd"

// The wasm SIMD micro-tile (GOEXPERIMENT=simd): 4 rows by 8 columns, two
// f32x4 vectors per row, eight accumulators. Per depth it loads the B
// panel's two vectors and broadcasts four A values: 16 flops per 6 loads.
const (
	gemmMR = 4 // rows of the micro-tile (A panel height)
	gemmNR = 8 // columns of the micro-tile (B panel width)
)

// kernel is kernel3x3 (kernel.go) for a 4x8 tile with wasm SIMD: tile
// ip, t[r][j] = sum over depths p, in order, of a[ip][p*4+r] *
// b[p*8+j], is stored into c[(ip*4+r)*ldc + j] (added to it when acc,
// then bias[j] added when bias is not nil) for rows ip*4+r < rows and
// columns j < cols. Each lane multiplies, rounds, then adds, as the scalar
// kernel does (f32x4.mul then f32x4.add: wasm has no fused multiply-add),
// so the sums are the scalar ones bit for bit. Measured in js/wasm under
// Node (kernel alone, Go 1.27.3): see README's benchmark table.
func kernel(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	psize := len(b) / gemmNR * gemmMR
	for ip := 0; ip < mp; ip++ {
		a := a[ip*psize : (ip+1)*psize]
		b := b[:len(a)*2]
		var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x4
		for len(a) >= 16 && len(b) >= 32 {
			aa := (*[16]float32)(a)
			bb := (*[32]float32)(b)
			var b0, b1, ar archsimd.Float32x4
			b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[0:4]))
			b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[4:8]))
			ar = archsimd.BroadcastFloat32x4(aa[0])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[1])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[2])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[3])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[8:12]))
			b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[12:16]))
			ar = archsimd.BroadcastFloat32x4(aa[4])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[5])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[6])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[7])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[16:20]))
			b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[20:24]))
			ar = archsimd.BroadcastFloat32x4(aa[8])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[9])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[10])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[11])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[24:28]))
			b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[28:32]))
			ar = archsimd.BroadcastFloat32x4(aa[12])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[13])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[14])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x4(aa[15])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			a, b = a[16:], b[32:]
		}
		i := ip * gemmMR
		ci := c[i*ldc:]
		if rows-i >= gemmMR && cols == gemmNR {
			var b0, b1 archsimd.Float32x4
			if bias != nil {
				bb := (*[8]float32)(bias)
				b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[0:]))
				b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bb[4:]))
			}
			storeRow8(ci, c00, c01, acc, bias != nil, b0, b1)
			storeRow8(ci[ldc:], c10, c11, acc, bias != nil, b0, b1)
			storeRow8(ci[2*ldc:], c20, c21, acc, bias != nil, b0, b1)
			storeRow8(ci[3*ldc:], c30, c31, acc, bias != nil, b0, b1)
			continue
		}
		var t [gemmMR * gemmNR]float32
		c00.StoreArray((*[4]float32)(t[0:]))
		c01.StoreArray((*[4]float32)(t[4:]))
		c10.StoreArray((*[4]float32)(t[8:]))
		c11.StoreArray((*[4]float32)(t[12:]))
		c20.StoreArray((*[4]float32)(t[16:]))
		c21.StoreArray((*[4]float32)(t[20:]))
		c30.StoreArray((*[4]float32)(t[24:]))
		c31.StoreArray((*[4]float32)(t[28:]))
		storeTile(ci, ldc, &t, min(gemmMR, rows-i), cols, acc, bias)
	}
}

// storeRow8 stores one full row of a tile, v0 and v1, into c[0:8]: c +
// v when acc (the stored sum first, as storeTile adds), then + bias when
// hasBias.
func storeRow8(c []float32, v0, v1 archsimd.Float32x4, acc, hasBias bool, b0, b1 archsimd.Float32x4) {
	r := (*[8]float32)(c)
	r0, r1 := (*[4]float32)(r[0:]), (*[4]float32)(r[4:])
	if acc {
		v0 = archsimd.LoadFloat32x4Array(r0).Add(v0)
		v1 = archsimd.LoadFloat32x4Array(r1).Add(v1)
	}
	if hasBias {
		v0 = v0.Add(b0)
		v1 = v1.Add(b1)
	}
	v0.StoreArray(r0)
	v1.StoreArray(r1)
}

// packRowsA interleaves four rows of length kc, src[r*rs : r*rs+kc], into
// panel: panel[p*4+r] = row r at p.
func packRowsA(panel, src []float32, rs, kc int) {
	s0, s1, s2, s3 := src[:kc:kc], src[rs:rs+kc:rs+kc], src[2*rs:2*rs+kc:2*rs+kc], src[3*rs:3*rs+kc:3*rs+kc]
	panel = panel[:4*kc]
	p := 0
	for ; p+4 <= kc; p += 4 {
		d := (*[16]float32)(panel[4*p : 4*p+16])
		a, b, c, e := (*[4]float32)(s0[p:p+4]), (*[4]float32)(s1[p:p+4]), (*[4]float32)(s2[p:p+4]), (*[4]float32)(s3[p:p+4])
		d[0], d[1], d[2], d[3] = a[0], b[0], c[0], e[0]
		d[4], d[5], d[6], d[7] = a[1], b[1], c[1], e[1]
		d[8], d[9], d[10], d[11] = a[2], b[2], c[2], e[2]
		d[12], d[13], d[14], d[15] = a[3], b[3], c[3], e[3]
	}
	for ; p < kc; p++ {
		d := (*[4]float32)(panel[4*p : 4*p+4])
		d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
	}
}
