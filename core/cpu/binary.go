package cpu

import (
	"math"

	"webcnn/core"
)

// broadcastStrides returns the strides of t as read along dst's axes:
// 0 where t has extent 1 (the value repeats), row-major otherwise.
func broadcastStrides(t *core.Tensor, dst core.Shape) []int {
	s := t.Shape()
	st := s.Strides()
	for i := range st {
		if s[i] == 1 && dst[i] != 1 {
			st[i] = 0
		}
	}
	return st
}

// Binary sets dst[i] = a[ia] op b[ib] where ia and ib are dst's index with
// every axis of extent 1 in a (or b) held at 0: numpy broadcasting.
func (b *Backend) Binary(dst, x, y *core.Tensor, op core.BinaryOp) error {
	d, xs, ys := data(dst), data(x), data(y)
	shape := dst.Shape()
	sx, sy := broadcastStrides(x, shape), broadcastStrides(y, shape)
	f := binaryFunc(op)
	if len(xs) == len(d) && len(ys) == len(d) {
		for i := range d {
			d[i] = f(xs[i], ys[i])
		}
		return nil
	}
	idx := make([]int, len(shape))
	for i := range d {
		ox, oy := 0, 0
		for k, v := range idx {
			ox += v * sx[k]
			oy += v * sy[k]
		}
		d[i] = f(xs[ox], ys[oy])
		next(idx, shape)
	}
	return nil
}

func binaryFunc(op core.BinaryOp) func(a, b float32) float32 {
	switch op {
	case core.Add:
		return func(a, b float32) float32 { return a + b }
	case core.Sub:
		return func(a, b float32) float32 { return a - b }
	case core.Mul:
		return func(a, b float32) float32 { return a * b }
	case core.Div:
		return func(a, b float32) float32 { return a / b }
	case core.Max:
		return func(a, b float32) float32 { return float32(math.Max(float64(a), float64(b))) }
	case core.Min:
		return func(a, b float32) float32 { return float32(math.Min(float64(a), float64(b))) }
	}
	panic("cpu: binary op " + op.String() + " not implemented")
}
