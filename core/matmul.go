package core

import "fmt"

// MatMulT returns act(op(a) x op(b) + bias): see Backend.MatMul.
func MatMulT(a, b, bias *Tensor, p MatMul) (*Tensor, error) {
	be := a.Backend()
	if err := same("matmul", be, a, b, bias); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), b.Shape()
	if as.Rank() != 2 || bs.Rank() != 2 {
		return nil, fmt.Errorf("matmul: operands %v and %v must be matrices", as, bs)
	}
	m, k := as[0], as[1]
	if p.TransA {
		m, k = k, m
	}
	k2, n := bs[0], bs[1]
	if p.TransB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("matmul: inner sizes differ: %v (trans %v) x %v (trans %v)", as, p.TransA, bs, p.TransB)
	}
	if bias != nil && !bias.Shape().Equal(Shape{n}) {
		return nil, fmt.Errorf("matmul: bias %v, want [%d]", bias.Shape(), n)
	}
	if err := checkUnary("matmul activation", p.Act); err != nil {
		return nil, err
	}
	dst, err := New(be, Shape{m, n})
	if err != nil {
		return nil, fmt.Errorf("matmul: %w", err)
	}
	if err := be.MatMul(dst, a, b, bias, p); err != nil {
		dst.Free()
		return nil, fmt.Errorf("matmul %v x %v: %w", as, bs, err)
	}
	return dst, nil
}

// Dense is a fully connected layer: x is [N, ...] (flattened to [N, In]),
// w is [In, Out], bias is nil or [Out]; the result is act(x.w + bias), [N, Out].
func Dense(x, w, bias *Tensor, act Unary) (*Tensor, error) {
	s := x.Shape()
	if s.Rank() < 1 {
		return nil, fmt.Errorf("dense: input is a scalar")
	}
	f, err := Flatten(x)
	if err != nil {
		return nil, fmt.Errorf("dense: %w", err)
	}
	if w.Shape().Rank() != 2 || w.Shape()[0] != f.Shape()[1] {
		return nil, fmt.Errorf("dense: input %v has %d features, weights %v want [%d, Out]", s, f.Shape()[1], w.Shape(), f.Shape()[1])
	}
	return MatMulT(f, w, bias, MatMul{Act: act})
}

// Flatten views x as [N, rest].
func Flatten(x *Tensor) (*Tensor, error) {
	s := x.Shape()
	if s.Rank() == 0 {
		return nil, fmt.Errorf("flatten: input is a scalar")
	}
	return x.Reshape(s[0], s.Size()/s[0])
}
