package tfjs

import (
	"fmt"
	"slices"

	"webcnn/core/graph"
)

// Shape ops of graph models: reshapes (Reshape, Squeeze, ExpandDims),
// Transpose, padding (Pad, PadV2, MirrorPad), ConcatV2 and StridedSlice.
// On constants they are folded at import.

// irShape turns a static shape into a reshape target: the extent known
// only at run time (at most one: the reshape infers it) becomes -1.
func irShape(s []int) ([]int, error) {
	t := slices.Clone(s)
	unknown := 0
	for i, d := range t {
		if d < 0 {
			t[i] = -1
			unknown++
		}
	}
	if unknown > 1 {
		return nil, fmt.Errorf("shape %v has %d extents known only at run time; a reshape can infer one", s, unknown)
	}
	return t, nil
}

// reshapeTo emits a reshape of v to the static shape out.
func (c *graphConv) reshapeTo(n *tfNode, suffix string, v *gval, out []int) (*gval, error) {
	t, err := irShape(out)
	if err != nil {
		return nil, err
	}
	return c.emit("reshape", n.Name, suffix, []string{v.name}, graph.ReshapeAttrs{Shape: t}, out), nil
}

// size is the number of elements of a static shape (-1: unknown).
func size(s []int) int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// resolveReshape applies TF's Reshape rule (one -1 inferred) to x.
func resolveReshape(x, target []int) ([]int, error) {
	out := slices.Clone(target)
	infer, known := -1, 1
	for i, d := range target {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 1 || d > maxInt || known > maxInt/d:
			return nil, fmt.Errorf("reshape %v to %v: bad target", x, target)
		default:
			known *= d
		}
	}
	total := size(x)
	switch {
	case infer >= 0 && total >= 0:
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("reshape %v to %v: %d elements do not divide", x, target, total)
		}
		out[infer] = total / known
	case infer < 0 && total >= 0 && total != known:
		return nil, fmt.Errorf("reshape %v (%d elements) to %v (%d)", x, total, target, known)
	}
	return out, nil
}

// reshaped returns v with a new static shape: a folded constant, or a
// reshape node.
func (c *graphConv) reshaped(n *tfNode, v *gval, out []int) (*gval, error) {
	if v.c != nil {
		if size(out) != len(v.c.data) {
			return nil, fmt.Errorf("constant %v reshaped to %v", v.c.shape, out)
		}
		return &gval{c: &gconst{name: n.Name, shape: out, data: v.c.data}}, nil
	}
	return c.reshapeTo(n, "", v, out)
}

func reshape(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	k, err := constant(in[1], "the shape")
	if err != nil {
		return nil, err
	}
	target, err := k.ints("shape")
	if err != nil {
		return nil, err
	}
	out, err := resolveReshape(shapeOf(in[0]), target)
	if err != nil {
		return nil, err
	}
	return c.reshaped(n, in[0], out)
}

// axis resolves a possibly negative axis against a rank.
func axis(a, rank int) (int, error) {
	if a < -rank || a >= rank {
		return 0, fmt.Errorf("axis %d of a rank-%d tensor", a, rank)
	}
	if a < 0 {
		a += rank
	}
	return a, nil
}

func squeeze(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	x := shapeOf(in[0])
	dims, err := n.ints("squeeze_dims")
	if err != nil {
		return nil, err
	}
	if dims == nil {
		if dims, err = n.ints("axis"); err != nil {
			return nil, err
		}
	}
	drop := make([]bool, len(x))
	for _, d := range dims {
		a, err := axis(d, len(x))
		if err != nil {
			return nil, err
		}
		if x[a] != 1 {
			return nil, fmt.Errorf("squeeze_dims %v: axis %d of %v is not 1", dims, a, x)
		}
		drop[a] = true
	}
	if len(dims) == 0 {
		for a, d := range x {
			if d < 0 {
				return nil, fmt.Errorf("squeeze without squeeze_dims of %v, whose extents are not all known", x)
			}
			drop[a] = d == 1
		}
	}
	var out []int
	for a, d := range x {
		if !drop[a] {
			out = append(out, d)
		}
	}
	return c.reshaped(n, in[0], out)
}

func expandDims(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	k, err := constant(in[1], "the axis")
	if err != nil {
		return nil, err
	}
	a, err := k.ints("axis")
	if err != nil || len(a) != 1 {
		return nil, fmt.Errorf("axis %v: want one integer (%v)", k.data, err)
	}
	x := shapeOf(in[0])
	at, err := axis(a[0], len(x)+1)
	if err != nil {
		return nil, err
	}
	out := slices.Insert(slices.Clone(x), at, 1)
	return c.reshaped(n, in[0], out)
}

func transpose(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	k, err := constant(in[1], "the permutation")
	if err != nil {
		return nil, err
	}
	perm, err := k.ints("perm")
	if err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(perm) != len(x) {
		return nil, fmt.Errorf("permutation %v of a rank-%d input", perm, len(x))
	}
	out := make([]int, len(x))
	seen := make([]bool, len(x))
	for i, p := range perm {
		if p < 0 || p >= len(x) || seen[p] {
			return nil, fmt.Errorf("%v is not a permutation", perm)
		}
		seen[p] = true
		out[i] = x[p]
	}
	return c.emit("transpose", n.Name, "", []string{in[0].name}, graph.TransposeAttrs{Perm: perm}, out), nil
}

// paddings reads a constant [rank, 2] of pads.
func paddings(v *gval, rank int) (before, after []int, err error) {
	k, err := constant(v, "the paddings")
	if err != nil {
		return nil, nil, err
	}
	p, err := k.ints("paddings")
	if err != nil {
		return nil, nil, err
	}
	if len(k.shape) != 2 || k.shape[0] != rank || k.shape[1] != 2 {
		return nil, nil, fmt.Errorf("paddings %v for a rank-%d input: want [%d, 2]", k.shape, rank, rank)
	}
	for i := range rank {
		if p[2*i] < 0 || p[2*i+1] < 0 {
			return nil, nil, fmt.Errorf("paddings %v: negative", p)
		}
		before, after = append(before, p[2*i]), append(after, p[2*i+1])
	}
	return before, after, nil
}

func padded(x, before, after []int) []int {
	out := slices.Clone(x)
	for i := range out {
		if out[i] >= 0 {
			out[i] += before[i] + after[i]
		}
	}
	return out
}

// pad translates Pad and PadV2 (a constant fill value).
func pad(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 3); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	x := in[0].shape
	before, after, err := paddings(in[1], len(x))
	if err != nil {
		return nil, err
	}
	a := graph.PadAttrs{Before: before, After: after}
	if len(in) == 3 {
		k, err := constant(in[2], "the fill value")
		if err != nil {
			return nil, err
		}
		if len(k.data) != 1 {
			return nil, fmt.Errorf("fill value %v: want a scalar", k.shape)
		}
		a.Value = k.data[0]
	}
	return c.emit("pad", n.Name, "", []string{in[0].name}, a, padded(x, before, after)), nil
}

// mirrorPad translates MirrorPad (REFLECT: the edge is not repeated;
// SYMMETRIC: it is) as the concatenation of one-wide slices around the
// input, axis by axis.
func mirrorPad(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	mode, err := n.str("mode", "")
	if err != nil {
		return nil, err
	}
	edge := 0 // SYMMETRIC
	switch mode {
	case "REFLECT":
		edge = 1
	case "SYMMETRIC":
	default:
		return nil, fmt.Errorf("mode %q: want REFLECT or SYMMETRIC", mode)
	}
	v := in[0]
	before, after, err := paddings(in[1], len(v.shape))
	if err != nil {
		return nil, err
	}
	for ax := range v.shape {
		b, a, d := before[ax], after[ax], v.shape[ax]
		if b == 0 && a == 0 {
			continue
		}
		if d < 0 || b > d-edge || a > d-edge {
			return nil, fmt.Errorf("%s padding %d, %d of axis %d (extent %d): want at most %d", mode, b, a, ax, d, d-edge)
		}
		row := func(i int) string {
			s := graph.SliceAttrs{Axes: []int{ax}, Starts: []int{i}, Ends: []int{i + 1}}
			one := slices.Clone(v.shape)
			one[ax] = 1
			return c.emit("slice", n.Name, fmt.Sprintf("axis%d_row%d", ax, i), []string{v.name}, s, one).name
		}
		var parts []string
		for k := b; k >= 1; k-- {
			parts = append(parts, row(k-1+edge))
		}
		parts = append(parts, v.name)
		for k := 1; k <= a; k++ {
			parts = append(parts, row(d-k-edge))
		}
		out := slices.Clone(v.shape)
		out[ax] = d + b + a
		v = c.emit("concat", n.Name, fmt.Sprintf("axis%d", ax), parts, graph.Axis(ax), out)
	}
	return v, nil
}

// concat translates ConcatV2 (the last input is the axis).
func concat(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("%d inputs, want the values and the axis", len(in))
	}
	k, err := constant(in[len(in)-1], "the axis")
	if err != nil {
		return nil, err
	}
	a, err := k.ints("axis")
	if err != nil || len(a) != 1 {
		return nil, fmt.Errorf("axis %v: want one integer (%v)", k.data, err)
	}
	xs := in[:len(in)-1]
	s0 := shapeOf(xs[0])
	ax, err := axis(a[0], len(s0))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(s0)
	out[ax] = 0
	consts := true
	for _, x := range xs {
		s := shapeOf(x)
		if len(s) != len(s0) {
			return nil, fmt.Errorf("operands %v and %v differ in rank", s0, s)
		}
		for i := range s {
			if i != ax && s[i] >= 0 && s0[i] >= 0 && s[i] != s0[i] {
				return nil, fmt.Errorf("operands %v and %v differ on axis %d", s0, s, i)
			}
		}
		if out[ax] >= 0 && s[ax] >= 0 {
			out[ax] += s[ax]
		} else {
			out[ax] = -1
		}
		consts = consts && x.c != nil
	}
	if consts {
		return &gval{c: foldConcat(n.Name, xs, ax, out)}, nil
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	ins := make([]string, len(xs))
	for i, x := range xs {
		ins[i] = c.operand(x)
	}
	return c.emit("concat", n.Name, "", ins, graph.Axis(ax), out), nil
}

// foldConcat joins constants on axis ax.
func foldConcat(name string, xs []*gval, ax int, out []int) *gconst {
	outer := size(out[:ax])
	var data []float32
	for o := range outer {
		for _, x := range xs {
			chunk := size(x.c.shape[ax:])
			data = append(data, x.c.data[o*chunk:(o+1)*chunk]...)
		}
	}
	return &gconst{name: name, shape: out, data: data}
}
