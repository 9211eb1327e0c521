package onnximport

import (
	"fmt"
	"math"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// ArgMax, ArgMin, Hardmax and ThresholdedRelu need comparisons, which the
// IR (and core.Backend) has none of. They are built from its ops with a
// step function: for d <= 0, clip(2^64 * (2^64 * d) + 1, 0, 1) is 1 where
// d == 0 and 0 where d is a negative normal float (|d| >= 2^-126 becomes
// <= -4 before the clip). Differences of subnormal size (both values
// below 2^-125 in magnitude) would count as ties, and an infinity ties
// with the largest finite float of its sign: the approximations.
const stepScale = 1 << 64

// isZero emits the indicator of d == 0 for d <= 0 (see stepScale).
func (e *importer) isZero(n *onnx.Node, d *value) (*value, error) {
	name, err := e.chain(n, d, "", graph.Act{Op: "affine", Alpha: stepScale}, graph.Act{Op: "affine", Alpha: stepScale, Beta: 1},
		graph.Act{Op: "clip", Alpha: 0, Beta: 1})
	if err != nil {
		return nil, err
	}
	return e.vals[name], nil
}

// iota is a weight holding 0..l-1 along ONNX axis a of a rank-r value
// (dims [l, 1, ...], broadcasting from the right).
func (e *importer) iota(n *onnx.Node, a, r int, l int64) *wt {
	dims := []int64{l}
	for range r - a - 1 {
		dims = append(dims, 1)
	}
	f := make([]float32, l)
	for i := range f {
		f[i] = float32(i)
	}
	c := &constant{name: e.fresh(nodeName(n) + "/iota"), dims: dims, f: f}
	return e.weight(c, "iota", dims, func() []float32 { return f })
}

// argIndex emits the index of the first (or last) maximum (or minimum)
// of x (in ONNX order) along axis a, keeping the axis, as float values.
func (e *importer) argIndex(n *onnx.Node, x *value, a int, least, last bool, out string, keep bool) (*value, error) {
	l := x.dims[a]
	if l <= 0 {
		return nil, fmt.Errorf("%w: axis %d of unknown extent", ErrUnsupported, a)
	}
	if l > 1<<24 {
		return nil, fmt.Errorf("%w: axis of %d elements (indexes beyond float32's integers)", ErrUnsupported, l)
	}
	base := nodeName(n)
	// Infinities become the largest finite floats, so that x - max is
	// never inf - inf.
	x, err := e.emit("act", base+"/finite", []irIn{vin(x)}, graph.Act{Op: "clip", Alpha: -math.MaxFloat32, Beta: math.MaxFloat32}, "", x.dims, false)
	if err != nil {
		return nil, err
	}
	kept := append([]int64(nil), x.dims...)
	kept[a] = 1
	t := true
	op := "reduce_max"
	if least {
		op = "reduce_min"
	}
	m, err := e.emit(op, base+"/extreme", []irIn{vin(x)}, graph.ReduceAttrs{Axes: []int{a}, Keep: &t}, "", kept, false)
	if err != nil {
		return nil, err
	}
	// d <= 0, zero at the extremes.
	ins := []irIn{vin(x), vin(m)}
	if least {
		ins[0], ins[1] = ins[1], ins[0]
	}
	d, err := e.emit("sub", base+"/gap", ins, nil, "", x.dims, false)
	if err != nil {
		return nil, err
	}
	ind, err := e.isZero(n, d)
	if err != nil {
		return nil, err
	}
	// First extreme: min over i + L*(1 - ind); last: max over i - L*(1 - ind).
	act := graph.Act{Op: "affine", Alpha: -float32(l), Beta: float32(l)}
	red := "reduce_min"
	if last {
		act, red = graph.Act{Op: "affine", Alpha: float32(l), Beta: -float32(l)}, "reduce_max"
	}
	q, err := e.emit("act", base+"/penalty", []irIn{vin(ind)}, act, "", x.dims, false)
	if err != nil {
		return nil, err
	}
	s, err := e.emit("add", base+"/score", []irIn{vin(q), {w: e.iota(n, a, len(x.dims), l)}}, nil, "", x.dims, false)
	if err != nil {
		return nil, err
	}
	dims := kept
	if !keep {
		dims = append(append([]int64(nil), x.dims[:a]...), x.dims[a+1:]...)
		if len(dims) == 0 {
			dims = []int64{1}
		}
	}
	return e.emit(red, base+"/index", []irIn{vin(s)}, graph.ReduceAttrs{Axes: []int{a}, Keep: &keep}, out, dims, false)
}

// argMax translates ArgMax and ArgMin (indexes as float values).
func argMax(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
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
	keep, err := attrInt(n, "keepdims", 1)
	if err != nil {
		return err
	}
	last, err := attrInt(n, "select_last_index", 0)
	if err != nil {
		return err
	}
	if x, err = e.asCF(x); err != nil {
		return err
	}
	v, err := e.argIndex(n, x, a, n.OpType == "ArgMin", last != 0, n.Output[0], keep != 0)
	if err != nil {
		return err
	}
	return e.set(n.Output[0], v)
}

// hardmax translates Hardmax (opset 13: one axis): 1 at the first maximum,
// 0 elsewhere, as 1 - clip(|i - argmax|, 0, 1).
func hardmax(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	def := int64(-1)
	if e.opset < 13 {
		def = 1
	}
	ax, err := attrInt(n, "axis", def)
	if err != nil {
		return err
	}
	a, err := normAxis(ax, len(x.dims))
	if err != nil {
		return err
	}
	if e.opset < 13 {
		for _, d := range x.dims[a+1:] {
			if d != 1 {
				return fmt.Errorf("%w: hardmax from axis %d over dims %v (opset %d flattens)", ErrUnsupported, a, x.dims, e.opset)
			}
		}
	}
	if x, err = e.asCF(x); err != nil {
		return err
	}
	idx, err := e.argIndex(n, x, a, false, false, "", true)
	if err != nil {
		return err
	}
	base := nodeName(n)
	d, err := e.emit("sub", base+"/offset", []irIn{{w: e.iota(n, a, len(x.dims), x.dims[a])}, vin(idx)}, nil, "", x.dims, false)
	if err != nil {
		return err
	}
	_, err = e.chain(n, d, n.Output[0], graph.Act{Op: "abs"}, graph.Act{Op: "clip", Alpha: 0, Beta: 1}, graph.Act{Op: "affine", Alpha: -1, Beta: 1})
	return err
}

// thresholdedRelu translates ThresholdedRelu, x where x > alpha, else 0:
// x times the step of x - alpha.
func thresholdedRelu(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	alpha, err := attrFloat(n, "alpha", 1)
	if err != nil {
		return err
	}
	if err := finite(alpha); err != nil {
		return err
	}
	// x - alpha > 0 (normal) -> 1; <= 0 -> 0.
	step, err := e.chain(n, x, "", graph.Act{Op: "affine", Alpha: 1, Beta: -alpha}, graph.Act{Op: "affine", Alpha: stepScale},
		graph.Act{Op: "affine", Alpha: stepScale}, graph.Act{Op: "clip", Alpha: 0, Beta: 1})
	if err != nil {
		return err
	}
	_, err = e.step(n, "Mul", n.Output[0], nil, x.name, step)
	return err
}
