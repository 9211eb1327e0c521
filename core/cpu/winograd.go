package cpu

// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray 2016, "Fast
// Algorithms for Convolutional Neural Networks", section 4.1) for 3x3
// convs with stride 1, dilation 1 and one group. Each 2x2 block of output
// pixels (a tile) is, per output channel o,
//
//	Y = A^T [ sum over input channels c of (G g[c,o] G^T) ⊙ (B^T d[c] B) ] A
//
// where d[c] is the tile's 4x4 input window in channel c (zero outside the
// input: that is the padding), g[c,o] the 3x3 filter and ⊙ the
// elementwise product, with
//
//	B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1 1  1  0]
//	      [0  1  1  0]        [1/2  1/2  1/2]          [0 1 -1 -1]
//	      [0 -1  1  0]        [1/2 -1/2  1/2]
//	      [0  1  0 -1]        [ 0    0    1 ]
//
// The sum over c for one of the 16 positions k of the 4x4 product is a
// GEMM: V_k [tiles x Cin] times U_k [Cin x Cout] gives M_k [tiles x Cout].
// So a conv is: transform the weights into the 16 U_k (per call: a cache
// keyed on the weights' memory would go stale when Free recycles it),
// then per block of up to winoTiles tiles transform the input windows
// into the 16 V_k, run the 16 GEMMs of gemm.go, and transform each tile's
// 16 values per channel back into 2x2 outputs, adding the bias and
// applying the activation. A block stores V and M tile by tile (the 16
// rows of a tile together, V_k and M_k strided views): 16 separate
// matrices put the 16 rows a transform touches at equal offsets modulo
// 4 KiB, in one L1 set, and the transforms ran 3-5x slower. It takes 16 multiply-adds per 4 outputs per (c, o) against
// 36 for the direct conv (2.25x fewer), plus transforms that cost
// O(Cin + Cout) per tile.
//
// All arithmetic is float32 in a fixed order, the same on every GOARCH.
// The transforms only add, subtract and halve, so no product could be
// fused into an FMA. The rounding error stays near the direct sum's: on
// random data, at most 1.1e-7 of the sum of |terms| against 1.1e-7 for
// im2col and the GEMM, and 6e-7 of the largest output against 4.4e-7
// (TestWinograd, TestWinogradError).

// winoTiles is the most tiles one block transforms: the rows of each of
// the 16 GEMMs. The 16 V_k and M_k of a block take 16*tiles*(Cin+Cout)
// floats (1.5 MiB at 64 channels in and out), at most winoBlockFloats:
// wider convs take fewer tiles. 192 ran about 5% faster than 96 and 48.
const (
	winoTiles       = 2 * gemmMC
	winoBlockFloats = 1 << 20
)

// winoMinChannels is the fewest input and output channels for which
// convFast takes the Winograd path: per tile the transforms cost
// O(Cin + Cout) against the O(Cin*Cout) multiply-adds saved. At 16 in and
// out it ran 1.5x as fast as im2col natively and about as fast in
// js/wasm; at 8, 1.15x natively and 0.8x in js/wasm (BenchmarkWinograd).
const winoMinChannels = 16

// winoMinSaved is the fewest multiply-adds per (input, output) channel
// pair that Winograd must save over the direct conv, 9 per output pixel
// less 16 per tile, for convFast to take it: the weight transform costs
// about 180 multiply-adds' time per pair in js/wasm (60 ns), 100-150
// natively (20-30 ns). A 7x7 output (16 tiles) saves 185 and was 1.05-1.1x as fast
// in js/wasm, 1.1-1.25x natively; 4x4 saves 80 and was 0.75x and 0.9x.
const winoMinSaved = 160

// winograd reports whether convFast runs g with F(2x2, 3x3): a 3x3 kernel
// (1x3x3 in three dimensions: the depth axis then acts as a batch), stride
// 1, dilation 1, one group, at least winoMinChannels channels in and out,
// and an output large enough to save winoMinSaved multiply-adds per
// channel pair.
func (g *geom) winograd(groups int) bool {
	if groups != 1 || g.cin < winoMinChannels || g.cout < winoMinChannels ||
		g.k != [3]int{1, 3, 3} || g.stride != [3]int{1, 1, 1} || g.dil != [3]int{1, 1, 1} ||
		g.padB[0] != 0 || g.padA[0] != 0 {
		return false
	}
	images := g.n * g.in[0]
	pixels := images * g.out[1] * g.out[2]
	tiles := images * ((g.out[1] + 1) / 2) * ((g.out[2] + 1) / 2)
	return 9*pixels-16*tiles >= winoMinSaved
}

// convWinograd computes what convRef does for a conv that g.winograd
// accepts: od = ep(conv(xd, wd)).
func convWinograd(od, xd, wd []float32, g *geom, ep epilogue) {
	cin, cout := g.cin, g.cout
	images := g.n * g.in[0] // a 1x3x3 kernel convolves each depth slice alone
	th, tw := (g.out[1]+1)/2, (g.out[2]+1)/2
	tiles := images * th * tw

	// U_k = G g G^T for every (c, o), packed for the GEMM.
	var pbs [16]*packedB
	defer putScratch(winoWeights(&pbs, wd, cin, cout))

	nt := min(winoTiles, tiles, max(gemmMR, winoBlockFloats/(16*(cin+cout))))
	v := getScratch(16 * nt * cin)
	m := getScratch(16 * nt * cout)
	abuf := getScratch(gemmBufLen(cin))
	zeros := getScratch(max(cin, cout))
	clear(zeros)
	spill := getScratch(cout) // the outputs of a tile that fall outside dst
	defer func() {
		putScratch(v)
		putScratch(m)
		putScratch(abuf)
		putScratch(zeros)
		putScratch(spill)
	}()
	bias := ep.bias
	if bias == nil {
		bias = zeros[:cout]
	}
	for t0 := 0; t0 < tiles; t0 += nt {
		nb := min(nt, tiles-t0)
		winoInput(v[:16*nb*cin], xd, g, t0, nb, th, tw, zeros[:cin])
		for k, pb := range pbs {
			pb.mul(mat{d: v[k*cin:], rs: 16 * cin, cs: 1}, nb, m[k*cout:], 16*cout, epilogue{}, abuf)
		}
		winoOutput(od, m[:16*nb*cout], g, t0, nb, th, tw, bias, spill, ep)
	}
}

// winoWeights packs U_k = element k (row-major) of the 4x4 G g G^T for
// every input channel c and output channel o, the 3x3 filter g[ky][kx] =
// w[((ky*3+kx)*cin+c)*cout+o], as the right operand of a GEMM (cin x
// cout, packB's layout) into pbs[k], all in buf (for putScratch, not
// pbs[k].release). It writes the packed panels directly, winoDepths input
// channels at a time through every panel, so that the 16 x 3 x winoDepths
// values of each panel being written stay in L1: transforming into 16
// row-major matrices and packing those took 1.6 times as long natively
// at 512 channels.
func winoWeights(pbs *[16]*packedB, w []float32, cin, cout int) (buf []float32) {
	np := (cout + gemmNR - 1) / gemmNR
	size := 0
	for k0 := 0; k0 < cin; k0 += gemmKC {
		size += np * gemmNR * roundKU(min(gemmKC, cin-k0))
	}
	// One buffer, the 16 matrices a cache line apart beyond their size:
	// at equal offsets modulo 4 KiB, the same position in each would fall
	// into the same L1 set, and writing them in step thrashed it (4x slower).
	stride := size + 16
	buf = getScratch(16 * stride)
	var dst [16][]float32
	for k := range pbs {
		dst[k] = buf[k*stride : k*stride+size]
		pbs[k] = &packedB{k: cin, n: cout, data: dst[k]}
	}
	n := cin * cout
	var edge [9 * gemmNR]float32 // the last panel's taps, zero beyond cout
	for k0 := 0; k0 < cin; k0 += gemmKC {
		kc := min(gemmKC, cin-k0)
		kcp := roundKU(kc)
		psize := kcp * gemmNR // one panel of this depth block
		base := np * gemmNR * k0
		for c0 := k0; c0 < k0+kc; c0 += winoDepths {
			c1 := min(c0+winoDepths, k0+kc)
			for jp := 0; jp < np; jp++ {
				j0 := jp * gemmNR
				o := base + jp*psize + (c0-k0)*gemmNR // panel jp, depth c0
				for c := c0; c < c1; c++ {
					if j0+gemmNR <= cout {
						winoFilter3(&dst, o, w[c*cout+j0:], n)
					} else {
						for i := 0; i < 9; i++ {
							for j := 0; j < gemmNR; j++ {
								edge[i*gemmNR+j] = 0
								if j0+j < cout {
									edge[i*gemmNR+j] = w[i*n+c*cout+j0+j]
								}
							}
						}
						winoFilter3(&dst, o, edge[:], gemmNR)
					}
					o += gemmNR
				}
			}
		}
		// Depths kc to kcp of the last block are zero.
		for k := range dst {
			for jp := 0; jp < np; jp++ {
				clear(dst[k][base+jp*psize+kc*gemmNR : base+jp*psize+kcp*gemmNR])
			}
		}
	}
	return buf
}

// winoDepths is how many input channels winoWeights transforms at a time.
const winoDepths = 16

// winoFilter3 sets dst[k][o+j], j < gemmNR, to element k of G g G^T for the
// 3x3 filters g[ky][kx] = w[(ky*3+kx)*n + j].
func winoFilter3(dst *[16][]float32, o int, w []float32, n int) {
	const nr = gemmNR
	s0, s1, s2 := (*[nr]float32)(w[0:nr]), (*[nr]float32)(w[n:n+nr]), (*[nr]float32)(w[2*n:2*n+nr])
	s3, s4, s5 := (*[nr]float32)(w[3*n:3*n+nr]), (*[nr]float32)(w[4*n:4*n+nr]), (*[nr]float32)(w[5*n:5*n+nr])
	s6, s7, s8 := (*[nr]float32)(w[6*n:6*n+nr]), (*[nr]float32)(w[7*n:7*n+nr]), (*[nr]float32)(w[8*n:8*n+nr])
	var d [16]*[nr]float32
	for k := range d {
		d[k] = (*[nr]float32)(dst[k][o : o+nr])
	}
	for j := 0; j < nr; j++ {
		g00, g01, g02 := s0[j], s1[j], s2[j]
		g10, g11, g12 := s3[j], s4[j], s5[j]
		g20, g21, g22 := s6[j], s7[j], s8[j]
		// G g: four rows of three (rows 0 and 3 are g's).
		t10, t11, t12 := (g00+g10+g20)*0.5, (g01+g11+g21)*0.5, (g02+g12+g22)*0.5
		t20, t21, t22 := (g00-g10+g20)*0.5, (g01-g11+g21)*0.5, (g02-g12+g22)*0.5
		// (G g) G^T, row by row.
		d[0][j], d[1][j], d[2][j], d[3][j] = g00, (g00+g01+g02)*0.5, (g00-g01+g02)*0.5, g02
		d[4][j], d[5][j], d[6][j], d[7][j] = t10, (t10+t11+t12)*0.5, (t10-t11+t12)*0.5, t12
		d[8][j], d[9][j], d[10][j], d[11][j] = t20, (t20+t21+t22)*0.5, (t20-t21+t22)*0.5, t22
		d[12][j], d[13][j], d[14][j], d[15][j] = g20, (g20+g21+g22)*0.5, (g20-g21+g22)*0.5, g22
	}
}

// winoInput sets, for the nb tiles from t0 (tile t of image i at tile
// row ty, column tx is t = (i*th + ty)*tw + tx), v[((t-t0)*16 + k)*cin + c]
// to element k of B^T d B for the tile's 4x4 input window d in channel c,
// whose top left corner is input pixel (2ty - padB, 2tx - padB).
// zeros holds cin zeros: the window's pixels outside the input.
func winoInput(v, xd []float32, g *geom, t0, nb, th, tw int, zeros []float32) {
	cin, h, w := g.cin, g.in[1], g.in[2]
	for t := 0; t < nb; t++ {
		tx := (t0 + t) % tw
		ty := (t0 + t) / tw % th
		img := (t0 + t) / (tw * th)
		y0, x0 := 2*ty-g.padB[1], 2*tx-g.padB[2]
		var d [16][]float32
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				y, x := y0+i, x0+j
				if y < 0 || y >= h || x < 0 || x >= w {
					d[4*i+j] = zeros
					continue
				}
				p := ((img*h+y)*w + x) * cin
				d[4*i+j] = xd[p : p+cin]
			}
		}
		var out [16][]float32
		for k := range out {
			out[k] = v[(t*16+k)*cin : (t*16+k+1)*cin]
		}
		winoInputTile(&out, &d)
	}
}

// winoInputTileScalar sets out[k][c] to element k of B^T d B for the 4x4
// window d[4i+j][c], i the row, j the column, for every c (from c0 on:
// a SIMD winoInputTile leaves it the channels past its last full vector).
// Column by column (B^T on the rows first), so that at most 12 values are
// live.
func winoInputTileScalar(out, d *[16][]float32, c0 int) {
	n := len(out[0])
	d00, d01, d02, d03 := d[0][:n], d[1][:n], d[2][:n], d[3][:n]
	d10, d11, d12, d13 := d[4][:n], d[5][:n], d[6][:n], d[7][:n]
	d20, d21, d22, d23 := d[8][:n], d[9][:n], d[10][:n], d[11][:n]
	d30, d31, d32, d33 := d[12][:n], d[13][:n], d[14][:n], d[15][:n]
	v00, v01, v02, v03 := out[0][:n], out[1][:n], out[2][:n], out[3][:n]
	v10, v11, v12, v13 := out[4][:n], out[5][:n], out[6][:n], out[7][:n]
	v20, v21, v22, v23 := out[8][:n], out[9][:n], out[10][:n], out[11][:n]
	v30, v31, v32, v33 := out[12][:n], out[13][:n], out[14][:n], out[15][:n]
	for c := c0; c < n; c++ {
		// Columns 1 and 2 of B^T d.
		x1, x2 := d01[c], d21[c]
		r01, r21 := x1-x2, x2-d11[c]
		r11, r31 := d11[c]+x2, d11[c]-d31[c]
		x1, x2 = d02[c], d22[c]
		r02, r22 := x1-x2, x2-d12[c]
		r12, r32 := d12[c]+x2, d12[c]-d32[c]
		v01[c], v02[c] = r01+r02, r02-r01
		v11[c], v12[c] = r11+r12, r12-r11
		v21[c], v22[c] = r21+r22, r22-r21
		v31[c], v32[c] = r31+r32, r32-r31
		// Column 0, then column 3.
		x1, x2 = d00[c], d20[c]
		v00[c], v20[c] = (x1-x2)-r02, (x2-d10[c])-r22
		v10[c], v30[c] = (d10[c]+x2)-r12, (d10[c]-d30[c])-r32
		x1, x2 = d03[c], d23[c]
		v03[c], v23[c] = r01-(x1-x2), r21-(x2-d13[c])
		v13[c], v33[c] = r11-(d13[c]+x2), r31-(d13[c]-d33[c])
	}
}

// winoOutput writes the nb tiles from t0 into od: output pixel (2ty+r,
// 2tx+s) of tile t, where it is inside the output, gets in channel o
// ep(bias[o] + element (r, s) of A^T M A), M the 4x4 values
// m[((t-t0)*16 + k)*cout + o]. The pixels of edge tiles that fall outside
// go to spill (cout floats) and are dropped.
func winoOutput(od, m []float32, g *geom, t0, nb, th, tw int, bias, spill []float32, ep epilogue) {
	cout, oh, ow := g.cout, g.out[1], g.out[2]
	for t := 0; t < nb; t++ {
		tx := (t0 + t) % tw
		ty := (t0 + t) / tw % th
		img := (t0 + t) / (tw * th)
		var y [4][]float32 // output pixels (0,0), (0,1), (1,0), (1,1)
		for r := 0; r < 2; r++ {
			for s := 0; s < 2; s++ {
				oy, ox := 2*ty+r, 2*tx+s
				if oy >= oh || ox >= ow {
					y[2*r+s] = spill
					continue
				}
				p := ((img*oh+oy)*ow + ox) * cout
				y[2*r+s] = od[p : p+cout]
			}
		}
		var in [16][]float32
		for k := range in {
			in[k] = m[(t*16+k)*cout : (t*16+k+1)*cout]
		}
		winoOutputTile(&y, &in, bias)
		for _, row := range y {
			if &row[0] != &spill[0] {
				ep.activate(row)
			}
		}
	}
}

// winoOutputTileScalar sets y[2r+s][o] to bias[o] plus element (r, s) of
// A^T M A for the 4x4 values M[i][j] = m[4i+j][o], for every o from o0 on.
func winoOutputTileScalar(y *[4][]float32, m *[16][]float32, bias []float32, o0 int) {
	n := len(bias)
	m00, m01, m02, m03 := m[0][:n], m[1][:n], m[2][:n], m[3][:n]
	m10, m11, m12, m13 := m[4][:n], m[5][:n], m[6][:n], m[7][:n]
	m20, m21, m22, m23 := m[8][:n], m[9][:n], m[10][:n], m[11][:n]
	m30, m31, m32, m33 := m[12][:n], m[13][:n], m[14][:n], m[15][:n]
	y00, y01, y10, y11 := y[0][:n], y[1][:n], y[2][:n], y[3][:n]
	for o := o0; o < n; o++ {
		// A^T M: two rows of four.
		a0, b0 := m00[o]+m10[o]+m20[o], m10[o]-m20[o]-m30[o]
		a1, b1 := m01[o]+m11[o]+m21[o], m11[o]-m21[o]-m31[o]
		a2, b2 := m02[o]+m12[o]+m22[o], m12[o]-m22[o]-m32[o]
		a3, b3 := m03[o]+m13[o]+m23[o], m13[o]-m23[o]-m33[o]
		// (A^T M) A, plus the bias.
		bo := bias[o]
		y00[o], y01[o] = a0+a1+a2+bo, a1-a2-a3+bo
		y10[o], y11[o] = b0+b1+b2+bo, b1-b2-b3+bo
	}
}
