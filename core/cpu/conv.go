package cpu

import "webcnn/core"

// Conv is the N-d grouped, strided, dilated, padded convolution:
//
//	dst[n, o, co] = act(bias[co] + sum over kernel offsets k and ci < Cin/G of
//	               x[n, o*stride - padBefore + k*dilation, g*Cin/G + ci] * w[k, ci, co])
//
// with g = co / (Cout/G) and positions outside the input reading zero.
func (b *Backend) Conv(dst, x, w, bias *core.Tensor, p core.Conv) error {
	if !b.Reference {
		return b.convFast(dst, x, w, bias, p)
	}
	return convRef(dst, x, w, bias, p)
}

// convRef is the oracle: the definition above as loops, accumulating in float64.
func convRef(dst, x, w, bias *core.Tensor, p core.Conv) error {
	ws := w.Shape()
	d := ws.Rank() - 2
	g := newGeom(x.Shape(), dst.Shape(), ws[:d], p.Stride, p.Dilation, p.PadBefore, p.PadAfter)
	groups := max(p.Groups, 1)
	cinG, coutG := g.cin/groups, g.cout/groups
	xd, wd, od, bd := data(x), data(w), data(dst), data(bias)
	act := unaryFunc(p.Act)
	o := 0
	for n := 0; n < g.n; n++ {
		for oz := 0; oz < g.out[0]; oz++ {
			for oy := 0; oy < g.out[1]; oy++ {
				for ox := 0; ox < g.out[2]; ox++ {
					for co := 0; co < g.cout; co++ {
						c0 := (co / coutG) * cinG
						var s float64
						if bd != nil {
							s = float64(bd[co])
						}
						for kz := 0; kz < g.k[0]; kz++ {
							iz := oz*g.stride[0] - g.padB[0] + kz*g.dil[0]
							if iz < 0 || iz >= g.in[0] {
								continue
							}
							for ky := 0; ky < g.k[1]; ky++ {
								iy := oy*g.stride[1] - g.padB[1] + ky*g.dil[1]
								if iy < 0 || iy >= g.in[1] {
									continue
								}
								for kx := 0; kx < g.k[2]; kx++ {
									ix := ox*g.stride[2] - g.padB[2] + kx*g.dil[2]
									if ix < 0 || ix >= g.in[2] {
										continue
									}
									xi := (((n*g.in[0]+iz)*g.in[1]+iy)*g.in[2]+ix)*g.cin + c0
									wi := (((kz*g.k[1]+ky)*g.k[2]+kx)*cinG)*g.cout + co
									for ci := 0; ci < cinG; ci++ {
										s += float64(xd[xi+ci]) * float64(wd[wi+ci*g.cout])
									}
								}
							}
						}
						od[o] = float32(act(float64(float32(s))))
						o++
					}
				}
			}
		}
	}
	return nil
}
