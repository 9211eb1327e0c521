package webgpu

import (
	"fmt"

	"webcnn/core"
)

// copyKernel plans dst[DstOffset + i.DstStrides] = src[SrcOffset +
// i.SrcStrides] over the region p.Shape, collapsed first (a concat along
// channels of NHWC maps becomes a 2-D copy). inPlace: src and dst are one
// buffer, bound once read-write.
func copyKernel(p core.Copy, inPlace bool, lim limits) (*kernel, error) {
	shape, st := collapse(p.Shape, p.SrcStrides, p.DstStrides)
	if len(shape) > maxRank {
		return nil, fmt.Errorf("webgpu: copy of region %v: %d separate axes after collapsing (at most %d)", p.Shape, len(shape), maxRank)
	}
	n := core.Shape(p.Shape).Size()
	d := defs{"WG": wgSize}
	if inPlace {
		d["INPLACE"] = 1
	}
	var q params
	q.vec(8, 1, shape...).vec(8, 0, st[0]...).vec(8, 0, st[1]...).i(p.SrcOffset, p.DstOffset, n, len(shape))
	return &kernel{shader: "copy", defs: d, params: q.words(), groups: linear(n, lim.maxWorkgroupsPerDim)}, nil
}

// Copy moves a strided region of src into a strided region of dst.
func (b *Backend) Copy(dst, src *core.Tensor, p core.Copy) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	inPlace := sameBuffer(dst, src)
	k, err := copyKernel(p, inPlace, b.lim)
	if err != nil {
		return err
	}
	if inPlace {
		return b.launch(k, dst)
	}
	return b.launch(k, src, dst)
}
