package webgpu

import "webcnn/core"

// poolKernel plans max or average pooling: one invocation per output
// position and channel, or per four channels when C % 4 == 0.
func poolKernel(xs, ds core.Shape, p core.Pool, lim limits) *kernel {
	stride := p.Stride
	if stride == nil {
		stride = p.Kernel
	}
	g := newGeom(xs, ds, p.Kernel, stride, nil, p.PadBefore, p.PadAfter)
	d := defs{"WG": wgSize}
	if p.Op == core.MaxPool {
		d["OP_MAX"] = 1
	} else if p.CountIncludePad {
		d["INCLUDE_PAD"] = 1
	}
	c := g.cin
	if c%4 == 0 {
		d["VEC4"] = 1
		c /= 4
	}
	n := g.outPixels() * c
	var q params
	q.vec(4, 1, g.in[:]...).vec(4, 1, g.out[:]...).vec(4, 1, g.k[:]...).vec(4, 1, g.stride[:]...)
	q.vec(4, 0, g.padB[:]...).vec(4, 0, g.padA[:]...).i(c, n)
	return &kernel{shader: "pool", defs: d, params: q.words(), groups: linear(n, lim.maxWorkgroupsPerDim)}
}

// Pool is N-d max or average pooling with PyTorch's divisor rules.
func (b *Backend) Pool(dst, x *core.Tensor, p core.Pool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.launch(poolKernel(x.Shape(), dst.Shape(), p, b.lim), x, dst)
}
