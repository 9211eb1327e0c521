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
	if b.Reference {
		return binaryRef(dst, x, y, op)
	}
	shape := dst.Shape()
	s := newStrided(shape, shape.Strides(), broadcastStrides(x, shape), broadcastStrides(y, shape))
	d, xs, ys := data(dst), data(x), data(y)
	n, st := s.row()
	f := binaryFunc(op)
	s.rows([3]int{}, func(o [3]int) {
		binaryRow(op, f, d[o[0]:o[0]+n], xs[o[1]:], ys[o[2]:], st[1], st[2])
	})
	return nil
}

// binaryRef is the oracle: one index vector stepped over dst.
func binaryRef(dst, x, y *core.Tensor, op core.BinaryOp) error {
	d, xs, ys := data(dst), data(x), data(y)
	shape := dst.Shape()
	sx, sy := broadcastStrides(x, shape), broadcastStrides(y, shape)
	f := binaryFunc(op)
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

// binaryRow sets d[i] = f(a[i*sa], b[i*sb]) for the row d, with f the
// function of op. Strides are 0 or 1 (a row of a or a repeated value);
// add, sub, mul and div have loops of their own for each case, with the
// function inlined (the results are the same: one float32 operation).
func binaryRow(op core.BinaryOp, f func(a, b float32) float32, d, a, b []float32, sa, sb int) {
	n := len(d)
	arith := op == core.Add || op == core.Sub || op == core.Mul || op == core.Div
	switch {
	case arith && sa == 1 && sb == 1:
		binaryRows(op, d, a[:n:n], b[:n:n])
		return
	case arith && sa == 1 && sb == 0:
		binaryRowScalar(op, d, a[:n:n], b[0])
		return
	case arith && sa == 0 && sb == 1:
		binaryScalarRow(op, d, a[0], b[:n:n])
		return
	}
	for i := range d {
		d[i] = f(a[i*sa], b[i*sb])
	}
}

// binaryRows sets d[i] = a[i] op b[i], four elements per step (js/wasm
// pays a dispatch per loop iteration).
func binaryRows(op core.BinaryOp, d, a, b []float32) {
	i := 0
	switch op {
	case core.Add:
		for ; i+4 <= len(d); i += 4 {
			r, x, y := (*[4]float32)(d[i:i+4]), (*[4]float32)(a[i:i+4]), (*[4]float32)(b[i:i+4])
			r[0], r[1], r[2], r[3] = x[0]+y[0], x[1]+y[1], x[2]+y[2], x[3]+y[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] + b[i]
		}
	case core.Sub:
		for ; i+4 <= len(d); i += 4 {
			r, x, y := (*[4]float32)(d[i:i+4]), (*[4]float32)(a[i:i+4]), (*[4]float32)(b[i:i+4])
			r[0], r[1], r[2], r[3] = x[0]-y[0], x[1]-y[1], x[2]-y[2], x[3]-y[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] - b[i]
		}
	case core.Mul:
		for ; i+4 <= len(d); i += 4 {
			r, x, y := (*[4]float32)(d[i:i+4]), (*[4]float32)(a[i:i+4]), (*[4]float32)(b[i:i+4])
			r[0], r[1], r[2], r[3] = x[0]*y[0], x[1]*y[1], x[2]*y[2], x[3]*y[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] * b[i]
		}
	case core.Div:
		for ; i+4 <= len(d); i += 4 {
			r, x, y := (*[4]float32)(d[i:i+4]), (*[4]float32)(a[i:i+4]), (*[4]float32)(b[i:i+4])
			r[0], r[1], r[2], r[3] = x[0]/y[0], x[1]/y[1], x[2]/y[2], x[3]/y[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] / b[i]
		}
	}
}

// binaryRowScalar sets d[i] = a[i] op v.
func binaryRowScalar(op core.BinaryOp, d, a []float32, v float32) {
	switch op {
	case core.Add:
		for i, x := range a {
			d[i] = x + v
		}
	case core.Sub:
		for i, x := range a {
			d[i] = x - v
		}
	case core.Mul:
		for i, x := range a {
			d[i] = x * v
		}
	case core.Div:
		for i, x := range a {
			d[i] = x / v
		}
	}
}

// binaryScalarRow sets d[i] = v op b[i].
func binaryScalarRow(op core.BinaryOp, d []float32, v float32, b []float32) {
	switch op {
	case core.Add:
		for i, y := range b {
			d[i] = v + y
		}
	case core.Sub:
		for i, y := range b {
			d[i] = v - y
		}
	case core.Mul:
		for i, y := range b {
			d[i] = v * y
		}
	case core.Div:
		for i, y := range b {
			d[i] = v / y
		}
	}
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
