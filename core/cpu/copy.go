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
	if b.Reference {
		copyRef(d, s, p)
		return nil
	}
	// Rows of the simplified walk; contiguous ones (a pad's or a concat's
	// whole image rows) are one copy.
	w := newStrided(shape, p.DstStrides, p.SrcStrides)
	n, st := w.row()
	w.rows([3]int{p.DstOffset, p.SrcOffset}, func(o [3]int) {
		if st[0] == 1 && st[1] == 1 {
			copy(d[o[0]:o[0]+n], s[o[1]:o[1]+n])
			return
		}
		for j := 0; j < n; j++ {
			d[o[0]+j*st[0]] = s[o[1]+j*st[1]]
		}
	})
	return nil
}

// copyRef is the oracle: an index vector over the region, the innermost
// axis as one loop.
func copyRef(d, s []float32, p core.Copy) {
	shape := core.Shape(p.Shape)
	if shape.Size() == 0 {
		return
	}
	idx := make([]int, len(shape))
	last := len(shape) - 1
	for {
		so, do := p.SrcOffset, p.DstOffset
		for k, v := range idx[:last] {
			so += v * p.SrcStrides[k]
			do += v * p.DstStrides[k]
		}
		ss, dd := p.SrcStrides[last], p.DstStrides[last]
		for j := 0; j < shape[last]; j++ {
			d[do+j*dd] = s[so+j*ss]
		}
		idx[last] = shape[last] - 1
		if !next(idx, shape) {
			return
		}
	}
}
