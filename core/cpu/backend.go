// Package cpu is the reference Backend: every kernel is first a plain,
// documented loop that states the op's meaning (the oracle other backends
// are tested against); convolution and matmul also have a fast path
// (im2col and a cache-blocked register-tiled GEMM) tested against the loops.
package cpu

import (
	"errors"
	"fmt"

	"webcnn/core"
)

// Buffer is host memory.
type Buffer struct{ data []float32 }

// Len is the number of elements.
func (b *Buffer) Len() int { return len(b.data) }

// Backend runs every op on the calling goroutine in float32.
type Backend struct {
	// Reference disables the fast paths: every op runs its plain loop.
	Reference bool
}

var _ core.Backend = (*Backend)(nil)

// New returns the CPU backend with its fast paths.
func New() *Backend { return &Backend{} }

// NewReference returns the CPU backend that runs only the plain loops.
func NewReference() *Backend { return &Backend{Reference: true} }

// Name identifies the backend.
func (b *Backend) Name() string {
	if b.Reference {
		return "cpu-reference"
	}
	return "cpu"
}

var errForeign = errors.New("cpu: buffer from another backend")

// Alloc returns zeroed host memory, reusing memory that Free released.
func (b *Backend) Alloc(n int) (core.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc of %d elements", n)
	}
	d := getScratch(n)
	clear(d)
	return &Buffer{data: d}, nil
}

// Free releases the memory for reuse by Alloc (scratch.go); the buffer
// holds nothing afterwards.
func (b *Backend) Free(buf core.Buffer) {
	if c, ok := buf.(*Buffer); ok {
		putScratch(c.data)
		c.data = nil
	}
}

// Write copies src into dst at element off.
func (b *Backend) Write(dst core.Buffer, off int, src []float32) error {
	d, ok := dst.(*Buffer)
	if !ok {
		return errForeign
	}
	if off < 0 || off+len(src) > len(d.data) {
		return fmt.Errorf("cpu: write of %d elements at %d into a buffer of %d", len(src), off, len(d.data))
	}
	copy(d.data[off:], src)
	return nil
}

// Read copies elements from src at off into dst.
func (b *Backend) Read(src core.Buffer, off int, dst []float32) error {
	s, ok := src.(*Buffer)
	if !ok {
		return errForeign
	}
	if off < 0 || off+len(dst) > len(s.data) {
		return fmt.Errorf("cpu: read of %d elements at %d from a buffer of %d", len(dst), off, len(s.data))
	}
	copy(dst, s.data[off:])
	return nil
}

// Sync has nothing to wait for.
func (b *Backend) Sync() error { return nil }

// data returns the host slice behind a tensor.
func data(t *core.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Buffer().(*Buffer).data[:t.Size()]
}

// next advances a row-major index vector within shape s; it returns false
// after the last index.
func next(idx []int, s core.Shape) bool {
	for i := len(idx) - 1; i >= 0; i-- {
		idx[i]++
		if idx[i] < s[i] {
			return true
		}
		idx[i] = 0
	}
	return false
}
