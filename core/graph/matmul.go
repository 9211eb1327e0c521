package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// matmul is numpy's (and ONNX's) matrix product of two values, either or
// both computed at run time: a [..., M, K] times b [..., K, N] is
// [..., M, N], the leading (batch) axes broadcast; a rank-1 a is a row
// [1, K] and a rank-1 b a column [K, 1], whose extent 1 is then dropped.
// Products of constants by activations on the last axis import as dense.
func init() {
	register("matmul", noAttrs(func() graphOp { return matmulOp{} }))
}

type matmulOp struct{ opBase }

func (matmulOp) arity() (int, int) { return 2, 2 }
func (matmulOp) weightFirst() bool { return true }

// matmulBroadcastLimit bounds the elements of the [..., M, K, N] product
// that batched products form before summing over K; larger ones loop over
// the batch with one matrix product each.
var matmulBroadcastLimit = 1 << 22

// mmShapes are a product's operands as matrices with batch axes of one rank.
type mmShapes struct {
	a, b    core.Shape // [B..., M, K] and [B..., K, N], batch axes padded with 1s
	batch   core.Shape // broadcast batch axes
	out     core.Shape // the result's shape as numpy gives it
	m, k, n int
}

func matmulShapes(as, bs core.Shape) (mmShapes, error) {
	var s mmShapes
	if as.Rank() < 1 || bs.Rank() < 1 {
		return s, fmt.Errorf("matmul of %v and %v: scalars have no matrix product", as, bs)
	}
	a, b := as.Clone(), bs.Clone()
	if a.Rank() == 1 {
		a = core.Shape{1, a[0]}
	}
	if b.Rank() == 1 {
		b = core.Shape{b[0], 1}
	}
	r := max(a.Rank(), b.Rank())
	pad := func(x core.Shape) core.Shape {
		for x.Rank() < r {
			x = append(core.Shape{1}, x...)
		}
		return x
	}
	a, b = pad(a), pad(b)
	s.m, s.k, s.n = a[r-2], a[r-1], b[r-1]
	if b[r-2] != s.k {
		return s, fmt.Errorf("matmul of %v and %v: inner extents %d and %d differ", as, bs, s.k, b[r-2])
	}
	batch, err := core.BroadcastShape(a[:r-2], b[:r-2])
	if err != nil {
		return s, fmt.Errorf("matmul of %v and %v: batch axes: %w", as, bs, err)
	}
	s.a, s.b, s.batch = a, b, batch
	s.out = append(batch.Clone(), s.m, s.n)
	if as.Rank() == 1 {
		s.out = append(s.out[:len(s.out)-2], s.n)
	}
	if bs.Rank() == 1 {
		s.out = s.out[:len(s.out)-1]
	}
	return s, nil
}

func (matmulOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s, err := matmulShapes(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "MatMul", s.out, f, false)
	return []core.Shape{s.out}, f, nil
}

func (matmulOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	s, err := matmulShapes(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	y, err := matmul(in[0], in[1], s)
	if err != nil {
		return nil, fmt.Errorf("matmul of %v and %v: %w", in[0].Shape(), in[1].Shape(), err)
	}
	return one(y.Reshape(s.out...))
}

// matmul returns the product as [B..., M, N].
func matmul(a, b *core.Tensor, s mmShapes) (*core.Tensor, error) {
	r := s.a.Rank()
	nb := s.batch.Size()
	sizeA, sizeB := s.a[:r-2].Size(), s.b[:r-2].Size()
	switch {
	case nb == 1 || sizeB == 1:
		// One matrix on the right: a's rows of every batch at once.
		av, err := a.Reshape(nb*s.m, s.k)
		if err != nil || sizeA != nb {
			break
		}
		bv, err := b.Reshape(s.k, s.n)
		if err != nil {
			return nil, err
		}
		y, err := core.MatMulT(av, bv, nil, core.MatMul{})
		if err != nil {
			return nil, err
		}
		return y.Reshape(append(s.batch.Clone(), s.m, s.n)...)
	}
	if nb*s.m*s.k*s.n <= matmulBroadcastLimit {
		return broadcastMatMul(a, b, s)
	}
	return loopMatMul(a, b, s)
}

// broadcastMatMul forms a [B..., M, K, 1] * b [B..., 1, K, N] with
// broadcasting and sums over K: two kernels whatever the batch.
func broadcastMatMul(a, b *core.Tensor, s mmShapes) (*core.Tensor, error) {
	r := s.a.Rank()
	av, err := a.Reshape(append(s.a.Clone(), 1)...)
	if err != nil {
		return nil, err
	}
	bs := append(s.b[:r-2].Clone(), 1, s.k, s.n)
	bv, err := b.Reshape(bs...)
	if err != nil {
		return nil, err
	}
	p, err := core.Elementwise(av, bv, core.Mul)
	if err != nil {
		return nil, err
	}
	y, err := core.Reduce(p, core.Sum, r-1)
	p.Free()
	if err != nil {
		return nil, err
	}
	return y.Reshape(append(s.batch.Clone(), s.m, s.n)...)
}

// loopMatMul multiplies batch by batch: each operand's matrix is copied
// out (broadcast batch axes read the same one), multiplied, and copied
// into the result.
func loopMatMul(a, b *core.Tensor, s mmShapes) (*core.Tensor, error) {
	be := a.Backend()
	r := s.a.Rank()
	nb := s.batch.Size()
	y, err := core.New(be, append(s.batch.Clone(), s.m, s.n))
	if err != nil {
		return nil, err
	}
	am, err := core.New(be, core.Shape{s.m, s.k})
	if err != nil {
		y.Free()
		return nil, err
	}
	defer am.Free()
	bm, err := core.New(be, core.Shape{s.k, s.n})
	if err != nil {
		y.Free()
		return nil, err
	}
	defer bm.Free()
	// offset returns the matrix offset of batch index i in an operand
	// whose batch axes are shape (extent 1 broadcasts).
	offset := func(shape core.Shape, i, mat int) int {
		off, stride := 0, mat
		for ax := r - 3; ax >= 0; ax-- {
			d := s.batch[ax]
			j := i % d
			i /= d
			if shape[ax] > 1 {
				off += j * stride
			}
			stride *= shape[ax]
		}
		return off
	}
	for i := range nb {
		err := core.CopyRegion(am, a, core.Copy{Shape: []int{s.m * s.k}, SrcOffset: offset(s.a, i, s.m*s.k), SrcStrides: []int{1}, DstStrides: []int{1}})
		if err == nil {
			err = core.CopyRegion(bm, b, core.Copy{Shape: []int{s.k * s.n}, SrcOffset: offset(s.b, i, s.k*s.n), SrcStrides: []int{1}, DstStrides: []int{1}})
		}
		var p *core.Tensor
		if err == nil {
			p, err = core.MatMulT(am, bm, nil, core.MatMul{})
		}
		if err == nil {
			err = core.CopyRegion(y, p, core.Copy{Shape: []int{s.m * s.n}, DstOffset: i * s.m * s.n, SrcStrides: []int{1}, DstStrides: []int{1}})
			p.Free()
		}
		if err != nil {
			y.Free()
			return nil, err
		}
	}
	return y, nil
}
