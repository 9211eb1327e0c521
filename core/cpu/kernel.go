//go:build !(goexperiment.simd && (wasm || amd64))

package cpu

// The scalar micro-tile: 3x3, for every build without a SIMD kernel.
const (
	gemmMR = 3 // rows of the micro-tile (A panel height)
	gemmNR = 3 // columns of the micro-tile (B panel width)
)

// kernel is the build's micro-kernel (see kernel3x3).
func kernel(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	kernel3x3(a, b, mp, rows, cols, c, ldc, acc, bias)
}

// kernel3x3 multiplies each of the mp packed A panels of a (len(b)
// floats each) by the packed B panel b and writes the 3x3 tiles into c:
// tile ip, t[r][j] = sum over depths p, in order, of a[ip][p*3+r] *
// b[p*3+j], accumulated in float32, is stored into c[(ip*3+r)*ldc + j]
// (added to it when acc, then bias[j] added when bias is not nil) for the
// rows ip*3+r < rows and columns j < cols.
// len(b) must be a multiple of 12 (the depth is padded to a multiple of
// gemmKU = 4). One call covers a whole row block: js/wasm pays dearly for
// each call, and small depths (MobileNetV2's 16 to 160) made the call and
// the tile's round trip through memory a large part of the work. The
// depth loop advances the panels rather than indexing them: 8% faster in
// js/wasm under Node, 6% natively.
//
// Shape and unrolling were measured (kernel alone, L1-resident, Go 1.26):
// 3x3 unrolled 4 ran at ~10 GFLOP/s native and ~7 in js/wasm under Node;
// 3x4 and 4x4 tiles ran slower natively (6.3 and 5.4) because the Go
// scheduler hoists all products of the last unrolled step above their
// adds and the 15 float registers Go allocates on amd64 then spill;
// without the unrolling every tile spilled (3.5-4.7 GFLOP/s). In js/wasm
// the shape matters little (4x3 7.4, 3x4 6.9, 6x2 7.1, 4x4 6.2 GFLOP/s):
// Go's wasm port spends an add and a wrap on the address of every float
// load, has 16 float32 registers, and V8 about as many on x86-64.
//
// The float32 conversions forbid fusing a*b+c into one FMA, which Go does
// on arm64 and with GOAMD64=v3 (but never in js/wasm): the sums must
// round alike on every GOARCH.
func kernel3x3(a, b []float32, mp, rows, cols int, c []float32, ldc int, acc bool, bias []float32) {
	psize := len(b)
	for ip := 0; ip < mp; ip++ {
		a := a[ip*psize : (ip+1)*psize]
		var c00, c01, c02, c10, c11, c12, c20, c21, c22 float32
		b := b[:len(a)]
		for len(a) >= 12 && len(b) >= 12 {
			aa := (*[12]float32)(a)
			bb := (*[12]float32)(b)
			b0 := bb[0]
			b1 := bb[1]
			b2 := bb[2]
			a0 := aa[0]
			c00 += float32(a0 * b0)
			c01 += float32(a0 * b1)
			c02 += float32(a0 * b2)
			a1 := aa[1]
			c10 += float32(a1 * b0)
			c11 += float32(a1 * b1)
			c12 += float32(a1 * b2)
			a2 := aa[2]
			c20 += float32(a2 * b0)
			c21 += float32(a2 * b1)
			c22 += float32(a2 * b2)
			b0 = bb[3]
			b1 = bb[4]
			b2 = bb[5]
			a0 = aa[3]
			c00 += float32(a0 * b0)
			c01 += float32(a0 * b1)
			c02 += float32(a0 * b2)
			a1 = aa[4]
			c10 += float32(a1 * b0)
			c11 += float32(a1 * b1)
			c12 += float32(a1 * b2)
			a2 = aa[5]
			c20 += float32(a2 * b0)
			c21 += float32(a2 * b1)
			c22 += float32(a2 * b2)
			b0 = bb[6]
			b1 = bb[7]
			b2 = bb[8]
			a0 = aa[6]
			c00 += float32(a0 * b0)
			c01 += float32(a0 * b1)
			c02 += float32(a0 * b2)
			a1 = aa[7]
			c10 += float32(a1 * b0)
			c11 += float32(a1 * b1)
			c12 += float32(a1 * b2)
			a2 = aa[8]
			c20 += float32(a2 * b0)
			c21 += float32(a2 * b1)
			c22 += float32(a2 * b2)
			b0 = bb[9]
			b1 = bb[10]
			b2 = bb[11]
			a0 = aa[9]
			c00 += float32(a0 * b0)
			c01 += float32(a0 * b1)
			c02 += float32(a0 * b2)
			a1 = aa[10]
			c10 += float32(a1 * b0)
			c11 += float32(a1 * b1)
			c12 += float32(a1 * b2)
			a2 = aa[11]
			c20 += float32(a2 * b0)
			c21 += float32(a2 * b1)
			c22 += float32(a2 * b2)
			a, b = a[12:], b[12:]
		}
		i := ip * gemmMR
		ci := c[i*ldc:]
		if rows-i >= 3 && cols == 3 {
			r0, r1, r2 := (*[3]float32)(ci[:3]), (*[3]float32)(ci[ldc:ldc+3]), (*[3]float32)(ci[2*ldc:2*ldc+3])
			if acc {
				c00, c01, c02 = r0[0]+c00, r0[1]+c01, r0[2]+c02
				c10, c11, c12 = r1[0]+c10, r1[1]+c11, r1[2]+c12
				c20, c21, c22 = r2[0]+c20, r2[1]+c21, r2[2]+c22
			}
			if bias != nil {
				bb := (*[3]float32)(bias)
				c00, c01, c02 = c00+bb[0], c01+bb[1], c02+bb[2]
				c10, c11, c12 = c10+bb[0], c11+bb[1], c12+bb[2]
				c20, c21, c22 = c20+bb[0], c21+bb[1], c22+bb[2]
			}
			r0[0], r0[1], r0[2] = c00, c01, c02
			r1[0], r1[1], r1[2] = c10, c11, c12
			r2[0], r2[1], r2[2] = c20, c21, c22
			continue
		}
		t := [gemmMR * gemmNR]float32{c00, c01, c02, c10, c11, c12, c20, c21, c22}
		storeTile(ci, ldc, &t, min(gemmMR, rows-i), cols, acc, bias)
	}
}

// packRowsA packs a full panel of gemmMR rows (packRows3).
func packRowsA(panel, src []float32, rs, kc int) { packRows3(panel, src, rs, kc) }

// packRows3 interleaves three rows of length kc, src[0:kc], src[rs:rs+kc]
// and src[2rs:2rs+kc], into panel: panel[p*3+r] = row r at p. Four depths
// per step: js/wasm pays a dispatch per loop iteration.
func packRows3(panel, src []float32, rs, kc int) {
	s0, s1, s2 := src[:kc:kc], src[rs:rs+kc:rs+kc], src[2*rs:2*rs+kc:2*rs+kc]
	panel = panel[:3*kc]
	p := 0
	for ; p+4 <= kc; p += 4 {
		d := (*[12]float32)(panel[3*p : 3*p+12])
		a, b, c := (*[4]float32)(s0[p:p+4]), (*[4]float32)(s1[p:p+4]), (*[4]float32)(s2[p:p+4])
		d[0], d[1], d[2] = a[0], b[0], c[0]
		d[3], d[4], d[5] = a[1], b[1], c[1]
		d[6], d[7], d[8] = a[2], b[2], c[2]
		d[9], d[10], d[11] = a[3], b[3], c[3]
	}
	for ; p < kc; p++ {
		d := (*[3]float32)(panel[3*p : 3*p+3])
		d[0], d[1], d[2] = s0[p], s1[p], s2[p]
	}
}
