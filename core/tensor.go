package core

import (
	"errors"
	"fmt"
)

// Buffer is device memory owned by a Backend: a run of float32 elements.
// Only the Backend that allocated a Buffer may use it.
type Buffer interface {
	// Len is the number of float32 elements the buffer holds.
	Len() int
}

// Tensor is a shaped view of a Buffer. Several tensors may share one
// buffer (Reshape makes such views); the elements are row-major in the
// order of the shape's axes.
type Tensor struct {
	shape Shape
	buf   Buffer
	b     Backend
}

// ErrBackend reports a tensor used with a backend that did not allocate it.
var ErrBackend = errors.New("tensor belongs to another backend")

// New allocates a zero-filled tensor of the given shape on b.
func New(b Backend, s Shape) (*Tensor, error) {
	if err := s.valid(); err != nil {
		return nil, err
	}
	buf, err := b.Alloc(s.Size())
	if err != nil {
		return nil, fmt.Errorf("alloc %v on %s: %w", s, b.Name(), err)
	}
	return &Tensor{shape: s.Clone(), buf: buf, b: b}, nil
}

// FromData allocates a tensor of shape s on b and writes data into it.
func FromData(b Backend, s Shape, data []float32) (*Tensor, error) {
	if s.Size() != len(data) {
		return nil, fmt.Errorf("from data: shape %v needs %d elements, got %d", s, s.Size(), len(data))
	}
	t, err := New(b, s)
	if err != nil {
		return nil, err
	}
	if err := b.Write(t.buf, 0, data); err != nil {
		b.Free(t.buf)
		return nil, fmt.Errorf("write %v: %w", s, err)
	}
	return t, nil
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() Shape { return t.shape }

// Buffer returns the device memory behind the tensor.
func (t *Tensor) Buffer() Buffer { return t.buf }

// Backend returns the backend that owns the tensor's memory.
func (t *Tensor) Backend() Backend { return t.b }

// Size is the number of elements.
func (t *Tensor) Size() int { return t.shape.Size() }

// Data reads the tensor back to the host.
func (t *Tensor) Data() ([]float32, error) {
	out := make([]float32, t.Size())
	if err := t.b.Read(t.buf, 0, out); err != nil {
		return nil, fmt.Errorf("read %v: %w", t.shape, err)
	}
	return out, nil
}

// Reshape returns a view of t with another shape of the same size. One axis
// may be -1: its extent is inferred.
func (t *Tensor) Reshape(s ...int) (*Tensor, error) {
	ns := Shape(s).Clone()
	infer := -1
	known := 1
	for i, d := range ns {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d <= 0:
			return nil, fmt.Errorf("reshape %v to %v: bad extent %d", t.shape, Shape(s), d)
		case known > t.Size()/d:
			return nil, fmt.Errorf("reshape %v (%d elements) to %v: too many elements", t.shape, t.Size(), Shape(s))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if t.Size()%known != 0 {
			return nil, fmt.Errorf("reshape %v to %v: %d elements do not divide", t.shape, Shape(s), t.Size())
		}
		ns[infer] = t.Size() / known
	}
	if ns.Size() != t.Size() {
		return nil, fmt.Errorf("reshape %v (%d elements) to %v (%d elements)", t.shape, t.Size(), ns, ns.Size())
	}
	return &Tensor{shape: ns, buf: t.buf, b: t.b}, nil
}

// Free releases the tensor's memory. Views sharing the buffer become invalid.
func (t *Tensor) Free() {
	if t != nil && t.buf != nil {
		t.b.Free(t.buf)
		t.buf = nil
	}
}

// String describes the tensor without reading it back.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v@%s", t.shape, t.b.Name()) }

// same checks that every non-nil tensor lives on b.
func same(op string, b Backend, ts ...*Tensor) error {
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.buf == nil {
			return fmt.Errorf("%s: tensor %v was freed", op, t.shape)
		}
		if t.b != b {
			return fmt.Errorf("%s: %v on %s: %w (want %s)", op, t.shape, t.b.Name(), ErrBackend, b.Name())
		}
	}
	return nil
}
