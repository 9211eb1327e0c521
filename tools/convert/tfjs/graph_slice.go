package tfjs

import (
	"fmt"

	"webcnn/core/graph"
)

// StridedSlice, with TensorFlow's semantics for begin_mask, end_mask,
// ellipsis_mask, new_axis_mask and shrink_axis_mask (BuildDenseSpec and
// ValidateStridedSliceOp in tensorflow/core/util/strided_slice_op.cc).
// begin, end and strides must be constants. On a constant input any
// stride is folded; on a computed value each axis keeps a contiguous
// range (stride 1, or the whole axis), as a slice node, then a reshape
// drops the shrunk axes and inserts the new ones.

// newAxis marks an output axis that the slice inserts.
const newAxis = -1

// denseSlice is a strided slice resolved against the input's shape.
type denseSlice struct {
	begin, end, stride []int // per input axis, canonical (0 <= begin <= end for stride > 0)
	full               []bool
	extent             []int // per input axis: the kept extent (-1: unknown)
	final              []int // per output axis: input axis, or newAxis
}

// resolveSlice builds the dense spec of a strided slice on shape x.
func resolveSlice(n *tfNode, x, begin, end, strides []int) (*denseSlice, error) {
	if len(begin) != len(end) || len(begin) != len(strides) || len(begin) > 30 {
		return nil, fmt.Errorf("begin %v, end %v, strides %v: want one entry each per axis", begin, end, strides)
	}
	masks := map[string]int{}
	for _, m := range []string{"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"} {
		v, err := n.int(m, 0)
		if err != nil {
			return nil, err
		}
		masks[m] = v
	}
	bit := func(m string, i int) bool { return masks[m]&(1<<i) != 0 }
	sparse := len(begin)
	ellipsis, addAfter := false, 0
	for i := range sparse {
		if ellipsis && bit("new_axis_mask", i) {
			addAfter++
		}
		if bit("ellipsis_mask", i) {
			if ellipsis {
				return nil, fmt.Errorf("ellipsis_mask %b: more than one ellipsis", masks["ellipsis_mask"])
			}
			ellipsis = true
		}
	}
	dims := sparse
	ellipsisAt := -1
	if !ellipsis {
		ellipsisAt = sparse // an implicit ellipsis at the end
		dims++
	}
	rank := len(x)
	d := &denseSlice{begin: make([]int, rank), end: make([]int, rank), stride: make([]int, rank),
		full: make([]bool, rank), extent: make([]int, rank)}
	bmask, emask, shrink := make([]bool, rank), make([]bool, rank), make([]bool, rank)
	full := 0
	for i := range dims {
		if i == ellipsisAt || (i < sparse && bit("ellipsis_mask", i)) {
			next := min(rank-(dims-i)+1+addAfter, rank)
			for ; full < next; full++ {
				d.stride[full], bmask[full], emask[full] = 1, true, true
				d.final = append(d.final, full)
			}
			continue
		}
		if bit("new_axis_mask", i) {
			d.final = append(d.final, newAxis)
			continue
		}
		if full >= rank {
			return nil, fmt.Errorf("slice spec indexes axis %d of a rank-%d input", full, rank)
		}
		d.begin[full], d.end[full], d.stride[full] = begin[i], end[i], strides[i]
		bmask[full], emask[full] = bit("begin_mask", i), bit("end_mask", i)
		if bit("shrink_axis_mask", i) {
			shrink[full] = true
		} else {
			d.final = append(d.final, full)
		}
		full++
	}
	for i := range rank {
		dim, s := x[i], d.stride[i]
		if s == 0 {
			return nil, fmt.Errorf("stride 0 on axis %d", i)
		}
		if shrink[i] && s < 0 {
			return nil, fmt.Errorf("a shrunk axis %d needs a positive stride", i)
		}
		d.full[i] = s == 1 && bmask[i] && emask[i] && !shrink[i]
		if d.full[i] {
			d.begin[i], d.end[i], d.extent[i] = 0, dim, dim
			continue
		}
		if dim < 0 {
			return nil, fmt.Errorf("axis %d's extent is known only at run time; the importer slices it only whole", i)
		}
		lo, hi := 0, dim
		if s < 0 {
			lo, hi = -1, dim-1
		}
		canon := func(v int, masked bool, c int) int {
			if masked {
				if (s > 0) == (c == 0) {
					return lo
				}
				return hi
			}
			if v < 0 {
				v += dim
			}
			return max(lo, min(v, hi))
		}
		if shrink[i] {
			b := d.begin[i]
			if b < 0 {
				b += dim
			}
			if b < 0 || b >= dim {
				return nil, fmt.Errorf("index %d out of range for axis %d of extent %d", d.begin[i], i, dim)
			}
			d.begin[i], d.end[i], d.extent[i] = b, b+1, 1
			continue
		}
		d.begin[i], d.end[i] = canon(d.begin[i], bmask[i], 0), canon(d.end[i], emask[i], 1)
		length := d.end[i] - d.begin[i]
		switch {
		case length == 0 || (length < 0) != (s < 0):
			d.extent[i] = 0
		default:
			d.extent[i] = (length + s - sign(s)) / s
		}
		if d.extent[i] == 0 {
			return nil, fmt.Errorf("the slice keeps nothing of axis %d", i)
		}
	}
	return d, nil
}

func sign(v int) int {
	if v < 0 {
		return -1
	}
	return 1
}

// outShape is the slice's output shape.
func (d *denseSlice) outShape() []int {
	out := []int{}
	for _, a := range d.final {
		if a == newAxis {
			out = append(out, 1)
		} else {
			out = append(out, d.extent[a])
		}
	}
	return out
}

func stridedSlice(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 4, 4); err != nil {
		return nil, err
	}
	var spec [3][]int
	for i, what := range []string{"begin", "end", "strides"} {
		k, err := constant(in[1+i], "the "+what)
		if err != nil {
			return nil, err
		}
		if spec[i], err = k.ints(what); err != nil {
			return nil, err
		}
	}
	x := shapeOf(in[0])
	d, err := resolveSlice(n, x, spec[0], spec[1], spec[2])
	if err != nil {
		return nil, err
	}
	out := d.outShape()
	if k := in[0].c; k != nil {
		return &gval{c: &gconst{name: n.Name, shape: out, data: d.fold(k)}}, nil
	}
	a := graph.SliceAttrs{}
	kept := make([]int, len(x))
	for i := range x {
		kept[i] = d.extent[i]
		if d.full[i] {
			continue
		}
		if d.stride[i] != 1 {
			return nil, fmt.Errorf("stride %d on axis %d: the importer slices computed values with stride 1", d.stride[i], i)
		}
		a.Axes, a.Starts, a.Ends = append(a.Axes, i), append(a.Starts, d.begin[i]), append(a.Ends, d.end[i])
	}
	v := in[0]
	if len(a.Axes) > 0 {
		suffix := ""
		if !sameShape(kept, out) {
			suffix = "slice"
		}
		v = c.emit("slice", n.Name, suffix, []string{v.name}, a, kept)
	}
	if sameShape(kept, out) {
		return v, nil
	}
	return c.reshapeTo(n, "", v, out)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fold gathers the slice of a constant.
func (d *denseSlice) fold(k *gconst) []float32 {
	rank := len(k.shape)
	strides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		strides[i] = s
		s *= k.shape[i]
	}
	var out []float32
	var walk func(axis, off int)
	walk = func(axis, off int) {
		if axis == rank {
			out = append(out, k.data[off])
			return
		}
		for j := range d.extent[axis] {
			walk(axis+1, off+(d.begin[axis]+j*d.stride[axis])*strides[axis])
		}
	}
	walk(0, 0)
	return out
}
