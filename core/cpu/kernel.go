package cpu

// kernel3x3 sets the 3x3 micro-tile t to the product of one packed A
// panel and one packed B panel: t[r*3+c] = sum over p, in order, of
// a[p*3+r] * b[p*3+c], accumulated in float32. len(a) must equal len(b)
// and be a multiple of 12 (the depth is padded to a multiple of gemmKU = 4).
//
// Shape and unrolling were measured (kernel alone, L1-resident, Go 1.26):
// 3x3 unrolled 4 ran at ~10 GFLOP/s native and ~6 in js/wasm under Node;
// 3x4 and 4x4 tiles ran slower natively (6.3 and 5.4) because the Go
// scheduler hoists all products of the last unrolled step above their
// adds and the 15 float registers Go allocates on amd64 then spill; without the
// unrolling every tile spilled (3.5-4.7 GFLOP/s).
//
// The float32 conversions forbid fusing a*b+c into one FMA, which Go does
// on arm64 and with GOAMD64=v3 (but never in js/wasm): the sums must
// round alike on every GOARCH.
func kernel3x3(a, b []float32, t *[9]float32) {
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 float32
	b = b[:len(a)]
	for p := 0; p+12 <= len(a); p += 12 {
		aa := (*[12]float32)(a[p : p+12])
		bb := (*[12]float32)(b[p : p+12])
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
	}
	t[0], t[1], t[2] = c00, c01, c02
	t[3], t[4], t[5] = c10, c11, c12
	t[6], t[7], t[8] = c20, c21, c22
}
