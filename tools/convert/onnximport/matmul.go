package onnximport

import (
	"fmt"
	"slices"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// matMul translates MatMul of an activation [..., K] by a constant [K, M]
// as a dense layer on the last axis (of the data in ONNX order).
// Other products (either or both operands computed at run time, batched)
// become the IR's matmul (batchmatmul.go).
func matMul(e *importer, n *onnx.Node) error {
	a, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	bv, err := e.arg(n, 1)
	if err != nil {
		return err
	}
	if a.c != nil || bv.c == nil || len(bv.dims) != 2 || len(a.dims) < 2 {
		return matMulValues(e, n, a, bv)
	}
	b := bv.c
	if b.isInt {
		return fmt.Errorf("%w: %v x %v (want an activation [..., K] times a float constant [K, M])", ErrUnsupported, a.dims, b.dims)
	}
	k, m := b.dims[0], b.dims[1]
	if d := a.dims[len(a.dims)-1]; d > 0 && d != k {
		return fmt.Errorf("%v x %v: inner extents differ", a.dims, b.dims)
	}
	if a, err = e.asCF(a); err != nil {
		return err
	}
	w := e.weight(b, "dense", b.dims, func() []float32 { return b.f })
	dims := append(slices.Clone(a.dims[:len(a.dims)-1]), m)
	return e.emitOut(n, "dense", []irIn{vin(a), {w: w}}, &graph.DenseAttrs{}, dims, false)
}

// gemm translates Gemm, alpha*A*B' + beta*C with A an activation [N, K]
// (not transposed), B a constant ([K, M], or [M, K] with transB) and C
// a constant broadcast to [M].
func gemm(e *importer, n *onnx.Node) error {
	a, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	b, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	alpha, err := attrFloat(n, "alpha", 1)
	if err != nil {
		return err
	}
	beta, err := attrFloat(n, "beta", 1)
	if err != nil {
		return err
	}
	transA, err := attrInt(n, "transA", 0)
	if err != nil {
		return err
	}
	transB, err := attrInt(n, "transB", 0)
	if err != nil {
		return err
	}
	if transA != 0 {
		if len(a.dims) != 2 || a.dims[0] <= 0 || a.dims[1] <= 0 {
			return fmt.Errorf("%w: transA=1 on A %v (the batch would move)", ErrUnsupported, a.dims)
		}
		t, err := e.step(n, "Transpose", "", []*onnx.Attribute{onnx.IntsAttr("perm", 1, 0)}, a.name)
		if err != nil {
			return err
		}
		a = e.vals[t]
	}
	if len(a.dims) != 2 || len(b.dims) != 2 || b.isInt {
		return fmt.Errorf("%w: A %v, B %v (want an activation [N, K] and a float constant)", ErrUnsupported, a.dims, b.dims)
	}
	kk, m := b.dims[0], b.dims[1]
	if transB != 0 {
		kk, m = m, kk
	}
	if d := a.dims[1]; d > 0 && d != kk {
		return fmt.Errorf("A %v, B %v (transB=%d): inner extents differ", a.dims, b.dims, transB)
	}
	w := e.weight(b, fmt.Sprintf("gemm/%d/%v", transB, alpha), []int64{kk, m}, func() []float32 {
		v := b.f
		if transB != 0 {
			v = permuteData(v, b.dims, []int{1, 0})
		}
		if alpha != 1 {
			v = slices.Clone(v)
			for i := range v {
				v[i] *= alpha
			}
		}
		return v
	})
	ins := []irIn{vin(a), {w: w}}
	c, err := e.optArg(n, 2)
	if err != nil {
		return err
	}
	if c != nil && beta != 0 && (c.c == nil || c.c.isInt || !(c.c.size() == 1 || len(c.c.dims) >= 1 && c.c.dims[len(c.c.dims)-1] == m && c.c.size() == int(m))) {
		// C is computed at run time or is a matrix: the product, then
		// beta*C added with broadcasting.
		y, err := e.emit("dense", nodeName(n)+"/product", ins, &graph.DenseAttrs{}, "", []int64{a.dims[0], m}, false)
		if err != nil {
			return err
		}
		cname := n.Input[2]
		if beta != 1 {
			if c.c != nil {
				k, err := foldBinary("mul", c.c, &constant{dims: []int64{1}, f: []float32{beta}})
				if err != nil {
					return err
				}
				cname = e.konstValue(n, "beta_c", k)
			} else if cname, err = e.chain(n, c, "", graph.Act{Op: "affine", Alpha: beta}); err != nil {
				return err
			}
		}
		if err := e.set(y.name, y); err != nil {
			return err
		}
		_, err = e.step(n, "Add", n.Output[0], nil, y.name, cname)
		return err
	}
	if c != nil && beta != 0 {
		var bias []float32
		if c.c.size() == 1 {
			bias = make([]float32, m)
			for i := range bias {
				bias[i] = c.c.f[0]
			}
		} else {
			bias = slices.Clone(c.c.f)
		}
		for i := range bias {
			bias[i] *= beta
		}
		ins = append(ins, irIn{w: e.weight(c.c, fmt.Sprintf("gemmbias/%v/%d", beta, m), []int64{m}, func() []float32 { return bias })})
	}
	return e.emitOut(n, "dense", ins, &graph.DenseAttrs{}, []int64{a.dims[0], m}, false)
}
