package webgpu

import "webcnn/core"

// geom is the geometry of a conv or pool with its spatial axes padded to
// three (depth, height, width) as core/cpu does: a 1-D op has depth =
// height = 1, a 2-D op depth = 1, so one kernel serves every rank.
type geom struct {
	n, cin, cout int
	in, out, k   [3]int
	stride, dil  [3]int
	padB, padA   [3]int
}

// newGeom reads x's and dst's spatial extents and the per-axis parameters
// (nil slices: stride and dilation 1, padding 0).
func newGeom(x, dst core.Shape, kernel, stride, dil, padB, padA []int) geom {
	d := x.Rank() - 2
	g := geom{n: x[0], cin: x[d+1], cout: dst[d+1]}
	for i := 0; i < 3; i++ {
		g.in[i], g.out[i], g.k[i], g.stride[i], g.dil[i] = 1, 1, 1, 1, 1
	}
	off := 3 - d
	for i := 0; i < d; i++ {
		g.in[off+i], g.out[off+i], g.k[off+i] = x[1+i], dst[1+i], kernel[i]
		if stride != nil {
			g.stride[off+i] = stride[i]
		}
		if dil != nil {
			g.dil[off+i] = dil[i]
		}
		if padB != nil {
			g.padB[off+i] = padB[i]
		}
		if padA != nil {
			g.padA[off+i] = padA[i]
		}
	}
	return g
}

// outPixels is the number of output positions (batch included).
func (g geom) outPixels() int { return g.n * g.out[0] * g.out[1] * g.out[2] }

// taps is the number of kernel positions.
func (g geom) taps() int { return g.k[0] * g.k[1] * g.k[2] }
