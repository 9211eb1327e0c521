package tfjs

import (
	"fmt"
	"slices"

	"webcnn/core/graph"
)

// Matrix products: MatMul and _FusedMatMul (transpose_a, transpose_b),
// BatchMatMul and BatchMatMulV2 (adj_x, adj_y). A value times a constant
// matrix is a dense layer (its weights transposed at import when
// transpose_b says so); any other product, either or both operands
// computed at run time with broadcast batch axes, is the IR's matmul,
// the transposed operands transposed by a node (or at import for
// constants), then the fused bias and activation as nodes of their own.

func matmul(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 4); err != nil {
		return nil, err
	}
	var err error
	hasBias, prelu, act := false, false, (*graph.Act)(nil)
	if n.Op == "_FusedMatMul" {
		if hasBias, act, prelu, err = fusedOps(n, in); err != nil {
			return nil, err
		}
	} else if len(in) != 2 {
		return nil, fmt.Errorf("%d inputs, want 2", len(in))
	}
	ta := n.bool("transpose_a") || n.bool("adj_x")
	tb := n.bool("transpose_b") || n.bool("adj_y")
	a, b := in[0], in[1]
	if a.c != nil && b.c != nil {
		return nil, fmt.Errorf("both operands are constants (%q, %q); the importer folds no matrix product", a.c.name, b.c.name)
	}
	var bias *gconst
	if hasBias {
		if bias, err = constant(in[2], "the bias"); err != nil {
			return nil, err
		}
	}
	if a.c == nil && b.c != nil && len(b.c.shape) == 2 && len(a.shape) >= 2 {
		return c.dense(n, a, b.c, ta, tb, bias, act, prelu, in)
	}
	if a, err = c.swapLast(n, a, ta, "a"); err != nil {
		return nil, err
	}
	if b, err = c.swapLast(n, b, tb, "b"); err != nil {
		return nil, err
	}
	out, err := productShape(shapeOf(a), shapeOf(b))
	if err != nil {
		return nil, err
	}
	suffix := ""
	if hasBias || act != nil || prelu {
		suffix = "matmul"
	}
	y := c.emit("matmul", n.Name, suffix, []string{c.operand(a), c.operand(b)}, nil, out)
	return c.epilogue(n, y, bias, act, prelu, in)
}

// dense translates a value [..., K] times a constant [K, N] (or [N, K]).
func (c *graphConv) dense(n *tfNode, a *gval, w *gconst, ta, tb bool, bias *gconst, act *graph.Act, prelu bool, in []*gval) (*gval, error) {
	var err error
	if a, err = c.swapLast(n, a, ta, "a"); err != nil {
		return nil, err
	}
	x := a.shape
	rows, cols := w.shape[0], w.shape[1]
	data := func() []float32 { return w.data }
	tag := ""
	if tb {
		rows, cols, tag = cols, rows, "transposed"
		data = func() []float32 { return swapLastData(w.shape, w.data) }
	}
	if k := x[len(x)-1]; k >= 0 && k != rows {
		return nil, fmt.Errorf("operands %v and %v (transposed: %v, %v) do not chain", x, w.shape, ta, tb)
	}
	ins := []string{a.name, c.tensor(w, tag, []int{rows, cols}, data)}
	if bias != nil {
		if len(bias.shape) != 1 || bias.shape[0] != cols {
			return nil, fmt.Errorf("bias %v for %d outputs", bias.shape, cols)
		}
		ins = append(ins, c.tensor(bias, "", bias.shape, func() []float32 { return bias.data }))
	}
	out := append(slices.Clone(x[:len(x)-1]), cols)
	if prelu {
		return c.prelu(n, c.emit("dense", n.Name, "dense", ins, graph.DenseAttrs{}, out), in[3])
	}
	return c.emit("dense", n.Name, "", ins, graph.DenseAttrs{Act: act}, out), nil
}

// epilogue applies a fused bias and activation to a product.
func (c *graphConv) epilogue(n *tfNode, y *gval, bias *gconst, act *graph.Act, prelu bool, in []*gval) (*gval, error) {
	last := y.shape[len(y.shape)-1]
	if bias != nil {
		if len(bias.shape) != 1 || (last >= 0 && bias.shape[0] != last) {
			return nil, fmt.Errorf("bias %v for outputs %v", bias.shape, y.shape)
		}
		suffix := "bias"
		if act == nil && !prelu {
			suffix = ""
		}
		y = c.emit("add", n.Name, suffix, []string{y.name, c.tensor(bias, "", bias.shape, func() []float32 { return bias.data })}, nil, y.shape)
	}
	switch {
	case prelu:
		return c.prelu(n, y, in[3])
	case act != nil:
		return c.emit("act", n.Name, "", []string{y.name}, *act, y.shape), nil
	}
	return y, nil
}

// swapLast transposes the last two axes of v when swap is set: a node for
// a value, at import for a constant.
func (c *graphConv) swapLast(n *tfNode, v *gval, swap bool, which string) (*gval, error) {
	s := shapeOf(v)
	if len(s) < 2 {
		return nil, fmt.Errorf("operand %s %v: want a matrix or a batch of them", which, s)
	}
	if !swap {
		return v, nil
	}
	out := slices.Clone(s)
	r := len(s)
	out[r-2], out[r-1] = s[r-1], s[r-2]
	if v.c != nil {
		return &gval{c: &gconst{name: v.c.name, tag: v.c.tag + "transposed", shape: out, data: swapLastData(s, v.c.data)}}, nil
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-2], perm[r-1] = r-1, r-2
	return c.emit("transpose", n.Name, "transpose_"+which, []string{v.name}, graph.TransposeAttrs{Perm: perm}, out), nil
}

// swapLastData transposes the last two axes of a constant's values.
func swapLastData(shape []int, data []float32) []float32 {
	r := len(shape)
	rows, cols := shape[r-2], shape[r-1]
	t := make([]float32, len(data))
	for b := 0; b+rows*cols <= len(data); b += rows * cols {
		for i := range rows {
			for j := range cols {
				t[b+j*rows+i] = data[b+i*cols+j]
			}
		}
	}
	return t
}

// productShape is numpy's matmul shape for [..., M, K] and [..., K, N].
func productShape(a, b []int) ([]int, error) {
	ra, rb := len(a), len(b)
	if ka, kb := a[ra-1], b[rb-2]; ka >= 0 && kb >= 0 && ka != kb {
		return nil, fmt.Errorf("operands %v and %v: inner extents %d and %d differ", a, b, ka, kb)
	}
	batch, err := broadcast(a[:ra-2], b[:rb-2])
	if err != nil {
		return nil, fmt.Errorf("operands %v and %v: %w", a, b, err)
	}
	return append(batch, a[ra-2], b[rb-1]), nil
}
