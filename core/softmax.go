package core

import "fmt"

// Softmax returns exp(x - max) / sum(exp(x - max)) along an axis (-1: the
// classes). Subtracting the maximum keeps exp from overflowing.
func Softmax(x *Tensor, axisIdx int) (*Tensor, error) {
	e, err := shiftedExp(x, axisIdx)
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	defer e.Free()
	s, err := Reduce(e, Sum, axisIdx)
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	defer s.Free()
	return Elementwise(e, s, Div)
}

// LogSoftmax returns x - max - log(sum(exp(x - max))) along an axis.
func LogSoftmax(x *Tensor, axisIdx int) (*Tensor, error) {
	m, err := Reduce(x, ReduceMax, axisIdx)
	if err != nil {
		return nil, fmt.Errorf("log softmax: %w", err)
	}
	defer m.Free()
	d, err := Elementwise(x, m, Sub)
	if err != nil {
		return nil, fmt.Errorf("log softmax: %w", err)
	}
	e, err := Apply(d, Unary{Op: Exp})
	if err != nil {
		d.Free()
		return nil, fmt.Errorf("log softmax: %w", err)
	}
	s, err := Reduce(e, Sum, axisIdx)
	e.Free()
	if err != nil {
		d.Free()
		return nil, fmt.Errorf("log softmax: %w", err)
	}
	defer s.Free()
	if err := x.Backend().Unary(s, s, Unary{Op: Log}); err != nil {
		d.Free()
		return nil, fmt.Errorf("log softmax: %w", err)
	}
	out, err := Elementwise(d, s, Sub)
	d.Free()
	return out, err
}

// shiftedExp returns exp(x - max(x)) along an axis.
func shiftedExp(x *Tensor, axisIdx int) (*Tensor, error) {
	m, err := Reduce(x, ReduceMax, axisIdx)
	if err != nil {
		return nil, err
	}
	defer m.Free()
	d, err := Elementwise(x, m, Sub)
	if err != nil {
		return nil, err
	}
	if err := x.Backend().Unary(d, d, Unary{Op: Exp}); err != nil {
		d.Free()
		return nil, err
	}
	return d, nil
}

// Maxout takes the maximum over groups of k consecutive channels (the
// last axis): with k = 2 after a layer of 2C units it is the lecture's
// max(w1.x + b1, w2.x + b2). The result has C/k channels.
func Maxout(x *Tensor, k int) (*Tensor, error) {
	s := x.Shape()
	if s.Rank() < 1 {
		return nil, fmt.Errorf("maxout: input %v has no channel axis", s)
	}
	c := s[s.Rank()-1]
	if k < 1 || c%k != 0 {
		return nil, fmt.Errorf("maxout: %d channels of %v are not a multiple of %d", c, s, k)
	}
	v, err := x.Reshape(append(s[:s.Rank()-1].Clone(), c/k, k)...)
	if err != nil {
		return nil, fmt.Errorf("maxout: %w", err)
	}
	m, err := Reduce(v, ReduceMax, -1)
	if err != nil {
		return nil, fmt.Errorf("maxout: %w", err)
	}
	out := s.Clone()
	out[len(out)-1] = c / k
	return m.Reshape(out...)
}
