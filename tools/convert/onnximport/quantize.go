package onnximport

import (
	"fmt"
	"math"
	"slices"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// Quantized ONNX (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul) runs in float32:
// an 8-bit tensor is held as float32 values that are integers, quantizing
// is a division by the scale, round half to even, the zero point added and
// a clip to the type's range (exactly ONNX's formula), and the integer
// convolutions and products run on the zero-point-shifted values (exact
// while partial sums stay below 2^24, within float32 rounding beyond).
// Constant 8-bit weights are dequantized at import into float32 weights
// (the manifest may store them as int8 again with --dtype int8). Scales
// and zero points must be constants, per tensor or per axis, except those
// DynamicQuantizeLinear computes at run time.

// qrange is the range of an 8-bit type.
func qrange(t onnx.DataType) (lo, hi float32, err error) {
	switch t {
	case onnx.Uint8, 0:
		return 0, 255, nil
	case onnx.Int8:
		return -128, 127, nil
	}
	return 0, 0, fmt.Errorf("%w: quantized type %d (the runtime quantizes to uint8 and int8)", ErrUnsupported, t)
}

// along returns constant c (per tensor: one value, or per axis: [C])
// shaped to broadcast against a value of rank r along ONNX axis ax.
func along(c *constant, r, ax int) (*constant, error) {
	f := c.floats()
	if len(f) == 1 {
		return &constant{dims: []int64{1}, f: []float32{f[0]}, typ: c.typ}, nil
	}
	if len(c.dims) != 1 {
		return nil, fmt.Errorf("%w: quantization parameter %v: want one value or one per channel", ErrUnsupported, c.dims)
	}
	dims := make([]int64, r-ax)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = c.dims[0]
	return &constant{dims: dims, f: slices.Clone(f), typ: c.typ}, nil
}

// isZero reports a constant that is all zeros (or nil).
func isZero(v *value) bool {
	if v == nil {
		return true
	}
	if v.c == nil {
		return false
	}
	for _, x := range v.c.floats() {
		if x != 0 {
			return false
		}
	}
	return true
}

// arith emits a op b (add, sub, mul, div) as an intermediate value; at
// least one is an activation. A constant broadcasts in the activation's
// layout; a value of one element broadcasts in either layout.
func (e *importer) arith(base, op string, a, b *value) (*value, error) {
	if a.c != nil && b.c != nil {
		return nil, fmt.Errorf("arith of two constants") // callers fold first
	}
	dims, err := broadcastDims(a.dims, b.dims)
	if err != nil {
		return nil, err
	}
	if k, x, first := b, a, false; k.c != nil || a.c != nil {
		if a.c != nil {
			k, x, first = a, b, true
		}
		if len(k.dims) > len(x.dims) {
			return nil, fmt.Errorf("%w: constant %v of higher rank than the activation %v", ErrUnsupported, k.dims, x.dims)
		}
		shape, data := e.broadcastConst(k.c, len(x.dims), x.cl)
		w := e.weight(k.c, fmt.Sprintf("q%d/%v", len(x.dims), x.cl), shape, func() []float32 { return data })
		ins := []irIn{vin(x), {w: w}}
		if first {
			ins[0], ins[1] = ins[1], ins[0]
		}
		return e.emit(op, base, ins, nil, "", dims, x.cl)
	}
	cl := a.cl
	switch {
	case single(b):
		if len(b.dims) > len(a.dims) {
			return nil, fmt.Errorf("%w: value %v of higher rank than %v", ErrUnsupported, b.dims, a.dims)
		}
	case single(a):
		cl = b.cl
		if len(a.dims) > len(b.dims) {
			return nil, fmt.Errorf("%w: value %v of higher rank than %v", ErrUnsupported, a.dims, b.dims)
		}
	case a.cl != b.cl:
		if a, err = e.asCL(a); err != nil {
			return nil, err
		}
		if b, err = e.asCL(b); err != nil {
			return nil, err
		}
		cl = true
	}
	return e.emit(op, base, []irIn{vin(a), vin(b)}, nil, "", dims, cl)
}

// single reports a value of one element, whatever its rank.
func single(v *value) bool {
	s, ok := product(v.dims)
	return ok && s == 1
}

// actv emits a chain of activations on x as an intermediate value.
func (e *importer) actv(base string, x *value, chain ...graph.Act) (*value, error) {
	for _, a := range chain {
		v, err := e.emit("act", base, []irIn{vin(x)}, a, "", x.dims, x.cl)
		if err != nil {
			return nil, err
		}
		x = v
	}
	return x, nil
}

// quantize emits clip(round(x / scale) + zp, lo, hi).
func (e *importer) quantize(base string, x, scale, zp *value, lo, hi float32) (*value, error) {
	q, err := e.arith(base, "div", x, scale)
	if err != nil {
		return nil, err
	}
	if q, err = e.actv(base, q, graph.Act{Op: "round"}); err != nil {
		return nil, err
	}
	if !isZero(zp) {
		if q, err = e.arith(base, "add", q, zp); err != nil {
			return nil, err
		}
	}
	return e.actv(base, q, graph.Act{Op: "clip", Alpha: lo, Beta: hi})
}

// qparams reads a scale and an optional zero point of a Quantize- or
// DequantizeLinear along ONNX axis ax of a value of rank r.
func (e *importer) qparams(n *onnx.Node, si, zi, r, ax int) (scale, zp *value, t onnx.DataType, err error) {
	s, err := e.arg(n, si)
	if err != nil {
		return nil, nil, 0, err
	}
	z, err := e.optArg(n, zi)
	if err != nil {
		return nil, nil, 0, err
	}
	t = onnx.Uint8
	if z != nil && z.c != nil && z.c.typ != 0 {
		t = z.c.typ
	}
	if s.c != nil {
		c, err := along(s.c, r, ax)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, v := range c.f {
			if err := finite(v); err != nil || v == 0 {
				return nil, nil, 0, fmt.Errorf("scale %q %v: want finite non-zero values", n.Input[si], c.f)
			}
		}
		s = &value{c: c, dims: c.dims}
	}
	if z != nil && z.c != nil {
		c, err := along(z.c, r, ax)
		if err != nil {
			return nil, nil, 0, err
		}
		z = &value{c: c, dims: c.dims}
	}
	return s, z, t, nil
}

// axisAttr reads the axis of per-axis quantization (default 1).
func axisAttr(n *onnx.Node, r int) (int, error) {
	a, err := attrInt(n, "axis", 1)
	if err != nil {
		return 0, err
	}
	if r == 0 {
		return 0, nil
	}
	return normAxis(a, r)
}

// foldQ computes a quantization formula on constants elementwise in
// float64 (broadcasting), f(x, scale, zp).
func foldQ(x, s, z *constant, f func(x, s, z float64) float64) (*constant, error) {
	if z == nil {
		z = &constant{dims: []int64{1}, f: []float32{0}}
	}
	dims, err := broadcastDims(x.dims, s.dims)
	if err == nil {
		dims, err = broadcastDims(dims, z.dims)
	}
	if err != nil {
		return nil, err
	}
	n, ok := product(dims)
	if !ok || n > maxFold {
		return nil, fmt.Errorf("%w: folded constant %v", ErrUnsupported, dims)
	}
	xf, sf, zf := x.floats(), s.floats(), z.floats()
	ix, is, iz := bcastIndex(x.dims, dims), bcastIndex(s.dims, dims), bcastIndex(z.dims, dims)
	out := &constant{dims: dims, f: make([]float32, n)}
	for k := range out.f {
		out.f[k] = float32(f(float64(xf[ix(k)]), float64(sf[is(k)]), float64(zf[iz(k)])))
	}
	return out, nil
}

// quantizeLinear translates QuantizeLinear: y = clip(round(x / scale) + zp).
func quantizeLinear(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	ax, err := axisAttr(n, len(x.dims))
	if err != nil {
		return err
	}
	scale, zp, t, err := e.qparams(n, 1, 2, len(x.dims), ax)
	if err != nil {
		return err
	}
	if dt, err := attrInt(n, "output_dtype", 0); err != nil {
		return err
	} else if dt != 0 {
		t = onnx.DataType(dt)
	}
	if bs, err := attrInt(n, "block_size", 0); err != nil || bs != 0 {
		return fmt.Errorf("%w: blocked quantization (block_size %d)", ErrUnsupported, bs)
	}
	lo, hi, err := qrange(t)
	if err != nil {
		return err
	}
	if scale.c == nil || (zp != nil && zp.c == nil) {
		return fmt.Errorf("%w: the scale and zero point are computed at run time; the runtime quantizes with constant ones", ErrUnsupported)
	}
	if x.c != nil {
		var zc *constant
		if zp != nil {
			zc = zp.c
		}
		c, err := foldQ(x.c, scale.c, zc, func(x, s, z float64) float64 {
			return math.Min(math.Max(math.RoundToEven(float64(float32(x)/float32(s)))+z, float64(lo)), float64(hi))
		})
		if err != nil {
			return err
		}
		c.typ = t
		return e.setConst(n, 0, c)
	}
	y, err := e.quantize(nodeName(n), x, scale, zp, lo, hi)
	if err != nil {
		return err
	}
	return e.set(n.Output[0], y)
}

// dequantizeLinear translates DequantizeLinear: y = (x - zp) * scale;
// a constant (8-bit weights) is dequantized at import.
func dequantizeLinear(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	ax, err := axisAttr(n, len(x.dims))
	if err != nil {
		return err
	}
	if bs, err := attrInt(n, "block_size", 0); err != nil || bs != 0 {
		return fmt.Errorf("%w: blocked quantization (block_size %d)", ErrUnsupported, bs)
	}
	scale, zp, _, err := e.qparams(n, 1, 2, len(x.dims), ax)
	if err != nil {
		return err
	}
	if x.c != nil && scale.c != nil && (zp == nil || zp.c != nil) {
		var zc *constant
		if zp != nil {
			zc = zp.c
		}
		c, err := foldQ(x.c, scale.c, zc, func(x, s, z float64) float64 { return float64(float32(x-z) * float32(s)) })
		if err != nil {
			return err
		}
		return e.setConst(n, 0, c)
	}
	if x.c != nil {
		return fmt.Errorf("%w: a constant dequantized by a scale computed at run time", ErrUnsupported)
	}
	y := x
	if !isZero(zp) {
		if y, err = e.arith(nodeName(n), "sub", y, zp); err != nil {
			return err
		}
	}
	if y, err = e.arith(nodeName(n), "mul", y, scale); err != nil {
		return err
	}
	return e.set(n.Output[0], y)
}

// dynamicQuantizeLinear translates DynamicQuantizeLinear (uint8): the
// scale (max(x, 0) - min(x, 0)) / 255 and zero point
// clip(round(-min(x, 0) / scale), 0, 255) computed at run time, each one
// value, then x quantized with them.
func dynamicQuantizeLinear(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	base := nodeName(n)
	all := graph.ReduceAttrs{}
	one := []int64{1}
	fold := func(op string, act graph.Act) (*value, error) {
		v, err := e.emit(op, base, []irIn{vin(x)}, all, "", slices.Repeat([]int64{1}, len(x.dims)), x.cl)
		if err != nil {
			return nil, err
		}
		if v, err = e.emit("reshape", base, []irIn{vin(v)}, graph.ReshapeAttrs{Shape: []int{1}}, "", one, false); err != nil {
			return nil, err
		}
		return e.actv(base, v, act)
	}
	hi, err := fold("reduce_max", graph.Act{Op: "relu"})
	if err != nil {
		return err
	}
	lo, err := fold("reduce_min", graph.Act{Op: "clip", Alpha: -math.MaxFloat32, Beta: 0})
	if err != nil {
		return err
	}
	span, err := e.arith(base, "sub", hi, lo)
	if err != nil {
		return err
	}
	c255 := &value{c: &constant{name: base + "/255", dims: one, f: []float32{255}}, dims: one}
	scale, err := e.arith(base, "div", span, c255)
	if err != nil {
		return err
	}
	neg, err := e.actv(base, lo, graph.Act{Op: "neg"})
	if err != nil {
		return err
	}
	zp, err := e.quantize(base, neg, scale, nil, 0, 255)
	if err != nil {
		return err
	}
	y, err := e.quantize(base, x, scale, zp, 0, 255)
	if err != nil {
		return err
	}
	for i, v := range []*value{y, scale, zp} {
		if i < len(n.Output) && n.Output[i] != "" {
			if err := e.set(n.Output[i], v); err != nil {
				return err
			}
		}
	}
	return nil
}

// shifted returns x - zp (x itself when zp is absent or zero).
func (e *importer) shifted(base string, x, zp *value) (*value, error) {
	if isZero(zp) {
		return x, nil
	}
	if zp.c != nil && zp.c.size() != 1 {
		return nil, fmt.Errorf("%w: zero point %v of the input: want one value", ErrUnsupported, zp.dims)
	}
	if x.c != nil && zp.c != nil {
		return &value{c: &constant{dims: x.c.dims, f: shiftFloats(x.c.floats(), zp.c.floats()[0])}, dims: x.dims}, nil
	}
	return e.arith(base, "sub", x, zp)
}

func shiftFloats(v []float32, z float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x - z
	}
	return out
}

// weightsMinusZero returns the constant weights w - zp, zp one value or
// one per slice of ONNX axis ax.
func weightsMinusZero(w *constant, zp *value, ax int) (*constant, error) {
	if isZero(zp) {
		return &constant{name: w.name, dims: w.dims, f: slices.Clone(w.floats())}, nil
	}
	if zp.c == nil {
		return nil, fmt.Errorf("%w: the weights' zero point is computed at run time", ErrUnsupported)
	}
	z, err := along(zp.c, len(w.dims), ax)
	if err != nil {
		return nil, err
	}
	c, err := foldQ(w, &constant{dims: []int64{1}, f: []float32{1}}, z, func(x, _, z float64) float64 { return x - z })
	if err != nil {
		return nil, err
	}
	c.name = w.name
	return c, nil
}

// via translates a synthetic node of op typ whose inputs are the given
// values (bound to fresh ONNX names) and whose output is out.
func (e *importer) via(n *onnx.Node, typ string, ins []*value, out string, attrs []*onnx.Attribute) (*value, error) {
	names := make([]string, len(ins))
	for i, v := range ins {
		if v == nil {
			continue
		}
		names[i] = e.fresh(nodeName(n) + "/" + typ + "/in")
		e.vals[names[i]] = v
	}
	if out == "" {
		out = e.fresh(nodeName(n) + "/" + typ)
	}
	sn := &onnx.Node{OpType: typ, Name: nodeName(n) + "/" + typ, Input: names, Output: []string{out}, Attribute: attrs}
	if err := handlers[typ](e, sn); err != nil {
		return nil, err
	}
	return e.vals[out], nil
}

// convInteger translates ConvInteger: Conv of (x - x_zp) by (w - w_zp),
// exact integers held in float32.
func convInteger(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	w, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	xzp, err := e.optArg(n, 2)
	if err != nil {
		return err
	}
	wzp, err := e.optArg(n, 3)
	if err != nil {
		return err
	}
	xs, err := e.shifted(nodeName(n), x, xzp)
	if err != nil {
		return err
	}
	wf, err := weightsMinusZero(w, wzp, 0)
	if err != nil {
		return err
	}
	_, err = e.via(n, "Conv", []*value{xs, {c: wf, dims: wf.dims}}, n.Output[0], n.Attribute)
	return err
}

// matMulInteger translates MatMulInteger: (a - a_zp) x (b - b_zp), b_zp
// one value or one per column.
func matMulInteger(e *importer, n *onnx.Node) error {
	a, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	b, err := e.arg(n, 1)
	if err != nil {
		return err
	}
	azp, err := e.optArg(n, 2)
	if err != nil {
		return err
	}
	bzp, err := e.optArg(n, 3)
	if err != nil {
		return err
	}
	as, err := e.shifted(nodeName(n), a, azp)
	if err != nil {
		return err
	}
	var bs *value
	if b.c != nil {
		bf, err := weightsMinusZero(b.c, bzp, len(b.dims)-1)
		if err != nil {
			return err
		}
		bs = &value{c: bf, dims: bf.dims}
	} else if bs, err = e.shifted(nodeName(n), b, bzp); err != nil {
		return err
	}
	_, err = e.via(n, "MatMul", []*value{as, bs}, n.Output[0], nil)
	return err
}

// qlinear reads the constant scale and zero point at inputs si, zi as
// float values (one each, or one per slice for the weights).
func (e *importer) qconst(n *onnx.Node, si, zi int) (scale []float32, zp *value, t onnx.DataType, err error) {
	s, err := e.konst(n, si)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("scale: %w", err)
	}
	z, err := e.optArg(n, zi)
	if err != nil {
		return nil, nil, 0, err
	}
	t = onnx.Uint8
	if z != nil {
		if z.c == nil {
			return nil, nil, 0, fmt.Errorf("%w: zero point %q is computed at run time", ErrUnsupported, n.Input[zi])
		}
		if z.c.typ != 0 {
			t = z.c.typ
		}
	}
	for _, v := range s.floats() {
		if err := finite(v); err != nil || v == 0 {
			return nil, nil, 0, fmt.Errorf("scale %q %v: want finite non-zero values", n.Input[si], s.floats())
		}
	}
	return s.floats(), z, t, nil
}

// requantize emits clip(round(acc * m) + y_zp) with m = a_s * b_s / y_s
// (one value, or one per output channel along ONNX axis ax).
func (e *importer) requantize(n *onnx.Node, acc *value, as, bs, ys []float32, yzp *value, t onnx.DataType, ax int) error {
	lo, hi, err := qrange(t)
	if err != nil {
		return err
	}
	m := make([]float32, len(bs))
	for i, b := range bs {
		m[i] = as[0] * b / ys[0]
	}
	mc, err := along(&constant{dims: []int64{int64(len(m))}, f: m}, len(acc.dims), ax)
	if err != nil {
		return err
	}
	v, err := e.arith(nodeName(n), "mul", acc, &value{c: mc, dims: mc.dims})
	if err != nil {
		return err
	}
	if v, err = e.actv(nodeName(n), v, graph.Act{Op: "round"}); err != nil {
		return err
	}
	if !isZero(yzp) {
		if yzp.c.size() != 1 {
			return fmt.Errorf("%w: output zero point %v: want one value", ErrUnsupported, yzp.dims)
		}
		if v, err = e.actv(nodeName(n), v, graph.Act{Op: "affine", Alpha: 1, Beta: yzp.c.floats()[0]}); err != nil {
			return err
		}
	}
	if v, err = e.actv(nodeName(n), v, graph.Act{Op: "clip", Alpha: lo, Beta: hi}); err != nil {
		return err
	}
	return e.set(n.Output[0], v)
}

// qLinearConv translates QLinearConv: the integer convolution of the
// shifted input and weights plus the int32 bias, requantized to the
// output's scale and zero point.
func qLinearConv(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	xs, xzp, _, err := e.qconst(n, 1, 2)
	if err != nil {
		return err
	}
	w, err := e.konst(n, 3)
	if err != nil {
		return err
	}
	ws, wzp, _, err := e.qconst(n, 4, 5)
	if err != nil {
		return err
	}
	ys, yzp, yt, err := e.qconst(n, 6, 7)
	if err != nil {
		return err
	}
	if len(xs) != 1 || len(ys) != 1 {
		return fmt.Errorf("%w: input and output scales must be one value each", ErrUnsupported)
	}
	xv, err := e.shifted(nodeName(n), x, xzp)
	if err != nil {
		return err
	}
	wf, err := weightsMinusZero(w, wzp, 0)
	if err != nil {
		return err
	}
	ins := []*value{xv, {c: wf, dims: wf.dims}}
	if b, err := e.optArg(n, 8); err != nil {
		return err
	} else if b != nil {
		if b.c == nil {
			return fmt.Errorf("%w: bias %q is computed at run time", ErrUnsupported, n.Input[8])
		}
		ins = append(ins, &value{c: &constant{name: b.c.name, dims: b.c.dims, f: slices.Clone(b.c.floats())}, dims: b.c.dims})
	}
	acc, err := e.via(n, "Conv", ins, "", n.Attribute)
	if err != nil {
		return err
	}
	return e.requantize(n, acc, xs, ws, ys, yzp, yt, 1)
}

// qLinearMatMul translates QLinearMatMul: (a - a_zp) x (b - b_zp)
// requantized to the output's scale and zero point.
func qLinearMatMul(e *importer, n *onnx.Node) error {
	a, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	as, azp, _, err := e.qconst(n, 1, 2)
	if err != nil {
		return err
	}
	b, err := e.arg(n, 3)
	if err != nil {
		return err
	}
	bs, bzp, _, err := e.qconst(n, 4, 5)
	if err != nil {
		return err
	}
	ys, yzp, yt, err := e.qconst(n, 6, 7)
	if err != nil {
		return err
	}
	if len(as) != 1 || len(ys) != 1 {
		return fmt.Errorf("%w: the scales of a and of the output must be one value each", ErrUnsupported)
	}
	av, err := e.shifted(nodeName(n), a, azp)
	if err != nil {
		return err
	}
	var bv *value
	if b.c != nil {
		bf, err := weightsMinusZero(b.c, bzp, len(b.dims)-1)
		if err != nil {
			return err
		}
		bv = &value{c: bf, dims: bf.dims}
	} else if bv, err = e.shifted(nodeName(n), b, bzp); err != nil {
		return err
	}
	acc, err := e.via(n, "MatMul", []*value{av, bv}, "", nil)
	if err != nil {
		return err
	}
	return e.requantize(n, acc, as, bs, ys, yzp, yt, len(acc.dims)-1)
}
