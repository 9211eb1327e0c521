package cpu

import "webcnn/core"

// convRows is how many output pixels one im2col block gathers: the patch
// buffer holds convRows x (K0*K1*K2*Cin/G) floats.
const convRows = 2 * gemmMC

// matMulFast computes what matMulRef does with the blocked GEMM; the
// transposes are absorbed by the strides of the packed views.
func (b *Backend) matMulFast(dst, x, y, bias *core.Tensor, p core.MatMul) error {
	m, n := dst.Shape()[0], dst.Shape()[1]
	k := x.Shape()[1]
	a := mat{d: data(x), rs: k, cs: 1}
	if p.TransA {
		k = x.Shape()[0]
		a = mat{d: data(x), rs: 1, cs: m}
	}
	bm := mat{d: data(y), rs: n, cs: 1}
	if p.TransB {
		bm = mat{d: data(y), rs: 1, cs: k}
	}
	gemm(m, n, k, a, bm, data(dst), n, newEpilogue(data(bias), p.Act))
	return nil
}

// convFast computes what convRef does, by one of four paths, for every
// rank, stride, dilation, padding and grouping (none falls back to convRef):
//   - Cin/G == 1 (depthwise, with any channel multiplier): the direct
//     loop of depthwise.go;
//   - a 3x3 kernel with stride 1, one group, 16 channels or more in and
//     out and an output of about 6x6 or more: Winograd's F(2x2, 3x3) in
//     winograd.go;
//   - a 1x1 kernel with stride 1 and no padding: per group, one GEMM of
//     the input viewed as [N*S, Cin] (no copy) by the weights [Cin/G, Cout]
//     (gemv for one or two pixels, as in squeeze-and-excitation blocks);
//   - otherwise, per group, im2col of convRows output pixels at a time
//     into a reused buffer, times the weights packed once per call.
func (b *Backend) convFast(dst, x, w, bias *core.Tensor, p core.Conv) error {
	ws := w.Shape()
	d := ws.Rank() - 2
	g := newGeom(x.Shape(), dst.Shape(), ws[:d], p.Stride, p.Dilation, p.PadBefore, p.PadAfter)
	groups := max(p.Groups, 1)
	xd, wd, od := data(x), data(w), data(dst)
	ep := newEpilogue(data(bias), p.Act)
	if g.cin/groups == 1 {
		depthwise(od, xd, wd, &g, ep)
		return nil
	}
	if g.winograd(groups) {
		convWinograd(od, xd, wd, &g, ep)
		return nil
	}
	convGEMM(od, xd, wd, &g, groups, ep)
	return nil
}

// convGEMM computes od = ep(conv(xd, wd)) for a conv of geometry g with
// more than one input channel per group as GEMMs: gemv, GEMM on the input
// in place (1x1, stride 1, unpadded), or im2col.
func convGEMM(od, xd, wd []float32, g *geom, groups int, ep epilogue) {
	cinG, coutG := g.cin/groups, g.cout/groups
	kg := g.k[0] * g.k[1] * g.k[2] * cinG
	rows := g.n * g.out[0] * g.out[1] * g.out[2]
	if g.pointwise() && rows <= gemvMaxRows {
		for grp := 0; grp < groups; grp++ {
			gemv(rows, coutG, cinG, mat{d: xd[grp*cinG:], rs: g.cin, cs: 1}, mat{d: wd[grp*coutG:], rs: g.cout, cs: 1},
				od[grp*coutG:], g.cout, ep.cols(grp*coutG, coutG))
		}
		return
	}
	pbs := make([]*packedB, groups)
	for grp := range pbs {
		pbs[grp] = packB(mat{d: wd[grp*coutG:], rs: g.cout, cs: 1}, kg, coutG)
		defer pbs[grp].release()
	}
	abuf := getScratch(gemmBufLen(kg))
	defer putScratch(abuf)
	if g.pointwise() {
		for grp, pb := range pbs {
			a := mat{d: xd[grp*cinG:], rs: g.cin, cs: 1}
			pb.mul(a, rows, od[grp*coutG:], g.cout, ep.cols(grp*coutG, coutG), abuf)
		}
		return
	}
	patches := getScratch(min(convRows, rows) * kg)
	defer putScratch(patches)
	for r0 := 0; r0 < rows; r0 += convRows {
		nr := min(convRows, rows-r0)
		for grp, pb := range pbs {
			im2col(patches, xd, g, cinG, grp, r0, nr)
			pb.mul(mat{d: patches, rs: kg, cs: 1}, nr, od[r0*g.cout+grp*coutG:], g.cout, ep.cols(grp*coutG, coutG), abuf)
		}
	}
}

// pointwise reports whether the conv is a 1x1 kernel with stride 1 and no
// padding: output pixel i then reads input pixel i only.
func (g *geom) pointwise() bool {
	for i := 0; i < 3; i++ {
		if g.k[i] != 1 || g.stride[i] != 1 || g.padB[i] != 0 || g.padA[i] != 0 {
			return false
		}
	}
	return true
}
