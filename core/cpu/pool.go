package cpu

import (
	"math"

	"webcnn/core"
)

// Pool is N-d max or average pooling, PyTorch's semantics: the window of
// output o on an axis spans [o*stride - padBefore, ... + kernel). A max
// takes the largest input inside the window (padding never wins). An
// average sums the inputs inside the window and divides by the number of
// them, or, with CountIncludePad, by the number of window positions inside
// [-padBefore, in + padAfter) (positions that ceil mode adds beyond the
// declared padding never count).
func (b *Backend) Pool(dst, x *core.Tensor, p core.Pool) error {
	g := newGeom(x.Shape(), dst.Shape(), p.Kernel, p.Stride, nil, p.PadBefore, p.PadAfter)
	xd, od := data(x), data(dst)
	c := g.cin
	if p.Op == core.MaxPool {
		maxPool(g, xd, od)
		return nil
	}
	acc := make([]float64, c)
	o := 0
	for n := 0; n < g.n; n++ {
		for oz := 0; oz < g.out[0]; oz++ {
			for oy := 0; oy < g.out[1]; oy++ {
				for ox := 0; ox < g.out[2]; ox++ {
					var lo, hi, plo, phi [3]int
					for a, ov := range [3]int{oz, oy, ox} {
						start := ov*g.stride[a] - g.padB[a]
						end := start + g.k[a]
						plo[a], phi[a] = max(start, -g.padB[a]), min(end, g.in[a]+g.padA[a])
						lo[a], hi[a] = max(start, 0), min(end, g.in[a])
					}
					for i := range acc {
						if p.Op == core.MaxPool {
							acc[i] = math.Inf(-1)
						} else {
							acc[i] = 0
						}
					}
					cnt := 0
					for iz := lo[0]; iz < hi[0]; iz++ {
						for iy := lo[1]; iy < hi[1]; iy++ {
							for ix := lo[2]; ix < hi[2]; ix++ {
								xi := (((n*g.in[0]+iz)*g.in[1]+iy)*g.in[2] + ix) * c
								for ch := 0; ch < c; ch++ {
									v := float64(xd[xi+ch])
									if p.Op == core.MaxPool {
										acc[ch] = math.Max(acc[ch], v)
									} else {
										acc[ch] += v
									}
								}
								cnt++
							}
						}
					}
					div := float64(cnt)
					if p.CountIncludePad {
						div = float64((phi[0] - plo[0]) * (phi[1] - plo[1]) * (phi[2] - plo[2]))
					}
					for ch := 0; ch < c; ch++ {
						v := acc[ch]
						if p.Op == core.AvgPool {
							v /= div
						}
						od[o+ch] = float32(v)
					}
					o += c
				}
			}
		}
	}
	return nil
}

// maxPool is the max of Pool in float32, a row of channels at a time (a
// max is exact in any precision): NaN wins and stays, +0 beats -0, as
// math.Max decides; an empty window gives -Inf.
func maxPool(g geom, xd, od []float32) {
	c := g.cin
	ninf := float32(math.Inf(-1))
	o := 0
	for n := 0; n < g.n; n++ {
		for oz := 0; oz < g.out[0]; oz++ {
			for oy := 0; oy < g.out[1]; oy++ {
				for ox := 0; ox < g.out[2]; ox++ {
					var lo, hi [3]int
					for a, ov := range [3]int{oz, oy, ox} {
						start := ov*g.stride[a] - g.padB[a]
						lo[a], hi[a] = max(start, 0), min(start+g.k[a], g.in[a])
					}
					out := od[o : o+c]
					for i := range out {
						out[i] = ninf
					}
					for iz := lo[0]; iz < hi[0]; iz++ {
						for iy := lo[1]; iy < hi[1]; iy++ {
							for ix := lo[2]; ix < hi[2]; ix++ {
								xi := (((n*g.in[0]+iz)*g.in[1]+iy)*g.in[2] + ix) * c
								maxRow(out, xd[xi:xi+c])
							}
						}
					}
					o += c
				}
			}
		}
	}
}

// maxRowScalar sets out[ch] to the max of out[ch] and row[ch] as math.Max
// decides: NaN wins and stays, +0 beats -0.
func maxRowScalar(out, row []float32) {
	row = row[:len(out)]
	for ch, v := range row {
		if m := out[ch]; v > m || v != v || (v == 0 && m == 0 && math.Float32bits(v) == 0) {
			out[ch] = v
		}
	}
}
