package onnximport

import (
	"fmt"
	"math"
	"slices"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// constantNode translates Constant: its value becomes a constant (and a
// weight wherever an op uses it as one).
func constantNode(e *importer, n *onnx.Node) error {
	for _, a := range n.Attribute {
		var c *constant
		var err error
		switch a.Name {
		case "value":
			c, err = decodeTensor(a.T)
		case "value_float":
			c = &constant{f: []float32{a.F}}
		case "value_floats":
			c = &constant{dims: []int64{int64(len(a.Floats))}, f: a.Floats}
		case "value_int":
			c = &constant{i: []int64{a.I}, isInt: true}
		case "value_ints":
			c = &constant{dims: []int64{int64(len(a.Ints))}, i: a.Ints, isInt: true}
		default:
			return fmt.Errorf("%w: attribute %s", ErrUnsupported, a.Name)
		}
		if err != nil {
			return err
		}
		return e.setConst(n, 0, c)
	}
	return fmt.Errorf("no value")
}

// identityNode translates Identity and Dropout (inference: the input).
func identityNode(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	if n.OpType == "Dropout" {
		// training_mode (opset 12) drops at random unless the ratio is 0.
		if t, err := e.optArg(n, 2); err != nil {
			return err
		} else if t != nil && (t.c == nil || t.c.ints()[0] != 0) {
			ratio := float32(0.5)
			if r, err := e.optArg(n, 1); err != nil {
				return err
			} else if r != nil && r.c != nil && r.c.size() == 1 {
				ratio = r.c.floats()[0]
			}
			if ratio != 0 {
				return fmt.Errorf("%w: training_mode (random dropout at inference)", ErrUnsupported)
			}
		}
	}
	if len(n.Output) > 1 && n.Output[1] != "" {
		if n.OpType != "Dropout" || x.c != nil {
			return fmt.Errorf("%w: the mask output", ErrUnsupported)
		}
		// Inference keeps every element: the mask is all ones (true),
		// computed from x as clip(x)*0 + 1 (finite, so never NaN).
		if _, err := e.chain(n, x, n.Output[1], graph.Act{Op: "clip", Alpha: -math.MaxFloat32, Beta: math.MaxFloat32},
			graph.Act{Op: "affine", Alpha: 0, Beta: 1}); err != nil {
			return err
		}
	}
	return e.alias(n, x)
}

// shapeNode translates Shape: the input's dims as an integer constant
// (the batch and dynamic extents symbolic).
func shapeNode(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	dims := slices.Clone(x.dims)
	r := int64(len(dims))
	start, err := attrInt(n, "start", 0)
	if err != nil {
		return err
	}
	end, err := attrInt(n, "end", r)
	if err != nil {
		return err
	}
	start, end = clampRange(start, r), clampRange(end, r)
	if end < start {
		end = start
	}
	dims = dims[start:end]
	return e.setConst(n, 0, &constant{dims: []int64{int64(len(dims))}, i: dims, isInt: true})
}

func clampRange(v, r int64) int64 {
	if v < 0 {
		v += r
	}
	return max(0, min(v, r))
}

// cast translates Cast: constants convert; an activation cast to float is itself.
func cast(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	to, err := attrInt(n, "to", 0)
	if err != nil {
		return err
	}
	floatType := to == int64(onnx.Float) || to == int64(onnx.Double) || to == int64(onnx.Float16)
	_, intType := intTypes[onnx.DataType(to)]
	intType = intType || to == int64(onnx.Int64)
	if x.c == nil {
		if !floatType {
			return fmt.Errorf("%w: cast of an activation to type %d", ErrUnsupported, to)
		}
		return e.alias(n, x)
	}
	c := &constant{dims: x.c.dims}
	switch {
	case floatType:
		c.f = x.c.floats()
	case to == 9: // bool
		c.isInt = true
		for _, v := range x.c.floats() {
			c.i = append(c.i, map[bool]int64{false: 0, true: 1}[v != 0])
		}
	case intType:
		c.isInt = true
		c.i = x.c.ints()
	default:
		return fmt.Errorf("%w: cast to type %d", ErrUnsupported, to)
	}
	return e.setConst(n, 0, c)
}

// foldConcat joins constants on axis a.
func foldConcat(vs []*value, a int) (*constant, error) {
	isInt := vs[0].c.isInt
	dims := slices.Clone(vs[0].dims)
	if len(dims) == 0 {
		return nil, fmt.Errorf("concat of scalars")
	}
	dims[a] = 0
	total := 0
	for _, v := range vs {
		if v.c.isInt != isInt {
			isInt = false
		}
		dims[a] += v.c.dims[a]
		total += v.c.size()
	}
	if total > maxFold {
		return nil, fmt.Errorf("%w: folding concat of %d elements", ErrUnsupported, total)
	}
	outer, _ := product(dims[:a])
	out := &constant{dims: dims, isInt: isInt}
	for o := range outer {
		for _, v := range vs {
			inner, _ := product(v.c.dims[a:])
			if isInt {
				out.i = append(out.i, v.c.i[o*inner:(o+1)*inner]...)
			} else {
				out.f = append(out.f, v.c.floats()[o*inner:(o+1)*inner]...)
			}
		}
	}
	return out, nil
}

// clampBig bounds INT64_MAX-style "to the end" markers.
func clampBig(v int64) int64 { return max(-(1 << 40), min(v, 1<<40)) }

// sliceConst keeps [lo[i], hi[i]) of every axis of c.
func sliceConst(c *constant, lo, hi []int64) *constant {
	dims := make([]int64, len(c.dims))
	step := make([]int64, len(c.dims))
	for i := range dims {
		dims[i], step[i] = hi[i]-lo[i], 1
	}
	return stepConst(c, lo, step, dims)
}

// sliceFold folds Slice of a constant.
func sliceFold(e *importer, n *onnx.Node, c *constant, starts, ends, axes, steps []int64) error {
	out, err := sliceSteps(c, starts, ends, axes, steps)
	if err != nil {
		return err
	}
	return e.setConst(n, 0, out)
}

// sliceSteps slices a constant as ONNX's Slice defines it: for each axis,
// start and end clamped to [0, d] (a positive step) or to [0, d-1] and
// [-1, d-1] (a negative one), ceil((end - start) / step) elements, none
// when that is not positive.
func sliceSteps(c *constant, starts, ends, axes, steps []int64) (*constant, error) {
	r := len(c.dims)
	lo, step, dims := make([]int64, r), make([]int64, r), slices.Clone(c.dims)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i, a64 := range axes {
		a, err := normAxis(a64, r)
		if err != nil || seen[a] {
			return nil, fmt.Errorf("axes %v for rank %d", axes, r)
		}
		seen[a] = true
		s := int64(1)
		if steps != nil {
			s = steps[i]
		}
		if s == 0 {
			return nil, fmt.Errorf("steps %v: a step of 0", steps)
		}
		b, cnt := sliceWindow(c.dims[a], starts[i], ends[i], s)
		lo[a], step[a], dims[a] = b, s, cnt
	}
	return stepConst(c, lo, step, dims), nil
}

// sliceWindow resolves one axis of extent d of Slice (step s != 0): the
// first index and the element count (0 when nothing is kept).
func sliceWindow(d, start, end, s int64) (first, count int64) {
	b, en := clampBig(start), clampBig(end)
	if b < 0 {
		b += d
	}
	if en < 0 {
		en += d
	}
	if s > 0 {
		b, en = min(max(b, 0), d), min(max(en, 0), d)
	} else {
		b, en = min(max(b, 0), d-1), min(max(en, -1), d-1)
	}
	switch {
	case s > 0 && en > b:
		count = (en - b + s - 1) / s
	case s < 0 && en < b:
		count = (b - en - s - 1) / -s
	}
	return b, count
}

// stepConst returns the elements lo + idx*step of c for every index idx
// within dims.
func stepConst(c *constant, lo, step, dims []int64) *constant {
	out := &constant{dims: dims, isInt: c.isInt}
	n, _ := product(dims)
	in := strides(c.dims)
	idx := make([]int64, len(dims))
	for range n {
		src := 0
		for i, x := range idx {
			src += int(lo[i]+x*step[i]) * in[i]
		}
		if c.isInt {
			out.i = append(out.i, c.i[src])
		} else {
			out.f = append(out.f, c.f[src])
		}
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// gather translates Gather of constants (shape arithmetic).
func gather(e *importer, n *onnx.Node) error {
	x, err := e.konst(n, 0)
	if err != nil {
		return err
	}
	idx, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	ax, err := attrInt(n, "axis", 0)
	if err != nil {
		return err
	}
	a, err := normAxis(ax, len(x.dims))
	if err != nil {
		return err
	}
	d := x.dims[a]
	outer, _ := product(x.dims[:a])
	inner, _ := product(x.dims[a+1:])
	dims := append(append(slices.Clone(x.dims[:a]), idx.dims...), x.dims[a+1:]...)
	if total, ok := product(dims); !ok || total > maxFold {
		return fmt.Errorf("%w: gather to %v", ErrUnsupported, dims)
	}
	out := &constant{dims: dims, isInt: x.isInt}
	fs := x.floats()
	for o := range outer {
		for _, k := range idx.ints() {
			if k < 0 {
				k += d
			}
			if k < 0 || k >= d {
				return fmt.Errorf("index %d out of range [0, %d)", k, d)
			}
			from := (o*int(d) + int(k)) * inner
			if x.isInt {
				out.i = append(out.i, x.i[from:from+inner]...)
			} else {
				out.f = append(out.f, fs[from:from+inner]...)
			}
		}
	}
	return e.setConst(n, 0, out)
}

// constantOfShape folds ConstantOfShape: a constant shape filled with the
// value attribute's one element (default float 0).
func constantOfShape(e *importer, n *onnx.Node) error {
	sc, err := e.konst(n, 0)
	if err != nil {
		return err
	}
	dims := slices.Clone(sc.ints())
	cnt, ok := product(dims)
	if !ok || cnt > maxFold {
		return fmt.Errorf("%w: shape %v", ErrUnsupported, dims)
	}
	for _, d := range dims {
		if d < 0 {
			return fmt.Errorf("%w: shape %v with a dynamic extent", ErrUnsupported, dims)
		}
	}
	fill := &constant{f: []float32{0}}
	if a := n.Attr("value"); a != nil {
		if fill, err = decodeTensor(a.T); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		if fill.size() != 1 {
			return fmt.Errorf("value has %d elements, want 1", fill.size())
		}
	}
	c := &constant{dims: dims, isInt: fill.isInt}
	if fill.isInt {
		c.i = make([]int64, cnt)
		for k := range c.i {
			c.i[k] = fill.i[0]
		}
	} else {
		c.f = make([]float32, cnt)
		for k := range c.f {
			c.f[k] = fill.f[0]
		}
	}
	return e.setConst(n, 0, c)
}

// rangeNode folds Range(start, limit, delta) of constant scalars.
func rangeNode(e *importer, n *onnx.Node) error {
	var cs [3]*constant
	for i := range cs {
		c, err := e.konst(n, i)
		if err != nil {
			return err
		}
		if c.size() != 1 {
			return fmt.Errorf("input %d has %d elements, want a scalar", i, c.size())
		}
		cs[i] = c
	}
	isInt := cs[0].isInt && cs[1].isInt && cs[2].isInt
	if isInt {
		start, limit, delta := cs[0].i[0], cs[1].i[0], cs[2].i[0]
		if delta == 0 {
			return fmt.Errorf("delta 0")
		}
		var out []int64
		for v := start; (delta > 0 && v < limit) || (delta < 0 && v > limit); v += delta {
			if len(out) >= maxFold {
				return fmt.Errorf("%w: a range of more than %d values", ErrUnsupported, maxFold)
			}
			out = append(out, v)
		}
		return e.setConst(n, 0, &constant{dims: []int64{int64(len(out))}, i: out, isInt: true})
	}
	start, limit, delta := float64(cs[0].floats()[0]), float64(cs[1].floats()[0]), float64(cs[2].floats()[0])
	if delta == 0 || delta != delta || start != start || limit != limit {
		return fmt.Errorf("start %v, limit %v, delta %v", start, limit, delta)
	}
	cnt := math.Ceil((limit - start) / delta)
	if cnt > maxFold {
		return fmt.Errorf("%w: a range of %v values", ErrUnsupported, cnt)
	}
	out := []float32{}
	for k := 0; k < int(cnt); k++ {
		out = append(out, float32(start+float64(k)*delta))
	}
	return e.setConst(n, 0, &constant{dims: []int64{int64(len(out))}, f: out})
}

// foldUnary computes the elementwise ops that shape arithmetic uses on a
// float or integer constant; ok is false for other ops.
// Without symbolic, -1 and -2 are plain values, not dimUnknown and
// dimBatch.
func foldUnary(op string, x *constant, symbolic bool) (*constant, bool) {
	f := map[string]func(float64) float64{
		"Neg": func(v float64) float64 { return -v }, "Abs": math.Abs, "Sqrt": math.Sqrt,
		"Exp": math.Exp, "Log": math.Log, "Reciprocal": func(v float64) float64 { return 1 / v },
		"Relu": func(v float64) float64 { return math.Max(v, 0) }, "Floor": math.Floor, "Ceil": math.Ceil,
	}[op]
	if f == nil {
		return nil, false
	}
	c := &constant{dims: x.dims}
	if x.isInt && (op == "Neg" || op == "Abs" || op == "Relu" || op == "Floor" || op == "Ceil") {
		c.isInt = true
		for _, v := range x.i {
			if symbolic && v < 0 && v >= dimBatch { // a symbolic extent
				return nil, false
			}
			c.i = append(c.i, int64(f(float64(v))))
		}
		return c, true
	}
	for _, v := range x.floats() {
		c.f = append(c.f, float32(f(float64(v))))
	}
	return c, true
}
