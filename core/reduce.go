package core

import (
	"fmt"
	"sort"
)

// Reduce folds x over the given axes (negative axes count from the end)
// and keeps them with extent 1, so the result broadcasts against x.
// With no axes it reduces over every axis.
func Reduce(x *Tensor, op ReduceOp, axes ...int) (*Tensor, error) {
	b := x.Backend()
	if err := same("reduce "+op.String(), b, x); err != nil {
		return nil, err
	}
	if op < 0 || op >= numReduce {
		return nil, fmt.Errorf("reduce: unknown op %d", op)
	}
	s := x.Shape()
	out := s.Clone()
	if len(axes) == 0 {
		for i := range out {
			out[i] = 1
		}
	}
	for _, a := range axes {
		i, err := axis(a, s.Rank())
		if err != nil {
			return nil, fmt.Errorf("reduce %s %v: %w", op, s, err)
		}
		out[i] = 1
	}
	dst, err := New(b, out)
	if err != nil {
		return nil, fmt.Errorf("reduce %s: %w", op, err)
	}
	if err := b.Reduce(dst, x, op); err != nil {
		dst.Free()
		return nil, fmt.Errorf("reduce %s %v over %v: %w", op, s, axes, err)
	}
	return dst, nil
}

// normAxes resolves and sorts a list of axes, rejecting duplicates.
func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for i, a := range axes {
		v, err := axis(a, rank)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	sort.Ints(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, fmt.Errorf("axis %d repeated", out[i])
		}
	}
	return out, nil
}

// Moments returns the mean and the biased variance (divided by the count,
// as the lecture and every normalization layer define it) of x over axes.
func Moments(x *Tensor, axes ...int) (mean, variance *Tensor, err error) {
	mean, err = Reduce(x, Mean, axes...)
	if err != nil {
		return nil, nil, err
	}
	d, err := Elementwise(x, mean, Sub)
	if err != nil {
		return nil, nil, err
	}
	defer d.Free()
	if err := x.Backend().Unary(d, d, Unary{Op: Square}); err != nil {
		return nil, nil, fmt.Errorf("moments: %w", err)
	}
	variance, err = Reduce(d, Mean, axes...)
	return mean, variance, err
}
