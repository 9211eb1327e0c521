//go:build goexperiment.simd && amd64

package cpu

import "simd/archsimd"

// The amd64 SIMD micro-tile (GOEXPERIMENT=simd): 4 rows by 32 columns,
// run with AVX-512 or AVX2 as the CPU has them (checked once, at start),
// or by kernelGeneric on a CPU with neither. Each lane multiplies, rounds,
// then adds (VMULPS, VADDPS: never a fused multiply-add), summing the
// depths in order from zero, so every kernel gives the scalar kernel's
// bits (TestGEMMSummationOrder). Go's register allocator spilled
// accumulators of a 6x32 AVX-512 tile (12 accumulators); 4x32 keeps its
// eight in registers and does 12.8 multiply-adds per cycle at best (a
// broadcast, one shuffle, per row and depth), 8x16 10.7.
const (
	gemmMR = 4  // rows of the micro-tile (A panel height)
	gemmNR = 32 // columns of the micro-tile (B panel width)
)

// x86Kernel is the GEMM kernel this CPU runs: "avx512", "avx2" or "".
var x86Kernel = func() string {
	switch {
	case archsimd.X86.AVX512():
		return "avx512"
	case archsimd.X86.AVX2():
		return "avx2"
	}
	return ""
}()

// kernel multiplies packed panels as kernel3x3 (kernel.go) does, for the
// 4x32 tile, with the best kernel of this CPU.
func kernel(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	switch x86Kernel {
	case "avx512":
		kernelAVX512(a, b, mp, rows, cols, c, ldc, acc, bias)
	case "avx2":
		kernelAVX2(a, b, mp, rows, cols, c, ldc, acc, bias)
	default:
		kernelGeneric(a, b, mp, rows, cols, c, ldc, acc, bias)
	}
}

// kernelAVX512 is the 4x32 tile with AVX-512: two Float32x16 per row,
// eight accumulators; depths unrolled by gemmKU = 4.
func kernelAVX512(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	psize := len(b) / gemmNR * gemmMR
	for ip := 0; ip < mp; ip++ {
		a := a[ip*psize : (ip+1)*psize]
		b := b[:len(a)*8]
		var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
		for len(a) >= 16 && len(b) >= 128 {
			aa := (*[16]float32)(a)
			bb := (*[128]float32)(b)
			var b0, b1, ar archsimd.Float32x16
			b0 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[0:16]))
			b1 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[16:32]))
			ar = archsimd.BroadcastFloat32x16(aa[0])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[1])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[2])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[3])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[32:48]))
			b1 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[48:64]))
			ar = archsimd.BroadcastFloat32x16(aa[4])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[5])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[6])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[7])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[64:80]))
			b1 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[80:96]))
			ar = archsimd.BroadcastFloat32x16(aa[8])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[9])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[10])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[11])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			b0 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[96:112]))
			b1 = archsimd.LoadFloat32x16Array((*[16]float32)(bb[112:128]))
			ar = archsimd.BroadcastFloat32x16(aa[12])
			c00 = c00.Add(ar.Mul(b0))
			c01 = c01.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[13])
			c10 = c10.Add(ar.Mul(b0))
			c11 = c11.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[14])
			c20 = c20.Add(ar.Mul(b0))
			c21 = c21.Add(ar.Mul(b1))
			ar = archsimd.BroadcastFloat32x16(aa[15])
			c30 = c30.Add(ar.Mul(b0))
			c31 = c31.Add(ar.Mul(b1))
			a, b = a[16:], b[128:]
		}
		i := ip * gemmMR
		ci := c[i*ldc:]
		if rows-i >= gemmMR && cols == gemmNR {
			var b0, b1 archsimd.Float32x16
			if bias != nil {
				b0 = archsimd.LoadFloat32x16Array((*[16]float32)(bias[0:16]))
				b1 = archsimd.LoadFloat32x16Array((*[16]float32)(bias[16:32]))
			}
			storeRow32(ci, c00, c01, acc, bias != nil, b0, b1)
			storeRow32(ci[ldc:], c10, c11, acc, bias != nil, b0, b1)
			storeRow32(ci[2*ldc:], c20, c21, acc, bias != nil, b0, b1)
			storeRow32(ci[3*ldc:], c30, c31, acc, bias != nil, b0, b1)
			continue
		}
		var t [gemmMR * gemmNR]float32
		c00.StoreArray((*[16]float32)(t[0:16]))
		c01.StoreArray((*[16]float32)(t[16:32]))
		c10.StoreArray((*[16]float32)(t[32:48]))
		c11.StoreArray((*[16]float32)(t[48:64]))
		c20.StoreArray((*[16]float32)(t[64:80]))
		c21.StoreArray((*[16]float32)(t[80:96]))
		c30.StoreArray((*[16]float32)(t[96:112]))
		c31.StoreArray((*[16]float32)(t[112:128]))
		storeTile(ci, ldc, &t, min(gemmMR, rows-i), cols, acc, bias)
	}
}

// storeRow32 stores one full row of an AVX-512 tile, v0 and v1, into
// c[0:32]: c + v when acc (the stored sum first, as storeTile adds), then
// + bias when hasBias.
func storeRow32(c []float32, v0, v1 archsimd.Float32x16, acc, hasBias bool, b0, b1 archsimd.Float32x16) {
	r0, r1 := (*[16]float32)(c[0:16]), (*[16]float32)(c[16:32])
	if acc {
		v0 = archsimd.LoadFloat32x16Array(r0).Add(v0)
		v1 = archsimd.LoadFloat32x16Array(r1).Add(v1)
	}
	if hasBias {
		v0 = v0.Add(b0)
		v1 = v1.Add(b1)
	}
	v0.StoreArray(r0)
	v1.StoreArray(r1)
}

// kernelAVX2 is the 4x32 tile with AVX2, as two 4x16 halves one after
// the other (two Float32x8 per row, eight accumulators each: AVX2 has 16
// vector registers, too few for the whole tile).
func kernelAVX2(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	psize := len(b) / gemmNR * gemmMR
	for ip := 0; ip < mp; ip++ {
		var t [gemmMR * gemmNR]float32
		for h := 0; h < 2; h++ {
			a := a[ip*psize : (ip+1)*psize]
			b := b[h*16 : len(a)*8]
			var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
			for len(a) >= 4 && len(b) >= 16 {
				aa := (*[4]float32)(a)
				bb := (*[16]float32)(b)
				b0 := archsimd.LoadFloat32x8Array((*[8]float32)(bb[0:8]))
				b1 := archsimd.LoadFloat32x8Array((*[8]float32)(bb[8:16]))
				var ar archsimd.Float32x8
				ar = archsimd.BroadcastFloat32x8(aa[0])
				c00 = c00.Add(ar.Mul(b0))
				c01 = c01.Add(ar.Mul(b1))
				ar = archsimd.BroadcastFloat32x8(aa[1])
				c10 = c10.Add(ar.Mul(b0))
				c11 = c11.Add(ar.Mul(b1))
				ar = archsimd.BroadcastFloat32x8(aa[2])
				c20 = c20.Add(ar.Mul(b0))
				c21 = c21.Add(ar.Mul(b1))
				ar = archsimd.BroadcastFloat32x8(aa[3])
				c30 = c30.Add(ar.Mul(b0))
				c31 = c31.Add(ar.Mul(b1))
				a = a[4:]
				if len(b) < 32 {
					break
				}
				b = b[32:]
			}
			th := t[h*16:]
			c00.StoreArray((*[8]float32)(th[0:8]))
			c01.StoreArray((*[8]float32)(th[8:16]))
			c10.StoreArray((*[8]float32)(th[32:40]))
			c11.StoreArray((*[8]float32)(th[40:48]))
			c20.StoreArray((*[8]float32)(th[64:72]))
			c21.StoreArray((*[8]float32)(th[72:80]))
			c30.StoreArray((*[8]float32)(th[96:104]))
			c31.StoreArray((*[8]float32)(th[104:112]))
		}
		i := ip * gemmMR
		storeTile(c[i*ldc:], ldc, &t, min(gemmMR, rows-i), cols, acc, bias)
	}
}

// kernelGeneric is the 4x32 tile in plain Go, for CPUs without AVX2:
// the same sums in the same order, one tile at a time through memory.
func kernelGeneric(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	psize := len(b) / gemmNR * gemmMR
	kcp := len(b) / gemmNR
	for ip := 0; ip < mp; ip++ {
		ap := a[ip*psize : (ip+1)*psize]
		var t [gemmMR * gemmNR]float32
		for p := 0; p < kcp; p++ {
			bp := (*[gemmNR]float32)(b[p*gemmNR : (p+1)*gemmNR])
			for r := 0; r < gemmMR; r++ {
				av := ap[p*gemmMR+r]
				tr := (*[gemmNR]float32)(t[r*gemmNR : (r+1)*gemmNR])
				for j := range tr {
					tr[j] += float32(av * bp[j])
				}
			}
		}
		i := ip * gemmMR
		storeTile(c[i*ldc:], ldc, &t, min(gemmMR, rows-i), cols, acc, bias)
	}
}

// packRowsA interleaves four rows of length kc, src[r*rs : r*rs+kc], into
// panel: panel[p*4+r] = row r at p.
func packRowsA(panel, src []float32, rs, kc int) {
	s0, s1, s2, s3 := src[:kc:kc], src[rs:rs+kc:rs+kc], src[2*rs:2*rs+kc:2*rs+kc], src[3*rs:3*rs+kc:3*rs+kc]
	panel = panel[:4*kc]
	for p := 0; p < kc; p++ {
		d := (*[4]float32)(panel[4*p : 4*p+4])
		d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
	}
}
