package onnximport

import (
	"fmt"
	"slices"

	"webcnn/tools/convert/onnx"
)

// matMulValues translates a MatMul that is not an activation times a
// constant matrix: both operands computed at run time (attention), a
// constant on the left, or batched constants. Both are taken in ONNX
// order and multiplied with numpy's rules (the IR's matmul).
func matMulValues(e *importer, n *onnx.Node, a, b *value) error {
	if a.c != nil && b.c != nil {
		return fmt.Errorf("%w: both operands are constants (%v x %v); fold them before export", ErrUnsupported, a.dims, b.dims)
	}
	ins := make([]irIn, 2)
	for i, v := range []*value{a, b} {
		if v.c != nil {
			if v.c.isInt {
				return fmt.Errorf("%w: operand %d %q is an integer constant", ErrUnsupported, i, n.Input[i])
			}
			c := v.c
			ins[i] = irIn{w: e.weight(c, "matmul", c.dims, func() []float32 { return c.f })}
			continue
		}
		cf, err := e.asCF(v)
		if err != nil {
			return err
		}
		ins[i] = vin(cf)
	}
	dims, err := matMulDims(a.dims, b.dims)
	if err != nil {
		return err
	}
	return e.emitOut(n, "matmul", ins, nil, dims, false)
}

// matMulDims is numpy's matmul shape rule over dims with symbolic extents.
func matMulDims(a, b []int64) ([]int64, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("%v x %v: scalars have no matrix product", a, b)
	}
	a2, b2 := slices.Clone(a), slices.Clone(b)
	if len(a2) == 1 {
		a2 = []int64{1, a2[0]}
	}
	if len(b2) == 1 {
		b2 = []int64{b2[0], 1}
	}
	ka, kb := a2[len(a2)-1], b2[len(b2)-2]
	if ka > 0 && kb > 0 && ka != kb {
		return nil, fmt.Errorf("%v x %v: inner extents differ", a, b)
	}
	batch, err := broadcastDims(a2[:len(a2)-2], b2[:len(b2)-2])
	if err != nil {
		return nil, fmt.Errorf("%v x %v: %w", a, b, err)
	}
	out := append(batch, a2[len(a2)-2], b2[len(b2)-1])
	if len(a) == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	return out, nil
}
