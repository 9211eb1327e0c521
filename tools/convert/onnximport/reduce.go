package onnximport

import (
	"fmt"
	"slices"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// pad translates Pad (constant mode) with pads reordered to the layout.
func pad(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	mode, err := attrString(n, "mode", "constant")
	if err != nil {
		return err
	}
	if mode != "constant" && mode != "reflect" && mode != "edge" {
		return fmt.Errorf("%w: mode %q", ErrUnsupported, mode)
	}
	var pads []int64
	val := float32(0)
	if e.opset < 11 {
		var ok bool
		if pads, ok, err = attrInts(n, "pads"); err != nil || !ok {
			return fmt.Errorf("pads: %v", err)
		}
		if val, err = attrFloat(n, "value", 0); err != nil {
			return err
		}
	} else {
		p, err := e.konst(n, 1)
		if err != nil {
			return err
		}
		pads = p.ints()
		if v, err := e.optArg(n, 2); err != nil {
			return err
		} else if v != nil {
			s, ok := float32(0), false
			if v.c != nil {
				s, ok = v.c.scalar()
			}
			if !ok {
				return fmt.Errorf("%w: constant_value is not a constant scalar", ErrUnsupported)
			}
			val = s
		}
		if len(n.Input) > 3 && n.Input[3] != "" {
			return fmt.Errorf("%w: the axes input", ErrUnsupported)
		}
	}
	if err := finite(val); err != nil {
		return err
	}
	r := len(x.dims)
	if len(pads) != 2*r {
		return fmt.Errorf("pads %v for rank %d", pads, r)
	}
	p, err := ints(pads)
	if err != nil {
		return err
	}
	if mode != "constant" {
		return e.padEdges(n, x, mode, p)
	}
	before, after := make([]int, r), make([]int, r)
	dims := slices.Clone(x.dims)
	for i, l := range x.layout() {
		if p[l] < 0 || p[r+l] < 0 {
			return fmt.Errorf("%w: negative pads %v", ErrUnsupported, pads)
		}
		before[i], after[i] = p[l], p[r+l]
		if dims[l] > 0 {
			dims[l] += int64(p[l] + p[r+l])
		}
	}
	return e.emitOut(n, "pad", []irIn{vin(x)}, graph.PadAttrs{Before: before, After: after, Value: val}, dims, x.cl)
}

// reduceVariants are the reductions composed of a sum and activations
// before and after it: ReduceL1 = sum |x|, ReduceL2 = sqrt(sum x^2),
// ReduceSumSquare = sum x^2, ReduceLogSum = log(sum x), ReduceLogSumExp
// = log(sum e^x).
var reduceVariants = map[string]struct{ pre, post string }{
	"ReduceL1":        {pre: "abs"},
	"ReduceL2":        {pre: "square", post: "sqrt"},
	"ReduceSumSquare": {pre: "square"},
	"ReduceLogSum":    {post: "log"},
	"ReduceLogSumExp": {pre: "exp", post: "log"},
}

// reduce translates ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd and the
// variants above.
func reduce(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	variant, isVariant := reduceVariants[n.OpType]
	from := int64(18)
	if n.OpType == "ReduceSum" {
		from = 13
	}
	axes, _, err := e.axesArg(n, from)
	if err != nil {
		return err
	}
	keep, err := attrInt(n, "keepdims", 1)
	if err != nil {
		return err
	}
	if noop, _ := attrInt(n, "noop_with_empty_axes", 0); noop != 0 && len(axes) == 0 {
		if isVariant {
			return fmt.Errorf("%w: noop_with_empty_axes on %s", ErrUnsupported, n.OpType)
		}
		return e.alias(n, x)
	}
	r := len(x.dims)
	drop := make([]bool, r)
	for _, a := range axes {
		i, err := normAxis(a, r)
		if err != nil || drop[i] {
			return fmt.Errorf("axes %v for rank %d", axes, r)
		}
		drop[i] = true
	}
	if len(axes) == 0 {
		for i := range drop {
			drop[i] = true
		}
	}
	// Without keepdims the kept axes must stay in ONNX order.
	if keep == 0 && x.cl {
		last := -1
		for _, l := range x.layout() {
			if !drop[l] {
				if l < last {
					if x, err = e.asCF(x); err != nil {
						return err
					}
					break
				}
				last = l
			}
		}
	}
	var ours []int
	var dims []int64
	for i, l := range x.layout() {
		if drop[l] {
			ours = append(ours, i)
		}
	}
	for i, d := range x.dims {
		switch {
		case !drop[i]:
			dims = append(dims, d)
		case keep != 0:
			dims = append(dims, 1)
		}
	}
	if len(dims) == 0 {
		dims = []int64{1}
	}
	op := map[string]string{"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "reduce_max", "ReduceMin": "reduce_min", "ReduceProd": "reduce_prod"}[n.OpType]
	k := keep != 0
	cl := x.cl && k
	if !isVariant {
		return e.emitOut(n, op, []irIn{vin(x)}, graph.ReduceAttrs{Axes: ours, Keep: &k}, dims, cl)
	}
	if variant.pre != "" {
		if x, err = e.emit("act", nodeName(n)+"/"+variant.pre, []irIn{vin(x)}, graph.Act{Op: variant.pre}, "", x.dims, x.cl); err != nil {
			return err
		}
	}
	if variant.post == "" {
		return e.emitOut(n, "sum", []irIn{vin(x)}, graph.ReduceAttrs{Axes: ours, Keep: &k}, dims, cl)
	}
	s, err := e.emit("sum", nodeName(n)+"/sum", []irIn{vin(x)}, graph.ReduceAttrs{Axes: ours, Keep: &k}, "", dims, cl)
	if err != nil {
		return err
	}
	return e.emitOut(n, "act", []irIn{vin(s)}, graph.Act{Op: variant.post}, dims, cl)
}
