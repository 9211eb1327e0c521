// Package core holds the runtime's tensors, the Backend contract every
// compute device implements, and the op functions that validate their
// arguments, compute output shapes and call a Backend.
//
// Activations are NHWC float32: batch first, channels last and contiguous.
// One-dimensional data is NWC and volumes are NDHWC, so every convolution
// and pooling op treats the axes between the first and the last as spatial.
package core

import (
	"fmt"
	"strings"
)

// Shape is the extent of each axis of a tensor, outermost first.
type Shape []int

// Size is the number of elements: the product of the extents (1 for a scalar).
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Rank is the number of axes.
func (s Shape) Rank() int { return len(s) }

// Equal reports whether two shapes have the same axes.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that does not share memory with s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Strides returns the row-major (C order) element strides of s.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = n
		n *= s[i]
	}
	return st
}

// String formats a shape as [1 28 28 1].
func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, d)
	}
	b.WriteByte(']')
	return b.String()
}

// valid reports an error when an extent is not positive.
func (s Shape) valid() error {
	for i, d := range s {
		if d <= 0 {
			return fmt.Errorf("shape %v: axis %d has extent %d", s, i, d)
		}
	}
	return nil
}

// axis resolves a possibly negative axis index against a rank.
func axis(a, rank int) (int, error) {
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return a, nil
}
