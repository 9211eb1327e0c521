package onnximport

import (
	"fmt"

	"webcnn/tools/convert/onnx"
)

// Ops that rearrange or repeat data, translated onto Slice, Concat,
// Reshape, Transpose and broadcasting Mul (see composite.go's step).

// sliceStep emits x[start:end] on ONNX axis ax as out, in the node form
// of the model's opset.
func (e *importer) sliceStep(n *onnx.Node, x string, ax, start, end int64, out string) (string, error) {
	if e.opset < 10 {
		return e.step(n, "Slice", out, []*onnx.Attribute{onnx.IntsAttr("starts", start), onnx.IntsAttr("ends", end), onnx.IntsAttr("axes", ax)}, x)
	}
	return e.step(n, "Slice", out, nil, x, e.intsValue(n, "starts", start), e.intsValue(n, "ends", end), e.intsValue(n, "axes", ax))
}

// split translates Split as one Slice per output.
func split(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	ax64, err := attrInt(n, "axis", 0)
	if err != nil {
		return err
	}
	ax, err := normAxis(ax64, len(x.dims))
	if err != nil {
		return err
	}
	d := x.dims[ax]
	if d <= 0 {
		return fmt.Errorf("%w: splitting axis %d of unknown extent", ErrUnsupported, ax)
	}
	var sizes []int64
	if e.opset < 13 {
		if sizes, _, err = attrInts(n, "split"); err != nil {
			return err
		}
	} else if sizes, _, err = e.optInts(n, 1); err != nil {
		return err
	}
	k := int64(len(n.Output))
	if sizes == nil {
		if d%k != 0 {
			return fmt.Errorf("%w: axis %d of extent %d into %d equal parts", ErrUnsupported, ax, d, k)
		}
		for range k {
			sizes = append(sizes, d/k)
		}
	}
	if int64(len(sizes)) != k {
		return fmt.Errorf("split %v for %d outputs", sizes, k)
	}
	at := int64(0)
	for i, s := range sizes {
		if s < 0 || at+s > d {
			return fmt.Errorf("split %v of extent %d", sizes, d)
		}
		if n.Output[i] != "" {
			if s == 0 {
				return fmt.Errorf("%w: an empty part (split %v)", ErrUnsupported, sizes)
			}
			if _, err := e.sliceStep(n, n.Input[0], int64(ax), at, at+s, n.Output[i]); err != nil {
				return err
			}
		}
		at += s
	}
	if at != d {
		return fmt.Errorf("split %v adds to %d, the axis has %d", sizes, at, d)
	}
	return nil
}

// expand translates Expand as a multiplication by ones of the target
// shape (numpy broadcasting gives the output's dims).
func expand(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	sc, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	shape := sc.ints()
	cnt := int64(1)
	for _, d := range shape {
		if d <= 0 || d > maxFold || cnt*d > maxFold {
			return fmt.Errorf("%w: expand to %v", ErrUnsupported, shape)
		}
		cnt *= d
	}
	in := n.Input[0]
	if x.c == nil && len(shape) > len(x.dims) {
		v, err := e.withRank(n, x, len(shape))
		if err != nil {
			return err
		}
		in = v.name
	}
	ones := make([]float32, cnt)
	for i := range ones {
		ones[i] = 1
	}
	o := e.konstValue(n, "ones", &constant{dims: shape, f: ones})
	_, err = e.step(n, "Mul", n.Output[0], nil, in, o)
	return err
}

// tile translates Tile as a concatenation of copies along each axis.
func tile(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	rc, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	reps := rc.ints()
	if len(reps) != len(x.dims) {
		return fmt.Errorf("repeats %v for rank %d", reps, len(x.dims))
	}
	cur := n.Input[0]
	last := -1
	for i, r := range reps {
		if r < 1 || r > 1<<16 {
			return fmt.Errorf("%w: repeats %v", ErrUnsupported, reps)
		}
		if r > 1 {
			last = i
		}
	}
	if last < 0 {
		return e.alias(n, x)
	}
	for i, r := range reps {
		if r == 1 {
			continue
		}
		ins := make([]string, r)
		for k := range ins {
			ins[k] = cur
		}
		out := ""
		if i == last {
			out = n.Output[0]
		}
		if cur, err = e.step(n, "Concat", out, []*onnx.Attribute{onnx.IntAttr("axis", int64(i))}, ins...); err != nil {
			return err
		}
	}
	return nil
}

// depthSpace translates DepthToSpace and SpaceToDepth on NCHW data as
// reshape, transpose, reshape (ONNX's definition).
func depthSpace(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	b, err := attrInt(n, "blocksize", 0)
	if err != nil {
		return err
	}
	if len(x.dims) != 4 || b < 1 {
		return fmt.Errorf("%w: rank %d, blocksize %d (want rank 4)", ErrUnsupported, len(x.dims), b)
	}
	N, C, H, W := x.dims[0], x.dims[1], x.dims[2], x.dims[3]
	if C <= 0 || H <= 0 || W <= 0 {
		return fmt.Errorf("%w: dims %v with dynamic extents", ErrUnsupported, x.dims)
	}
	if N < 0 {
		N = 0 // the batch: Reshape copies it
	}
	var mid, perm, final []int64
	switch n.OpType {
	case "DepthToSpace":
		if C%(b*b) != 0 {
			return fmt.Errorf("channels %d for blocksize %d", C, b)
		}
		mode, err := attrString(n, "mode", "DCR")
		if err != nil {
			return err
		}
		c := C / (b * b)
		switch mode {
		case "DCR":
			mid, perm = []int64{N, b, b, c, H, W}, []int64{0, 3, 4, 1, 5, 2}
		case "CRD":
			mid, perm = []int64{N, c, b, b, H, W}, []int64{0, 1, 4, 2, 5, 3}
		default:
			return fmt.Errorf("%w: mode %q", ErrUnsupported, mode)
		}
		final = []int64{N, c, H * b, W * b}
	default:
		if H%b != 0 || W%b != 0 {
			return fmt.Errorf("size %dx%d for blocksize %d", H, W, b)
		}
		mid, perm = []int64{N, C, H / b, b, W / b, b}, []int64{0, 3, 5, 1, 2, 4}
		final = []int64{N, C * b * b, H / b, W / b}
	}
	r1, err := e.step(n, "Reshape", "", nil, n.Input[0], e.intsValue(n, "shape", mid...))
	if err != nil {
		return err
	}
	t, err := e.step(n, "Transpose", "", []*onnx.Attribute{onnx.IntsAttr("perm", perm...)}, r1)
	if err != nil {
		return err
	}
	_, err = e.step(n, "Reshape", n.Output[0], nil, t, e.intsValue(n, "shape", final...))
	return err
}

// size folds Size: the number of elements, when every extent is known.
func size(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	cnt := int64(1)
	for _, d := range x.dims {
		if d < 0 {
			return fmt.Errorf("%w: size of dims %v with dynamic extents", ErrUnsupported, x.dims)
		}
		cnt *= d
	}
	return e.setConst(n, 0, &constant{dims: []int64{}, i: []int64{cnt}, isInt: true})
}

// padEdges translates Pad in reflect and edge modes: along each padded
// axis, one-wide slices of the borders (mirrored without the edge, or
// the edge repeated) are concatenated around the value. pads are ONNX's
// [before..., after...].
func (e *importer) padEdges(n *onnx.Node, x *value, mode string, pads []int) error {
	r := len(x.dims)
	cur := x.name
	last := -1
	for i := range r {
		if pads[i] < 0 || pads[r+i] < 0 {
			return fmt.Errorf("%w: negative pads %v", ErrUnsupported, pads)
		}
		if pads[i] > 0 || pads[r+i] > 0 {
			last = i
		}
	}
	if last < 0 {
		return e.alias(n, x)
	}
	for i := range r {
		b, a := int64(pads[i]), int64(pads[r+i])
		if b == 0 && a == 0 {
			continue
		}
		d := x.dims[i]
		if d <= 0 {
			return fmt.Errorf("%w: %s padding of axis %d of unknown extent", ErrUnsupported, mode, i)
		}
		if mode == "reflect" && (b >= d || a >= d) {
			return fmt.Errorf("%w: reflect pads %d, %d of an axis of %d", ErrUnsupported, b, a, d)
		}
		var parts []string
		piece := func(k int64) error {
			s, err := e.sliceStep(n, cur, int64(i), k, k+1, "")
			parts = append(parts, s)
			return err
		}
		for k := b; k >= 1; k-- {
			at := k // reflect: x[k] ... x[1]
			if mode == "edge" {
				at = 0
			}
			if err := piece(at); err != nil {
				return err
			}
		}
		parts = append(parts, cur)
		for k := int64(1); k <= a; k++ {
			at := d - 1 - k // reflect: x[d-2] ... x[d-1-a]
			if mode == "edge" {
				at = d - 1
			}
			if err := piece(at); err != nil {
				return err
			}
		}
		out := ""
		if i == last {
			out = n.Output[0]
		}
		var err error
		if cur, err = e.step(n, "Concat", out, []*onnx.Attribute{onnx.IntAttr("axis", int64(i))}, parts...); err != nil {
			return err
		}
		// Later axes slice the padded value.
		x = e.vals[cur]
	}
	return nil
}
