package core

import "fmt"

// checkRegion verifies that a Copy region stays inside a buffer of n elements.
func checkRegion(what string, shape []int, off int, strides []int, n int) error {
	if len(strides) != len(shape) {
		return fmt.Errorf("copy: %s has %d strides for a region of rank %d", what, len(strides), len(shape))
	}
	lo, hi := off, off
	for i, e := range shape {
		if e <= 0 {
			return fmt.Errorf("copy: region %v has an empty axis", shape)
		}
		if d := (e - 1) * strides[i]; d < 0 {
			lo += d
		} else {
			hi += d
		}
	}
	if lo < 0 || hi >= n {
		return fmt.Errorf("copy: %s region %v at offset %d strides %v reaches [%d, %d], outside the %d elements", what, shape, off, strides, lo, hi, n)
	}
	return nil
}

// CopyRegion validates p against both tensors and runs Backend.Copy.
func CopyRegion(dst, src *Tensor, p Copy) error {
	b := dst.Backend()
	if err := same("copy", b, dst, src); err != nil {
		return err
	}
	if err := checkRegion("source", p.Shape, p.SrcOffset, p.SrcStrides, src.Size()); err != nil {
		return err
	}
	if err := checkRegion("destination", p.Shape, p.DstOffset, p.DstStrides, dst.Size()); err != nil {
		return err
	}
	return b.Copy(dst, src, p)
}

// offsetOf returns the flat offset of an index vector in a shape.
func offsetOf(s Shape, idx []int) int {
	st := s.Strides()
	o := 0
	for i, v := range idx {
		o += v * st[i]
	}
	return o
}

// Concat joins tensors along an axis (the channel axis -1 for DenseNet and
// Inception). All other axes must agree.
func Concat(axisIdx int, ts ...*Tensor) (*Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("concat: no tensors")
	}
	b := ts[0].Backend()
	if err := same("concat", b, ts...); err != nil {
		return nil, err
	}
	s0 := ts[0].Shape()
	ax, err := axis(axisIdx, s0.Rank())
	if err != nil {
		return nil, fmt.Errorf("concat %v: %w", s0, err)
	}
	out := s0.Clone()
	out[ax] = 0
	for _, t := range ts {
		s := t.Shape()
		if s.Rank() != s0.Rank() {
			return nil, fmt.Errorf("concat on axis %d: %v and %v differ in rank", ax, s0, s)
		}
		for i := range s {
			if i != ax && s[i] != s0[i] {
				return nil, fmt.Errorf("concat on axis %d: %v and %v differ on axis %d", ax, s0, s, i)
			}
		}
		out[ax] += s[ax]
	}
	dst, err := New(b, out)
	if err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	at := 0
	for _, t := range ts {
		idx := make([]int, out.Rank())
		idx[ax] = at
		p := Copy{Shape: t.Shape().Clone(), SrcStrides: t.Shape().Strides(), DstOffset: offsetOf(out, idx), DstStrides: out.Strides()}
		if err := CopyRegion(dst, t, p); err != nil {
			dst.Free()
			return nil, fmt.Errorf("concat %v into %v: %w", t.Shape(), out, err)
		}
		at += t.Shape()[ax]
	}
	return dst, nil
}

// Slice returns the part of x from start to start+size on one axis.
func Slice(x *Tensor, axisIdx, start, size int) (*Tensor, error) {
	s := x.Shape()
	ax, err := axis(axisIdx, s.Rank())
	if err != nil {
		return nil, fmt.Errorf("slice %v: %w", s, err)
	}
	if start < 0 || size < 1 || start+size > s[ax] {
		return nil, fmt.Errorf("slice %v: [%d, %d) outside axis %d of extent %d", s, start, start+size, ax, s[ax])
	}
	out := s.Clone()
	out[ax] = size
	dst, err := New(x.Backend(), out)
	if err != nil {
		return nil, fmt.Errorf("slice: %w", err)
	}
	idx := make([]int, s.Rank())
	idx[ax] = start
	p := Copy{Shape: out.Clone(), SrcOffset: offsetOf(s, idx), SrcStrides: s.Strides(), DstStrides: out.Strides()}
	if err := CopyRegion(dst, x, p); err != nil {
		dst.Free()
		return nil, fmt.Errorf("slice %v: %w", s, err)
	}
	return dst, nil
}

// Split cuts x along an axis into parts of the given sizes (the channel
// split of ShuffleNet-style and grouped blocks uses axis -1).
func Split(x *Tensor, axisIdx int, sizes ...int) ([]*Tensor, error) {
	s := x.Shape()
	ax, err := axis(axisIdx, s.Rank())
	if err != nil {
		return nil, fmt.Errorf("split %v: %w", s, err)
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total != s[ax] {
		return nil, fmt.Errorf("split %v on axis %d: sizes %v add to %d, want %d", s, ax, sizes, total, s[ax])
	}
	var out []*Tensor
	at := 0
	for _, n := range sizes {
		t, err := Slice(x, ax, at, n)
		if err != nil {
			for _, o := range out {
				o.Free()
			}
			return nil, err
		}
		out = append(out, t)
		at += n
	}
	return out, nil
}

// Pad surrounds x with a constant: before[i] and after[i] elements on axis i.
func Pad(x *Tensor, before, after []int, value float32) (*Tensor, error) {
	s := x.Shape()
	if len(before) != s.Rank() || len(after) != s.Rank() {
		return nil, fmt.Errorf("pad %v: want %d before and after entries, got %d and %d", s, s.Rank(), len(before), len(after))
	}
	out := s.Clone()
	for i := range s {
		if before[i] < 0 || after[i] < 0 {
			return nil, fmt.Errorf("pad %v: negative padding %v/%v", s, before, after)
		}
		out[i] += before[i] + after[i]
	}
	b := x.Backend()
	dst, err := New(b, out)
	if err != nil {
		return nil, fmt.Errorf("pad: %w", err)
	}
	if value != 0 {
		if err := b.Unary(dst, dst, Unary{Op: Affine, Alpha: 0, Beta: value}); err != nil {
			dst.Free()
			return nil, fmt.Errorf("pad fill: %w", err)
		}
	}
	p := Copy{Shape: s.Clone(), SrcStrides: s.Strides(), DstOffset: offsetOf(out, before), DstStrides: out.Strides()}
	if err := CopyRegion(dst, x, p); err != nil {
		dst.Free()
		return nil, fmt.Errorf("pad %v: %w", s, err)
	}
	return dst, nil
}

// Transpose permutes the axes of x: axis i of the result is axis perm[i] of x.
func Transpose(x *Tensor, perm ...int) (*Tensor, error) {
	s := x.Shape()
	if len(perm) != s.Rank() {
		return nil, fmt.Errorf("transpose %v: permutation %v has the wrong length", s, perm)
	}
	seen := make([]bool, len(perm))
	out := make(Shape, len(perm))
	st := s.Strides()
	src := make([]int, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("transpose %v: %v is not a permutation", s, perm)
		}
		seen[p] = true
		out[i] = s[p]
		src[i] = st[p]
	}
	dst, err := New(x.Backend(), out)
	if err != nil {
		return nil, fmt.Errorf("transpose: %w", err)
	}
	if err := CopyRegion(dst, x, Copy{Shape: out.Clone(), SrcStrides: src, DstStrides: out.Strides()}); err != nil {
		dst.Free()
		return nil, fmt.Errorf("transpose %v: %w", s, err)
	}
	return dst, nil
}
