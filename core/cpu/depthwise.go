package cpu

// depthwise is the direct loop for convolutions whose groups each read one
// input channel (Cin/G = 1, channel multiplier mult = Cout/Cin):
//
//	dst[n, o, c*mult+m] = ep(sum over kernel offsets k inside the input of
//	                         x[n, o*stride - padBefore + k*dilation, c] * w[k, c*mult+m])
//
// For each output pixel it lists the kernel taps that fall inside the
// input, then sweeps the contiguous NHWC channel row, which starts from
// the bias as in the reference, once per three taps. The activation runs
// over each finished output row.
func depthwise(od, xd, wd []float32, g *geom, ep epilogue) {
	cout := g.cout
	taps := make([]int, 0, 2*g.k[0]*g.k[1]*g.k[2])
	zero := make([]float32, cout)
	o := 0
	for n := 0; n < g.n; n++ {
		for oz := 0; oz < g.out[0]; oz++ {
			for oy := 0; oy < g.out[1]; oy++ {
				start := o
				for ox := 0; ox < g.out[2]; ox++ {
					taps = g.taps(taps[:0], n, [3]int{oz, oy, ox})
					row := od[o : o+cout]
					if ep.bias != nil {
						copy(row, ep.bias)
					} else {
						clear(row)
					}
					if g.cin == cout {
						depthwiseRow(row, xd, wd, zero, taps)
					} else {
						depthwiseMultRow(row, xd, wd, taps, cout/g.cin)
					}
					o += cout
				}
				ep.activate(od[start:o])
			}
		}
	}
}

// taps appends, for each kernel offset k (row-major over K0, K1, K2) whose
// input position for output position out of image n lies inside the input,
// the pair (flattened input pixel index, k).
func (g *geom) taps(dst []int, n int, out [3]int) []int {
	k := 0
	for kz := 0; kz < g.k[0]; kz++ {
		iz := out[0]*g.stride[0] - g.padB[0] + kz*g.dil[0]
		for ky := 0; ky < g.k[1]; ky++ {
			iy := out[1]*g.stride[1] - g.padB[1] + ky*g.dil[1]
			for kx := 0; kx < g.k[2]; kx, k = kx+1, k+1 {
				ix := out[2]*g.stride[2] - g.padB[2] + kx*g.dil[2]
				if iz < 0 || iz >= g.in[0] || iy < 0 || iy >= g.in[1] || ix < 0 || ix >= g.in[2] {
					continue
				}
				dst = append(dst, ((n*g.in[0]+iz)*g.in[1]+iy)*g.in[2]+ix, k)
			}
		}
	}
	return dst
}

// depthwiseRowScalar adds to row[c] the sum over taps (pixel, k) of
// x[pixel*C + c] * w[k*C + c], with C = len(row) channels: one sweep of
// the row per three taps, four channels per step (js/wasm pays a
// dispatch per loop iteration, so fat bodies matter there). Each sweep
// adds (p0 + p1) + p2 of its three float32 products to row[c]: a SIMD
// depthwiseRow keeps that order, so both give the same bits.
// zero holds C zeros: a missing third tap is 0 * 0.
func depthwiseRowScalar(row, xd, wd, zero []float32, taps []int) {
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
		for ; i+4 <= c; i += 4 {
			r := (*[4]float32)(row[i : i+4])
			a0, b0 := (*[4]float32)(x0[i:i+4]), (*[4]float32)(w0[i:i+4])
			a1, b1 := (*[4]float32)(x1[i:i+4]), (*[4]float32)(w1[i:i+4])
			a2, b2 := (*[4]float32)(x2[i:i+4]), (*[4]float32)(w2[i:i+4])
			r[0] += float32(a0[0]*b0[0]) + float32(a1[0]*b1[0]) + float32(a2[0]*b2[0])
			r[1] += float32(a0[1]*b0[1]) + float32(a1[1]*b1[1]) + float32(a2[1]*b2[1])
			r[2] += float32(a0[2]*b0[2]) + float32(a1[2]*b1[2]) + float32(a2[2]*b2[2])
			r[3] += float32(a0[3]*b0[3]) + float32(a1[3]*b1[3]) + float32(a2[3]*b2[3])
		}
		for ; i < c; i++ {
			row[i] += float32(x0[i]*w0[i]) + float32(x1[i]*w1[i]) + float32(x2[i]*w2[i])
		}
	}
}

// depthwiseMultRow is depthwiseRow for a channel multiplier mult > 1: it
// adds to row[c*mult+m] the sum over taps of x[pixel*Cin + c] * w[k*Cout + c*mult+m].
func depthwiseMultRow(row, xd, wd []float32, taps []int, mult int) {
	cout := len(row)
	cin := cout / mult
	for t := 0; t < len(taps); t += 2 {
		x, w := xd[taps[t]*cin:][:cin], wd[taps[t+1]*cout:][:cout]
		for c, xv := range x {
			r, wr := row[c*mult:(c+1)*mult], w[c*mult:(c+1)*mult]
			for m, wv := range wr {
				r[m] += float32(xv * wv)
			}
		}
	}
}
