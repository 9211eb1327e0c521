package core

import "fmt"

// checkUnary rejects unknown elementwise ops before they reach a kernel.
func checkUnary(what string, f Unary) error {
	if f.Op < 0 || f.Op >= numUnary {
		return fmt.Errorf("%s: unknown unary op %d", what, f.Op)
	}
	return nil
}

// Apply returns f applied to every element of x.
func Apply(x *Tensor, f Unary) (*Tensor, error) {
	b := x.Backend()
	if err := same(f.Op.String(), b, x); err != nil {
		return nil, err
	}
	if err := checkUnary("apply", f); err != nil {
		return nil, err
	}
	dst, err := New(b, x.Shape())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Op, err)
	}
	if err := b.Unary(dst, x, f); err != nil {
		dst.Free()
		return nil, fmt.Errorf("%s %v: %w", f.Op, x.Shape(), err)
	}
	return dst, nil
}

// Scale returns a*x + c.
func Scale(x *Tensor, a, c float32) (*Tensor, error) {
	return Apply(x, Unary{Op: Affine, Alpha: a, Beta: c})
}

// BroadcastShape returns the numpy broadcast of two shapes (right-aligned;
// each pair of extents equal or one of them 1).
func BroadcastShape(a, b Shape) (Shape, error) {
	r := max(a.Rank(), b.Rank())
	out := make(Shape, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - a.Rank()); j >= 0 {
			da = a[j]
		}
		if j := i - (r - b.Rank()); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast (axis %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// padRank views t with leading axes of extent 1 up to rank r.
func padRank(t *Tensor, r int) *Tensor {
	if t.Shape().Rank() == r {
		return t
	}
	s := make(Shape, r)
	for i := range s {
		s[i] = 1
	}
	copy(s[r-t.Shape().Rank():], t.Shape())
	return &Tensor{shape: s, buf: t.buf, b: t.b}
}

// Elementwise returns a op b with numpy broadcasting.
func Elementwise(a, b *Tensor, op BinaryOp) (*Tensor, error) {
	be := a.Backend()
	if err := same(op.String(), be, a, b); err != nil {
		return nil, err
	}
	if op < 0 || op >= numBinary {
		return nil, fmt.Errorf("elementwise: unknown binary op %d", op)
	}
	out, err := BroadcastShape(a.Shape(), b.Shape())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	dst, err := New(be, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := be.Binary(dst, padRank(a, len(out)), padRank(b, len(out)), op); err != nil {
		dst.Free()
		return nil, fmt.Errorf("%s %v, %v: %w", op, a.Shape(), b.Shape(), err)
	}
	return dst, nil
}
