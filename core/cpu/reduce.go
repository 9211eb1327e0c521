package cpu

import (
	"math"

	"webcnn/core"
)

// Reduce folds x into dst over every axis where dst has extent 1 and x
// does not. Sums accumulate in float64, so the result is the exact sum
// rounded once; products in float64 too.
func (b *Backend) Reduce(dst, x *core.Tensor, op core.ReduceOp) error {
	d, s := data(dst), data(x)
	xs := x.Shape()
	acc := make([]float64, len(d))
	switch op {
	case core.ReduceMax:
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
	case core.ReduceMin:
		for i := range acc {
			acc[i] = math.Inf(1)
		}
	case core.ReduceProd:
		for i := range acc {
			acc[i] = 1
		}
	}
	dstStrides := broadcastStrides(dst, xs)
	idx := make([]int, len(xs))
	for _, v := range s {
		o := 0
		for k, i := range idx {
			o += i * dstStrides[k]
		}
		switch op {
		case core.Sum, core.Mean:
			acc[o] += float64(v)
		case core.ReduceMax:
			acc[o] = math.Max(acc[o], float64(v))
		case core.ReduceMin:
			acc[o] = math.Min(acc[o], float64(v))
		case core.ReduceProd:
			acc[o] *= float64(v)
		}
		next(idx, xs)
	}
	count := float64(len(s) / len(d))
	for i := range d {
		if op == core.Mean {
			acc[i] /= count
		}
		d[i] = float32(acc[i])
	}
	return nil
}
