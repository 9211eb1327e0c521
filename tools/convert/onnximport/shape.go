package onnximport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// reshape translates Reshape. A constant is re-dimensioned; an activation
// is taken to ONNX order and viewed with the new dims.
func reshape(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	var target []int64
	if e.opset < 5 {
		t, ok, err := attrInts(n, "shape")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no shape attribute")
		}
		target = t
	} else {
		t, err := e.konst(n, 1)
		if err != nil {
			return err
		}
		target = t.ints()
	}
	allowZero, err := attrInt(n, "allowzero", 0)
	if err != nil {
		return err
	}
	dims, err := reshapeDims(x.dims, target, allowZero != 0, x.c == nil)
	if err != nil {
		return err
	}
	if x.c != nil {
		if n, ok := product(dims); !ok || n != x.c.size() {
			return fmt.Errorf("reshape of constant %v to %v", x.c.dims, target)
		}
		c := *x.c
		c.dims = dims
		return e.setConst(n, 0, &c)
	}
	return e.view(n, x, dims)
}

// reshapeDims resolves a Reshape target against input dims: 0 copies the
// input's extent (unless allowzero), -1 is inferred. For an activation
// whose axis 0 is the batch, a target starting with 1 (the batch of the
// exported file) keeps the batch, so the graph runs at any batch.
func reshapeDims(in, target []int64, allowZero, batched bool) ([]int64, error) {
	out := make([]int64, len(target))
	infer := -1
	for i, t := range target {
		switch {
		case t == 0 && allowZero:
			return nil, fmt.Errorf("%w: reshape to an empty extent (%v)", ErrUnsupported, target)
		case t == 0:
			if i >= len(in) {
				return nil, fmt.Errorf("reshape target %v copies axis %d of %v", target, i, in)
			}
			out[i] = in[i]
		case t == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("reshape target %v has two -1", target)
			}
			infer = i
		case t == dimBatch || t > 0 && t <= 1<<30:
			out[i] = t
		default:
			return nil, fmt.Errorf("reshape target %v: extent %d", target, t)
		}
	}
	batch := batched && len(in) > 0 && in[0] == dimBatch
	if batch && len(out) > 0 && infer != 0 && (out[0] == 1 || out[0] == dimBatch) {
		out[0] = dimBatch
	}
	if infer >= 0 {
		out[infer] = dimUnknown
		inRest, outRest := in, slices.Clone(out)
		outRest[infer] = 1
		if batch && out[0] == dimBatch {
			inRest, outRest = in[1:], outRest[1:]
		}
		a, okA := product(inRest)
		b, okB := product(outRest)
		switch {
		case okA && okB && b > 0 && a%b == 0:
			out[infer] = int64(a / b)
		case okA && okB:
			return nil, fmt.Errorf("reshape %v to %v: %d elements do not divide by %d", in, target, a, b)
		case infer == 0 && batch && okB:
			if a, ok := product(in[1:]); ok && a == b {
				out[0] = dimBatch
			}
		}
	} else if a, okA := product(in); okA {
		if b, okB := product(out); okB && a != b {
			return nil, fmt.Errorf("reshape %v (%d elements) to %v (%d elements)", in, a, target, b)
		}
	}
	return out, nil
}

// view emits a reshape of activation x (taken to ONNX order) to ONNX dims
// as output 0 of n; unchanged dims are an alias (in x's layout).
func (e *importer) view(n *onnx.Node, x *value, dims []int64) error {
	if slices.Equal(x.dims, dims) && !slices.Contains(dims, dimUnknown) {
		return e.alias(n, x)
	}
	x, err := e.asCF(x)
	if err != nil {
		return err
	}
	t, ok := reshapeTarget(x.dims, dims)
	if !ok {
		return fmt.Errorf("%w: reshape of %q from %s to %s: more than one extent depends on the input's size, which the graph leaves dynamic; convert with a fixed input size (the converter's --input-size HxW, Options.Height and Width)", ErrUnsupported, x.name, showDims(x.dims), showDims(dims))
	}
	return e.emitOut(n, "reshape", []irIn{vin(x)}, graph.ReshapeAttrs{Shape: t}, dims, false)
}

// flatten translates Flatten: [prod(dims[:axis]), prod(dims[axis:])] of
// the data in ONNX order.
func flatten(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	ax, err := attrInt(n, "axis", 1)
	if err != nil {
		return err
	}
	r := len(x.dims)
	if ax < 0 {
		ax += int64(r)
	}
	if ax < 0 || ax > int64(r) {
		return fmt.Errorf("axis %d for rank %d", ax, r)
	}
	fold := func(d []int64) int64 {
		if len(d) > 0 && d[0] == dimBatch {
			if p, ok := product(d[1:]); ok && p == 1 {
				return dimBatch
			}
			return dimUnknown
		}
		if p, ok := product(d); ok {
			return int64(p)
		}
		return dimUnknown
	}
	dims := []int64{fold(x.dims[:ax]), fold(x.dims[ax:])}
	if x.c != nil {
		c := *x.c
		c.dims = dims
		return e.setConst(n, 0, &c)
	}
	if x, err = e.asCF(x); err != nil {
		return err
	}
	a := int(ax)
	return e.emitOut(n, "flatten", []irIn{vin(x)}, graph.FlattenAttrs{Axis: &a}, dims, false)
}

// transpose translates Transpose, composing the permutation with the
// activation's layout (a transpose that undoes the layout is free).
func transpose(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	r := len(x.dims)
	p64, ok, err := attrInts(n, "perm")
	if err != nil {
		return err
	}
	if !ok {
		for i := r - 1; i >= 0; i-- {
			p64 = append(p64, int64(i))
		}
	}
	p, err := checkPerm(p64, r)
	if err != nil {
		return err
	}
	dims := permuteDims(x.dims, p)
	if x.c != nil {
		if r == 0 {
			return e.setConst(n, 0, x.c)
		}
		return e.setConst(n, 0, permuteConst(x.c, p))
	}
	// y_onnx = permute(x_ours, q), q[i] = Linv[p[i]]; held channels-last:
	// q'[i] = q[L[i]].
	inv := make([]int, r)
	for i, l := range x.layout() {
		inv[l] = i
	}
	q := make([]int, r)
	for i := range q {
		q[i] = inv[p[i]]
	}
	cf := q
	var cl []int
	if r >= 3 {
		cl = permuteInts(q, toLast(r))
	}
	switch {
	case cl != nil && slices.Equal(cl, identity(r)):
		return e.set(n.Output[0], &value{name: x.name, dims: dims, cl: true})
	case slices.Equal(cf, identity(r)):
		return e.set(n.Output[0], &value{name: x.name, dims: dims})
	case cl != nil:
		return e.emitOut(n, "transpose", []irIn{vin(x)}, graph.TransposeAttrs{Perm: cl}, dims, true)
	}
	return e.emitOut(n, "transpose", []irIn{vin(x)}, graph.TransposeAttrs{Perm: cf}, dims, false)
}

func permuteInts(v []int, perm []int) []int {
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = v[p]
	}
	return out
}

// axesArg reads the axes of Squeeze, Unsqueeze and the reductions: an
// attribute before opset 13 (18 for ReduceMean/Max/Min), an input after.
func (e *importer) axesArg(n *onnx.Node, inputFrom int64) ([]int64, bool, error) {
	if e.opset < inputFrom {
		return attrInts(n, "axes")
	}
	return e.optInts(n, 1)
}

// squeeze translates Squeeze and Unsqueeze as views of ONNX-ordered data.
func squeeze(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	axes, has, err := e.axesArg(n, 13)
	if err != nil {
		return err
	}
	var dims []int64
	if n.OpType == "Squeeze" {
		drop := make([]bool, len(x.dims))
		for _, a := range axes {
			i, err := normAxis(a, len(x.dims))
			if err != nil {
				return err
			}
			if x.dims[i] != 1 {
				return fmt.Errorf("squeeze axis %d of %v", a, x.dims)
			}
			drop[i] = true
		}
		for i, d := range x.dims {
			if !has && d == 1 {
				drop[i] = true
			}
			if !drop[i] {
				dims = append(dims, d)
			}
		}
	} else {
		if !has {
			return fmt.Errorf("no axes")
		}
		r := len(x.dims) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			i, err := normAxis(a, r)
			if err != nil {
				return err
			}
			if ins[i] {
				return fmt.Errorf("axes %v repeat %d", axes, a)
			}
			ins[i] = true
		}
		k := 0
		for i := range r {
			if ins[i] {
				dims = append(dims, 1)
			} else {
				dims = append(dims, x.dims[k])
				k++
			}
		}
	}
	if x.c != nil {
		c := *x.c
		c.dims = dims
		return e.setConst(n, 0, &c)
	}
	if len(dims) == 0 {
		return fmt.Errorf("%w: squeezing to a scalar", ErrUnsupported)
	}
	return e.view(n, x, dims)
}

// concat translates Concat: constants fold; activations join on the axis
// mapped to their layout.
func concat(e *importer, n *onnx.Node) error {
	ax, err := attrInt(n, "axis", math.MinInt64)
	if err != nil {
		return err
	}
	if ax == math.MinInt64 {
		return fmt.Errorf("no axis")
	}
	var vs []*value
	consts := 0
	for i := range n.Input {
		v, err := e.arg(n, i)
		if err != nil {
			return err
		}
		if v.c != nil {
			consts++
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return fmt.Errorf("no inputs")
	}
	r := len(vs[0].dims)
	a, err := normAxis(ax, max(r, 1))
	if err != nil {
		return err
	}
	dims := slices.Clone(vs[0].dims)
	for _, v := range vs[1:] {
		if len(v.dims) != r {
			return fmt.Errorf("inputs of ranks %d and %d", r, len(v.dims))
		}
		for i := range dims {
			switch {
			case i == a:
				if dims[i] > 0 && v.dims[i] > 0 {
					dims[i] += v.dims[i]
				} else {
					dims[i] = dimUnknown
				}
			case dims[i] != v.dims[i] && dims[i] > 0 && v.dims[i] > 0:
				return fmt.Errorf("inputs %v and %v differ off axis %d", vs[0].dims, v.dims, a)
			}
		}
	}
	if consts == len(vs) {
		c, err := foldConcat(vs, a)
		if err != nil {
			return err
		}
		return e.setConst(n, 0, c)
	}
	if consts > 0 {
		return fmt.Errorf("%w: concat of constants and activations", ErrUnsupported)
	}
	cl := false
	for _, v := range vs {
		cl = cl || v.cl
	}
	ins := make([]irIn, len(vs))
	for i, v := range vs {
		if cl {
			if v, err = e.asCL(v); err != nil {
				return err
			}
		}
		ins[i] = vin(v)
	}
	v0 := &value{dims: dims, cl: cl}
	axis := v0.ourAxis(a)
	if axis == r-1 {
		axis = -1
	}
	return e.emitOut(n, "concat", ins, graph.Axis(axis), dims, cl)
}

// slice translates Slice: constants fold (any steps, empty results);
// activations slice with steps 1 on the axes mapped to their layout.
func slice(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	var starts, ends, axes, steps []int64
	if e.opset < 10 {
		var ok bool
		if starts, ok, err = attrInts(n, "starts"); err != nil || !ok {
			return fmt.Errorf("starts: %v", err)
		}
		if ends, ok, err = attrInts(n, "ends"); err != nil || !ok {
			return fmt.Errorf("ends: %v", err)
		}
		if axes, _, err = attrInts(n, "axes"); err != nil {
			return err
		}
	} else {
		var ok bool
		if starts, ok, err = e.optInts(n, 1); err != nil || !ok {
			return fmt.Errorf("starts: %v", err)
		}
		if ends, ok, err = e.optInts(n, 2); err != nil || !ok {
			return fmt.Errorf("ends: %v", err)
		}
		if axes, _, err = e.optInts(n, 3); err != nil {
			return err
		}
		if steps, _, err = e.optInts(n, 4); err != nil {
			return err
		}
	}
	r := len(x.dims)
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(starts) != len(ends) || len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
		return fmt.Errorf("starts %v, ends %v, axes %v, steps %v", starts, ends, axes, steps)
	}
	if x.c != nil {
		return sliceFold(e, n, x.c, starts, ends, axes, steps)
	}
	var ourSteps []int
	for _, s := range steps {
		if s == 0 {
			return fmt.Errorf("steps %v: a step of 0", steps)
		}
		if s != 1 {
			ourSteps = []int{}
		}
	}
	dims := slices.Clone(x.dims)
	lo, hi := make([]int64, r), slices.Clone(x.dims)
	seen := make([]bool, r)
	var ourAxes, ourStarts, ourEnds []int
	for i, a64 := range axes {
		a, err := normAxis(a64, r)
		if err != nil || seen[a] {
			return fmt.Errorf("axes %v for rank %d", axes, r)
		}
		seen[a] = true
		d := x.dims[a]
		if d < 0 {
			if x.c != nil || a == 0 {
				return fmt.Errorf("%w: slicing the batch or a dynamic axis", ErrUnsupported)
			}
			return fmt.Errorf("%w: slicing axis %d of unknown extent", ErrUnsupported, a)
		}
		if ourSteps != nil {
			// A step: ONNX's clamping (sliceSteps), then the IR's
			// slice with the resolved start and end (-(d+1) is
			// "before the first" for a negative step).
			st := steps[i]
			b, cnt := sliceWindow(d, starts[i], ends[i], st)
			if cnt <= 0 {
				return fmt.Errorf("%w: slice [%d, %d) step %d of axis %d keeps nothing", ErrUnsupported, starts[i], ends[i], st, a)
			}
			en := b + cnt*st
			if en < 0 {
				en = -(d + 1)
			}
			dims[a] = cnt
			ourAxes = append(ourAxes, x.ourAxis(a))
			ourStarts, ourEnds, ourSteps = append(ourStarts, int(b)), append(ourEnds, int(min(en, d))), append(ourSteps, int(st))
			continue
		}
		b, en := clampRange(clampBig(starts[i]), d), clampRange(clampBig(ends[i]), d)
		if en <= b {
			return fmt.Errorf("%w: slice [%d, %d) of axis %d keeps nothing", ErrUnsupported, starts[i], ends[i], a)
		}
		lo[a], hi[a], dims[a] = b, en, en-b
		ourAxes = append(ourAxes, x.ourAxis(a))
		ourStarts, ourEnds = append(ourStarts, int(b)), append(ourEnds, int(en))
	}
	if len(ourAxes) == 0 {
		return e.alias(n, x)
	}
	return e.emitOut(n, "slice", []irIn{vin(x)}, graph.SliceAttrs{Axes: ourAxes, Starts: ourStarts, Ends: ourEnds, Steps: ourSteps}, dims, x.cl)
}

// showDims writes dims for a user: the batch as N, extents known only at
// run time as ?.
func showDims(dims []int64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		switch d {
		case dimBatch:
			parts[i] = "N"
		case dimUnknown:
			parts[i] = "?"
		default:
			parts[i] = strconv.FormatInt(d, 10)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
