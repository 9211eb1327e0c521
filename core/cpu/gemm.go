package cpu

// The blocked GEMM behind MatMul and Conv, in the style of Goto and van de
// Geijn: B is packed once into column panels of gemmNR, each row block of
// A (gemmMC rows) is packed into row panels of gemmMR for every depth block
// of gemmKC, and a register-tiled micro-kernel (kernel.go) multiplies one
// A panel by one B panel. Panels are zero-padded to full tiles and to a
// depth that is a multiple of gemmKU, so the kernel never sees an edge;
// the store clips to the real tile. Accumulation is float32.
//
// The micro-tile (gemmMR x gemmNR, the kernel and packRowsA) depends on
// the build: 3x3 scalar (kernel.go), 4x8 with wasm SIMD
// (kernel_simd_wasm.go), 4x32 with AVX-512 or AVX2 on amd64
// (kernel_simd_amd64.go). Every kernel computes each C[i][j] of a depth
// block as the sum over the block's depths, in order, of the float32
// products, starting from zero, and adds the blocks' sums in order; the
// tile shape only decides which sums run side by side, so every build
// gives the same bits (TestGEMMSummationOrder).
const (
	gemmKU = 4   // unrolling of the kernel's depth loop
	gemmKC = 256 // depth block: an A and a B panel (at most 8 KiB each) stay in L1
	gemmMC = 96  // rows per packed A block (a multiple of every gemmMR): 96x256 floats (96 KiB) stay in L2
)

// mat is a strided matrix view: element (i, j) is d[i*rs + j*cs]. A
// transposed operand is the same data with rs and cs swapped.
type mat struct {
	d      []float32
	rs, cs int
}

// packedB is the right operand of a GEMM, k x n, packed for the kernel:
// depth block kb (rows k0 = kb*gemmKC ...) holds ceil(n/gemmNR) panels one
// after the other, and panel jp stores, for each depth p < kcp, the
// gemmNR values B[k0+p][jp*gemmNR + c] (zero beyond k or n).
type packedB struct {
	k, n int
	data []float32
}

// panels is the number of gemmNR-wide column panels.
func (pb *packedB) panels() int { return (pb.n + gemmNR - 1) / gemmNR }

// roundKU rounds a depth up to a multiple of the kernel's unrolling.
func roundKU(kc int) int { return (kc + gemmKU - 1) / gemmKU * gemmKU }

// packB packs the k x n matrix b. A row-major b (the weights of a conv)
// is read row by row, three columns at a time into each panel: reading it
// column by column, one cache line per value, cost 5 ns a value in js/wasm.
func packB(b mat, k, n int) *packedB {
	pb := &packedB{k: k, n: n}
	np := pb.panels()
	size := 0
	for k0 := 0; k0 < k; k0 += gemmKC {
		size += np * gemmNR * roundKU(min(gemmKC, k-k0))
	}
	pb.data = getScratch(size)
	clear(pb.data)
	off := 0
	for k0 := 0; k0 < k; k0 += gemmKC {
		kc := min(gemmKC, k-k0)
		kcp := roundKU(kc)
		if b.cs == 1 {
			packRowsB(pb.data[off:off+np*kcp*gemmNR], b.d[k0*b.rs:], b.rs, kc, kcp, n)
			off += np * kcp * gemmNR
			continue
		}
		for jp := 0; jp < np; jp++ {
			j0 := jp * gemmNR
			panel := pb.data[off : off+kcp*gemmNR]
			for c := 0; c < min(gemmNR, n-j0); c++ {
				src := b.d[k0*b.rs+(j0+c)*b.cs:]
				for p, s := 0, 0; p < kc; p, s = p+1, s+b.rs {
					panel[p*gemmNR+c] = src[s]
				}
			}
			off += kcp * gemmNR
		}
	}
	return pb
}

// release hands the packed values back to the scratch pool.
func (pb *packedB) release() {
	putScratch(pb.data)
	pb.data = nil
}

// packRowsB packs kc rows of n values, row p at src[p*rs:], into the
// panels of dst (kcp*gemmNR values each, left zero beyond n).
func packRowsB(dst, src []float32, rs, kc, kcp, n int) {
	full := n / gemmNR
	psize := kcp * gemmNR
	for p := 0; p < kc; p++ {
		row := src[p*rs : p*rs+n]
		o := p * gemmNR
		for jp := 0; jp < full; jp++ {
			*(*[gemmNR]float32)(dst[o : o+gemmNR]) = *(*[gemmNR]float32)(row[jp*gemmNR : jp*gemmNR+gemmNR])
			o += psize
		}
		for c := full * gemmNR; c < n; c++ {
			dst[o+c-full*gemmNR] = row[c]
		}
	}
}

// packA packs rows [i0, i0+mc) and depths [k0, k0+kc) of a into dst as
// gemmMR-row panels: panel ip stores, for each depth p < kcp, the values
// A[i0+ip*gemmMR+r][k0+p], zero beyond the block (dst is reused, so a
// panel with padding is cleared first).
func packA(dst []float32, a mat, i0, mc, k0, kc, kcp int) {
	mp := (mc + gemmMR - 1) / gemmMR
	for ip := 0; ip < mp; ip++ {
		panel := dst[ip*kcp*gemmMR : (ip+1)*kcp*gemmMR]
		i := i0 + ip*gemmMR
		rows := min(gemmMR, mc-ip*gemmMR)
		if rows < gemmMR || kc < kcp {
			clear(panel)
		}
		if rows == gemmMR && a.cs == 1 {
			packRowsA(panel, a.d[i*a.rs+k0:], a.rs, kc)
			continue
		}
		for r := 0; r < rows; r++ {
			src := a.d[(i+r)*a.rs+k0*a.cs:]
			for p, s := 0, 0; p < kc; p, s = p+1, s+a.cs {
				panel[p*gemmMR+r] = src[s]
			}
		}
	}
}

// gemmBufLen is the length of the A packing buffer that mul needs.
func gemmBufLen(k int) int {
	mp := (gemmMC + gemmMR - 1) / gemmMR
	return mp * gemmMR * roundKU(min(gemmKC, k))
}

// mul sets C = ep(A x B) for the m x k matrix a (k >= 1): C's row i is
// c[i*ldc : i*ldc+n]. abuf is scratch of at least gemmBufLen(k) elements.
// Each gemmMC-row block of A is packed per depth block; then, per B
// panel (which stays in L1), one kernel call runs down the A panels (in L2).
// The first depth block stores the tiles, later ones add to them, the last
// adds the bias as it stores, and the activation runs on the block's rows
// once they are complete.
func (pb *packedB) mul(a mat, m int, c []float32, ldc int, ep epilogue, abuf []float32) {
	n, np := pb.n, pb.panels()
	for i0 := 0; i0 < m; i0 += gemmMC {
		mc := min(gemmMC, m-i0)
		mp := (mc + gemmMR - 1) / gemmMR
		boff := 0
		for k0 := 0; k0 < pb.k; k0 += gemmKC {
			kc := min(gemmKC, pb.k-k0)
			kcp := roundKU(kc)
			psize := kcp * gemmMR
			packA(abuf, a, i0, mc, k0, kc, kcp)
			for jp := 0; jp < np; jp++ {
				bp := pb.data[boff : boff+kcp*gemmNR]
				boff += kcp * gemmNR
				j0 := jp * gemmNR
				cols := min(gemmNR, n-j0)
				var bias []float32
				if ep.bias != nil && k0+kc == pb.k {
					bias = ep.bias[j0 : j0+cols]
				}
				kernel(abuf[:mp*psize], bp, mp, mc, cols, c[i0*ldc+j0:], ldc, k0 > 0, bias)
			}
		}
		for i := i0; i < i0+mc; i++ {
			ep.activate(c[i*ldc : i*ldc+n])
		}
	}
}

// storeTile writes the rows x cols corner of the micro-tile t into c
// (row stride ldc), adding to what c holds when acc is set, then adding
// bias[j] to column j when bias is not nil.
func storeTile(c []float32, ldc int, t *[gemmMR * gemmNR]float32, rows, cols int, acc bool, bias []float32) {
	for r := 0; r < rows; r++ {
		row := c[r*ldc : r*ldc+cols]
		tr := t[r*gemmNR : r*gemmNR+cols]
		for j, v := range tr {
			if acc {
				v += row[j]
			}
			if bias != nil {
				v += bias[j]
			}
			row[j] = v
		}
	}
}

// gemm sets the m x n matrix C = ep(A x B) for the m x k matrix a and the
// k x n matrix b (k >= 1); C's row i is c[i*ldc : i*ldc+n].
func gemm(m, n, k int, a, b mat, c []float32, ldc int, ep epilogue) {
	if m <= gemvMaxRows {
		gemv(m, n, k, a, b, c, ldc, ep)
		return
	}
	pb := packB(b, k, n)
	abuf := getScratch(gemmBufLen(k))
	pb.mul(a, m, c, ldc, ep, abuf)
	putScratch(abuf)
	pb.release()
}

// gemvMaxRows is the most rows of A that gemv takes instead of the packed
// GEMM: below one micro-tile height most of each tile would be padding,
// and packing B (k x n values) costs as much as the product itself.
// It does not follow gemmMR: gemv sums all depths in one run where the
// GEMM adds gemmKC blocks, so which products take gemv must not depend
// on the build.
const gemvMaxRows = 2

// gemv sets the m x n matrix C = ep(A x B) like gemm, for few rows of A,
// reading B in place: each C[i][j] is the sum over p, in order, of
// A[i][p] * B[p][j] in float32. With B row-major (b.cs == 1) it adds
// A[i][p] times row p of B to row i of C, four columns per step;
// otherwise (B transposed) it takes one dot product per column.
func gemv(m, n, k int, a, b mat, c []float32, ldc int, ep epilogue) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		clear(row)
		switch {
		case b.cs == 1:
			for p := 0; p < k; p++ {
				axpy(row, a.d[i*a.rs+p*a.cs], b.d[p*b.rs:p*b.rs+n])
			}
		default:
			for j := 0; j < n; j++ {
				var s float32
				for p := 0; p < k; p++ {
					s += float32(a.d[i*a.rs+p*a.cs] * b.d[p*b.rs+j*b.cs])
				}
				row[j] = s
			}
		}
		ep.apply(row)
	}
}

// axpyScalar adds v*x[j] (rounded) to y[j] for every j, four per step.
func axpyScalar(y []float32, v float32, x []float32) {
	x = x[:len(y)]
	j := 0
	for ; j+4 <= len(y); j += 4 {
		r, s := (*[4]float32)(y[j:j+4]), (*[4]float32)(x[j:j+4])
		r[0], r[1], r[2], r[3] = r[0]+float32(v*s[0]), r[1]+float32(v*s[1]), r[2]+float32(v*s[2]), r[3]+float32(v*s[3])
	}
	for ; j < len(y); j++ {
		y[j] += float32(v * x[j])
	}
}
