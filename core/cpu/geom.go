package cpu

import "webcnn/core"

// geom is the geometry of a conv or pool with its spatial axes padded to
// three (depth, height, width): a 1-D op has depth = height = 1, a 2-D op
// depth = 1, so one set of loops serves every rank.
type geom struct {
	n, cin, cout int
	in, out, k   [3]int
	stride, dil  [3]int
	padB, padA   [3]int
}

// newGeom reads the spatial extents of x, dst and a kernel of extent k
// (nil for pools: taken from kernel) into three-axis form.
func newGeom(x, dst core.Shape, kernel, stride, dil, padB, padA []int) geom {
	d := x.Rank() - 2
	var g geom
	g.n, g.cin, g.cout = x[0], x[d+1], dst[d+1]
	for i := 0; i < 3; i++ {
		g.in[i], g.out[i], g.k[i], g.stride[i], g.dil[i] = 1, 1, 1, 1, 1
	}
	off := 3 - d
	for i := 0; i < d; i++ {
		g.in[off+i] = x[1+i]
		g.out[off+i] = dst[1+i]
		g.k[off+i] = kernel[i]
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
