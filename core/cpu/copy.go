package cpu

import "webcnn/core"

// Copy moves a strided region: for every index i within p.Shape,
// dst[p.DstOffset + i.p.DstStrides] = src[p.SrcOffset + i.p.SrcStrides].
func (b *Backend) Copy(dst, src *core.Tensor, p core.Copy) error {
	d, s := data(dst), data(src)
	shape := core.Shape(p.Shape)
	if len(shape) == 0 {
		d[p.DstOffset] = s[p.SrcOffset]
		return nil
	}
	idx := make([]int, len(shape))
	last := len(shape) - 1
	for {
		so, do := p.SrcOffset, p.DstOffset
		for k, v := range idx[:last] {
			so += v * p.SrcStrides[k]
			do += v * p.DstStrides[k]
		}
		// The innermost axis as one loop.
		ss, dd := p.SrcStrides[last], p.DstStrides[last]
		for j := 0; j < shape[last]; j++ {
			d[do+j*dd] = s[so+j*ss]
		}
		idx[last] = shape[last] - 1
		if !next(idx, shape) {
			return nil
		}
	}
}
