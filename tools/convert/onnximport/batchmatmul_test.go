package onnximport

import (
	"testing"

	"webcnn/tools/convert/onnx"
)

// TestMatMulValues holds MatMul with operands computed at run time
// (batched, broadcast, rank 1) and Pow to onnxruntime.
func TestMatMulValues(t *testing.T) {
	in := []int64{2, 3, 4, 5}
	tr := func(b *builder, x string, perm ...int64) string {
		return b.op("Transpose", []string{x}, iattr("perm", perm...))
	}
	mm := func(b *builder, x, y string) string { return b.op("MatMul", []string{x, y}) }
	checkCases(t, 16, []ortCase{
		{"x times its transpose (attention scores)", 13, in, func(b *builder) string { return mm(b, "x", tr(b, "x", 0, 1, 3, 2)) }, 0},
		{"softmax(q k') v", 13, in, func(b *builder) string {
			s := b.op("Softmax", []string{mm(b, "x", tr(b, "x", 0, 1, 3, 2))}, onnx.IntAttr("axis", -1))
			return mm(b, s, "x")
		}, 0},
		{"broadcast batch [2,1,4,5] x [2,3,5,4]", 13, in, func(b *builder) string {
			a := b.op("ReduceMean", []string{"x"}, iattr("axes", 1))
			return mm(b, a, tr(b, "x", 0, 1, 3, 2))
		}, 0},
		{"constant on the left [3,4] x [2,3,4,5]", 13, in, func(b *builder) string { return mm(b, b.w(1, 3, 4), "x") }, 0},
		{"batched constant on the right [3,5,2]", 13, in, func(b *builder) string { return mm(b, "x", b.w(1, 3, 5, 2)) }, 0},
		{"rank-1 constant on the right", 13, in, func(b *builder) string { return mm(b, "x", b.w(1, 5)) }, 0},
		{"rank-1 constant on the left", 13, in, func(b *builder) string { return mm(b, b.w(1, 4), "x") }, 0},
		{"rank-3 input [2,6,4]", 13, []int64{2, 6, 4}, func(b *builder) string { return mm(b, "x", tr(b, "x", 0, 2, 1)) }, 0},
		{"pow 2 (layer norm variance)", 9, in, func(b *builder) string {
			d := b.op("Sub", []string{"x", b.op("ReduceMean", []string{"x"}, iattr("axes", -1))})
			return b.op("ReduceMean", []string{b.op("Pow", []string{d, b.f(2)})}, iattr("axes", -1))
		}, 0},
		{"pow 3 of negative bases", 13, in, func(b *builder) string { return b.op("Pow", []string{"x", b.f(3)}) }, 0},
		{"pow 0.5 and -1", 13, in, func(b *builder) string {
			a := b.op("Add", []string{b.op("Abs", []string{"x"}), b.f(0.5)})
			return b.op("Pow", []string{b.op("Pow", []string{a, b.f(0.5)}), b.f(-1)})
		}, 0},
		{"pow 1.7 of positive bases", 13, in, func(b *builder) string {
			return b.op("Pow", []string{b.op("Add", []string{b.op("Abs", []string{"x"}), b.f(0.1)}), b.f(1.7)})
		}, 0},
	})
}
