package onnximport

import (
	"fmt"
	"slices"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// consumed reports whether a value is read by a node or is a graph output.
func (e *importer) consumed(name string) bool {
	if name == "" {
		return false
	}
	for _, vi := range e.g.Output {
		if vi != nil && vi.Name == name {
			return true
		}
	}
	for _, n := range e.g.Node {
		if n != nil && slices.Contains(n.Input, name) {
			return true
		}
	}
	return false
}

// layerNorm translates LayerNormalization: the IR's layer_norm over the
// axes from axis on, in ONNX order. The Mean and InvStdDev outputs are
// not produced.
func layerNorm(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	stats := false
	for _, o := range n.Output[1:] {
		stats = stats || e.consumed(o)
	}
	ax64, err := attrInt(n, "axis", -1)
	if err != nil {
		return err
	}
	a, err := normAxis(ax64, len(x.dims))
	if err != nil {
		return err
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	if err := finite(eps); err != nil || eps < 0 {
		return fmt.Errorf("epsilon %v", eps)
	}
	if t, err := attrInt(n, "stash_type", 1); err != nil || t != 1 {
		return fmt.Errorf("%w: stash_type %d", ErrUnsupported, t)
	}
	tail := x.dims[a:]
	cnt, ok := product(tail)
	if !ok || slices.ContainsFunc(tail, func(d int64) bool { return d <= 0 }) {
		return fmt.Errorf("%w: normalized dims %v with dynamic extents", ErrUnsupported, tail)
	}
	param := func(i int, def float32) (*wt, error) {
		v, err := e.optArg(n, i)
		if err != nil {
			return nil, err
		}
		var c *constant
		if v == nil {
			f := make([]float32, cnt)
			for k := range f {
				f[k] = def
			}
			c = &constant{name: e.fresh(nodeName(n) + "/beta"), dims: tail, f: f}
		} else if c = v.c; c == nil {
			return nil, &NeedsConstantError{Index: i, Input: n.Input[i]}
		}
		if c.isInt || c.size() != cnt {
			return nil, fmt.Errorf("%w: parameter %v for normalized dims %v", ErrUnsupported, c.dims, tail)
		}
		return e.weight(c, "ln", tail, c.floats), nil
	}
	gamma, err := param(1, 1)
	if err != nil {
		return err
	}
	beta, err := param(2, 0)
	if err != nil {
		return err
	}
	if x, err = e.asCF(x); err != nil {
		return err
	}
	if stats {
		return e.layerNormStats(n, x, a, eps, gamma, beta)
	}
	return e.emitOut(n, "layer_norm", []irIn{vin(x), {w: gamma}, {w: beta}}, graph.Eps(eps), x.dims, false)
}

// instanceNorm translates InstanceNormalization: per sample and channel,
// (x - mean) / sqrt(var + eps) over the spatial axes, then the channel's
// scale and bias (a batch_norm of mean 0 and variance 1).
func instanceNorm(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	if len(x.dims) < 3 {
		return fmt.Errorf("input of rank %d (want N, C, spatial...)", len(x.dims))
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	if err := finite(eps); err != nil || eps < 0 {
		return fmt.Errorf("epsilon %v", eps)
	}
	c := x.dims[1]
	var ps [2]*constant
	for i := range ps {
		if ps[i], err = e.konst(n, 1+i); err != nil {
			return err
		}
		if ps[i].isInt || len(ps[i].dims) != 1 || (c > 0 && ps[i].dims[0] != c) {
			return fmt.Errorf("parameter %q %v for %d channels", n.Input[1+i], ps[i].dims, c)
		}
	}
	if x, err = e.asCL(x); err != nil {
		return err
	}
	r := len(x.dims)
	var spatial []int
	for i := 1; i < r-1; i++ {
		spatial = append(spatial, i)
	}
	kept := slices.Clone(x.dims)
	for i := 2; i < r; i++ {
		kept[i] = 1
	}
	keep := true
	base := nodeName(n)
	m, err := e.emit("mean", base+"/mean", []irIn{vin(x)}, graph.ReduceAttrs{Axes: spatial, Keep: &keep}, "", kept, true)
	if err != nil {
		return err
	}
	d, err := e.emit("sub", base+"/center", []irIn{vin(x), vin(m)}, nil, "", x.dims, true)
	if err != nil {
		return err
	}
	sq, err := e.emit("act", base+"/square", []irIn{vin(d)}, graph.Act{Op: "square"}, "", x.dims, true)
	if err != nil {
		return err
	}
	v, err := e.emit("mean", base+"/var", []irIn{vin(sq)}, graph.ReduceAttrs{Axes: spatial, Keep: &keep}, "", kept, true)
	if err != nil {
		return err
	}
	if v, err = e.emit("act", base+"/eps", []irIn{vin(v)}, graph.Act{Op: "affine", Alpha: 1, Beta: eps}, "", kept, true); err != nil {
		return err
	}
	if v, err = e.emit("act", base+"/rsqrt", []irIn{vin(v)}, graph.Act{Op: "rsqrt"}, "", kept, true); err != nil {
		return err
	}
	y, err := e.emit("mul", base+"/scale", []irIn{vin(d), vin(v)}, nil, "", x.dims, true)
	if err != nil {
		return err
	}
	fill := func(tag string, val float32) *wt {
		k := &constant{name: e.fresh(base + "/" + tag), dims: []int64{c}, f: make([]float32, c)}
		for i := range k.f {
			k.f[i] = val
		}
		return e.weight(k, "in", k.dims, func() []float32 { return k.f })
	}
	ins := []irIn{vin(y),
		{w: e.weight(ps[0], "in", ps[0].dims, ps[0].floats)},
		{w: e.weight(ps[1], "in", ps[1].dims, ps[1].floats)},
		{w: fill("zero", 0)}, {w: fill("one", 1)}}
	return e.emitOut(n, "batch_norm", ins, graph.Eps(0), x.dims, true)
}

// layerNormStats is LayerNormalization with its Mean and InvStdDev outputs
// (x in ONNX order): mean, centred square mean and rsqrt as IR ops.
func (e *importer) layerNormStats(n *onnx.Node, x *value, a int, eps float32, gamma, beta *wt) error {
	r := len(x.dims)
	var axes []int
	kept := slices.Clone(x.dims)
	for i := a; i < r; i++ {
		axes = append(axes, i)
		kept[i] = 1
	}
	keep := true
	base := nodeName(n)
	out := func(i int) string {
		if i < len(n.Output) {
			return n.Output[i]
		}
		return ""
	}
	m, err := e.emit("mean", base+"/mean", []irIn{vin(x)}, graph.ReduceAttrs{Axes: axes, Keep: &keep}, out(1), kept, false)
	if err != nil {
		return err
	}
	d, err := e.emit("sub", base+"/center", []irIn{vin(x), vin(m)}, nil, "", x.dims, false)
	if err != nil {
		return err
	}
	sq, err := e.emit("act", base+"/square", []irIn{vin(d)}, graph.Act{Op: "square"}, "", x.dims, false)
	if err != nil {
		return err
	}
	v, err := e.emit("mean", base+"/var", []irIn{vin(sq)}, graph.ReduceAttrs{Axes: axes, Keep: &keep}, "", kept, false)
	if err != nil {
		return err
	}
	if v, err = e.emit("act", base+"/eps", []irIn{vin(v)}, graph.Act{Op: "affine", Alpha: 1, Beta: eps}, "", kept, false); err != nil {
		return err
	}
	is, err := e.emit("act", base+"/rsqrt", []irIn{vin(v)}, graph.Act{Op: "rsqrt"}, out(2), kept, false)
	if err != nil {
		return err
	}
	y, err := e.emit("mul", base+"/norm", []irIn{vin(d), vin(is)}, nil, "", x.dims, false)
	if err != nil {
		return err
	}
	if y, err = e.emit("mul", base+"/gamma", []irIn{vin(y), {w: gamma}}, nil, "", x.dims, false); err != nil {
		return err
	}
	if y, err = e.emit("add", base+"/beta", []irIn{vin(y), {w: beta}}, nil, out(0), x.dims, false); err != nil {
		return err
	}
	for i, v := range []*value{y, m, is} {
		if o := out(i); o != "" {
			if err := e.set(o, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// lrn translates LRN, x / (bias + alpha/size * sum of x^2 over a window
// of size channels)^beta: the squares, viewed as [N, 1, C, H*W], are
// average-pooled (padding counted) along the channels, so the window
// crosses channels with the pool kernel.
func lrn(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	if len(x.dims) < 3 {
		return fmt.Errorf("input of rank %d (want N, C, spatial...)", len(x.dims))
	}
	size, err := attrInt(n, "size", 0)
	if err != nil {
		return err
	}
	alpha, err := attrFloat(n, "alpha", 1e-4)
	if err != nil {
		return err
	}
	beta, err := attrFloat(n, "beta", 0.75)
	if err != nil {
		return err
	}
	bias, err := attrFloat(n, "bias", 1)
	if err != nil {
		return err
	}
	if err := finite(alpha, beta, bias); err != nil {
		return err
	}
	if size < 1 || size > 1<<10 {
		return fmt.Errorf("size %d", size)
	}
	hw := int64(1)
	for _, d := range x.dims[1:] {
		if d <= 0 {
			return fmt.Errorf("%w: dims %v with dynamic extents", ErrUnsupported, x.dims)
		}
	}
	for _, d := range x.dims[2:] {
		hw *= d
	}
	c := x.dims[1]
	sq, err := e.chain(n, x, "", graph.Act{Op: "square"})
	if err != nil {
		return err
	}
	flat, err := e.step(n, "Reshape", "", nil, sq, e.intsValue(n, "shape", 0, 1, c, hw))
	if err != nil {
		return err
	}
	before, after := (size-1)/2, size/2
	sum, err := e.step(n, "AveragePool", "", []*onnx.Attribute{onnx.IntsAttr("kernel_shape", size, 1),
		onnx.IntsAttr("pads", before, 0, after, 0), onnx.IntAttr("count_include_pad", 1)}, flat)
	if err != nil {
		return err
	}
	back := append([]int64{0}, x.dims[1:]...)
	avg, err := e.step(n, "Reshape", "", nil, sum, e.intsValue(n, "shape", back...))
	if err != nil {
		return err
	}
	// The pool averaged over size values: alpha/size * sum = alpha * avg.
	den, err := e.chain(n, e.vals[avg], "", graph.Act{Op: "affine", Alpha: alpha, Beta: bias}, graph.Act{Op: "pow", Alpha: -beta})
	if err != nil {
		return err
	}
	_, err = e.step(n, "Mul", n.Output[0], nil, x.name, den)
	return err
}
