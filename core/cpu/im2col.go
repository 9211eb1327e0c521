package cpu

// im2col writes rows [r0, r0+rows) of group grp's patch matrix into buf,
// row-major with kg = K0*K1*K2*cinG columns. Row r is output pixel r
// (n, oz, oy, ox flattened in that order, like dst) and column
// ((kz*K1+ky)*K2+kx)*cinG + ci, the row order of the weights
// [K0, K1, K2, cinG, Cout], holds
//
//	x[n, oz*s0-p0+kz*d0, oy*s1-p1+ky*d1, ox*s2-p2+kx*d2, grp*cinG+ci]
//
// or zero where that position is outside the input (padding).
func im2col(buf, xd []float32, g *geom, cinG, grp, r0, rows int) {
	k0, k1, k2 := g.k[0], g.k[1], g.k[2]
	kg := k0 * k1 * k2 * cinG
	run := k2 * cinG // one kernel row (all kx) of a patch
	// contiguous: one kernel row inside the input is one run of x.
	contiguous := g.dil[2] == 1 && cinG == g.cin
	// The output position of row r0, then stepped row by row.
	ox := r0 % g.out[2]
	oy := r0 / g.out[2] % g.out[1]
	oz := r0 / (g.out[2] * g.out[1]) % g.out[0]
	n := r0 / (g.out[2] * g.out[1] * g.out[0])
	for i := 0; i < rows; i++ {
		dst := buf[i*kg : (i+1)*kg]
		col := 0
		ix0 := ox*g.stride[2] - g.padB[2]
		for kz := 0; kz < k0; kz++ {
			iz := oz*g.stride[0] - g.padB[0] + kz*g.dil[0]
			for ky := 0; ky < k1; ky++ {
				iy := oy*g.stride[1] - g.padB[1] + ky*g.dil[1]
				seg := dst[col : col+run]
				col += run
				if iz < 0 || iz >= g.in[0] || iy < 0 || iy >= g.in[1] {
					clear(seg)
					continue
				}
				base := ((n*g.in[0]+iz)*g.in[1] + iy) * g.in[2]
				if contiguous && ix0 >= 0 && ix0+k2 <= g.in[2] {
					copy(seg, xd[(base+ix0)*g.cin:])
					continue
				}
				for kx := 0; kx < k2; kx++ {
					s := seg[kx*cinG : (kx+1)*cinG]
					ix := ix0 + kx*g.dil[2]
					if ix < 0 || ix >= g.in[2] {
						clear(s)
						continue
					}
					copy(s, xd[(base+ix)*g.cin+grp*cinG:])
				}
			}
		}
		// Step to the next output pixel.
		if ox++; ox == g.out[2] {
			ox = 0
			if oy++; oy == g.out[1] {
				oy = 0
				if oz++; oz == g.out[0] {
					oz = 0
					n++
				}
			}
		}
	}
}
