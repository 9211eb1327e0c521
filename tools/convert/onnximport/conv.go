package onnximport

import (
	"fmt"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// windowAttrs are the attributes Conv, MaxPool and AveragePool share.
type windowAttrs struct {
	kernel, stride, dilation []int
	before, after            []int // explicit padding (nil: none)
	pad                      string
}

// readWindow reads strides, dilations, pads and auto_pad for d spatial
// axes; ONNX's defaults are 1 and 0.
func readWindow(n *onnx.Node, d int, kernel []int) (windowAttrs, error) {
	w := windowAttrs{kernel: kernel}
	get := func(name string, def int, count int) ([]int, error) {
		v, ok, err := attrInts(n, name)
		if err != nil {
			return nil, err
		}
		out := make([]int, count)
		if !ok {
			for i := range out {
				out[i] = def
			}
			return out, nil
		}
		if len(v) != count {
			return nil, fmt.Errorf("%s %v: want %d values", name, v, count)
		}
		return ints(v)
	}
	var err error
	if w.stride, err = get("strides", 1, d); err != nil {
		return w, err
	}
	if w.dilation, err = get("dilations", 1, d); err != nil {
		return w, err
	}
	pads, err := get("pads", 0, 2*d)
	if err != nil {
		return w, err
	}
	for i := range d {
		if w.stride[i] < 1 || w.dilation[i] < 1 || kernel[i] < 1 || pads[i] < 0 || pads[d+i] < 0 {
			return w, fmt.Errorf("kernel %v, strides %v, dilations %v, pads %v: want positive sizes, pads >= 0", kernel, w.stride, w.dilation, pads)
		}
	}
	autoPad, err := attrString(n, "auto_pad", "NOTSET")
	if err != nil {
		return w, err
	}
	switch autoPad {
	case "NOTSET", "":
		for _, p := range pads {
			if p != 0 {
				w.before, w.after = pads[:d], pads[d:]
				break
			}
		}
	case "SAME_UPPER":
		w.pad = "same"
	case "SAME_LOWER":
		w.pad = "same_lower"
	case "VALID":
		w.pad = "valid"
	default:
		return w, fmt.Errorf("%w: auto_pad %q", ErrUnsupported, autoPad)
	}
	return w, nil
}

// outDims computes the spatial output extents where the input's are known.
func (w windowAttrs) outDims(in []int64, ceil bool) []int64 {
	out := make([]int64, len(in))
	for i, x := range in {
		if x <= 0 {
			out[i] = dimUnknown
			continue
		}
		span := int64(w.dilation[i]*(w.kernel[i]-1) + 1)
		s := int64(w.stride[i])
		switch w.pad {
		case "same", "same_lower":
			out[i] = (x + s - 1) / s
			continue
		}
		total := x - span
		if w.before != nil {
			total += int64(w.before[i] + w.after[i])
		}
		if total < 0 {
			out[i] = dimUnknown // an error the runtime reports when planning
			continue
		}
		if ceil {
			out[i] = (total+s-1)/s + 1
		} else {
			out[i] = total/s + 1
		}
	}
	return out
}

// conv translates Conv: x [N, C, S...], W [O, C/group, K...], B [O].
func conv(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	w, err := e.konst(n, 1)
	if err != nil {
		return err
	}
	b, err := e.optArg(n, 2)
	if err != nil {
		return err
	}
	d := len(w.dims) - 2
	if d < 1 || w.isInt {
		return fmt.Errorf("weights %q %v: want float [O, C/group, K...]", w.name, w.dims)
	}
	if len(x.dims) != d+2 {
		return fmt.Errorf("input of rank %d for a %d-d convolution", len(x.dims), d)
	}
	group, err := attrInt(n, "group", 1)
	if err != nil {
		return err
	}
	o, cg := w.dims[0], w.dims[1]
	if group < 1 || o%group != 0 {
		return fmt.Errorf("group %d for %d output channels", group, o)
	}
	if c := x.dims[1]; c > 0 && c != cg*group {
		return fmt.Errorf("input has %d channels, weights %v with group %d want %d", c, w.dims, group, cg*group)
	}
	kernel, err := ints(w.dims[2:])
	if err != nil {
		return err
	}
	if ks, ok, err := attrInts(n, "kernel_shape"); err != nil {
		return err
	} else if ok && fmt.Sprint(ks) != fmt.Sprint(w.dims[2:]) {
		return fmt.Errorf("kernel_shape %v but weights %v", ks, w.dims)
	}
	win, err := readWindow(n, d, kernel)
	if err != nil {
		return err
	}
	x, err = e.asCL(x)
	if err != nil {
		return err
	}
	// [O, I, K1..Kd] -> [K1..Kd, I, O]
	perm := make([]int, 0, d+2)
	for i := range d {
		perm = append(perm, 2+i)
	}
	perm = append(perm, 1, 0)
	hwio := permuteDims(w.dims, perm)
	ins := []irIn{vin(x), {w: e.weight(w, "hwio", hwio, func() []float32 { return permuteData(w.f, w.dims, perm) })}}
	if b != nil {
		if b.c == nil || b.c.isInt || len(b.c.dims) != 1 || b.c.dims[0] != o {
			return fmt.Errorf("%w: bias %q %v: want a float constant [%d]", ErrUnsupported, n.Input[2], b.dims, o)
		}
		ins = append(ins, irIn{w: e.weight(b.c, "bias", b.c.dims, func() []float32 { return b.c.f })})
	}
	a := &graph.ConvAttrs{Stride: win.stride, Dilation: win.dilation, PadBefore: win.before, PadAfter: win.after, Pad: win.pad}
	if group > 1 {
		a.Groups = int(group)
	}
	dims := append([]int64{x.dims[0], o}, win.outDims(x.dims[2:], false)...)
	return e.emitOut(n, "conv", ins, a, dims, true)
}

// batchNorm translates BatchNormalization (inference: running statistics).
func batchNorm(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	if len(x.dims) < 2 {
		return fmt.Errorf("input of rank %d", len(x.dims))
	}
	eps, err := attrFloat(n, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	if err := finite(eps); err != nil || eps < 0 {
		return fmt.Errorf("epsilon %v", eps)
	}
	if s, err := attrInt(n, "spatial", 1); err != nil || s != 1 {
		return fmt.Errorf("%w: spatial=%d (per-position statistics)", ErrUnsupported, s)
	}
	if t, err := attrInt(n, "training_mode", 0); err != nil || t != 0 {
		return fmt.Errorf("%w: training_mode=%d", ErrUnsupported, t)
	}
	c := x.dims[1]
	ins := []irIn{{}}
	for i := 1; i <= 4; i++ {
		p, err := e.konst(n, i)
		if err != nil {
			return err
		}
		if p.isInt || len(p.dims) != 1 || (c > 0 && p.dims[0] != c) {
			return fmt.Errorf("parameter %q %v for %d channels", p.name, p.dims, c)
		}
		ins = append(ins, irIn{w: e.weight(p, "bn", p.dims, func() []float32 { return p.f })})
	}
	if len(x.dims) >= 3 {
		if x, err = e.asCL(x); err != nil {
			return err
		}
	}
	ins[0] = vin(x)
	return e.emitOut(n, "batch_norm", ins, graph.Eps(eps), x.dims, x.cl)
}

// pool translates MaxPool and AveragePool.
func pool(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	if len(n.Output) > 1 && n.Output[1] != "" {
		return fmt.Errorf("%w: the Indices output", ErrUnsupported)
	}
	ks, ok, err := attrInts(n, "kernel_shape")
	if err != nil {
		return err
	}
	if !ok || len(ks) != len(x.dims)-2 || len(ks) < 1 {
		return fmt.Errorf("kernel_shape %v for input of rank %d", ks, len(x.dims))
	}
	kernel, err := ints(ks)
	if err != nil {
		return err
	}
	win, err := readWindow(n, len(kernel), kernel)
	if err != nil {
		return err
	}
	for _, dl := range win.dilation {
		if dl != 1 {
			return fmt.Errorf("%w: dilations %v", ErrUnsupported, win.dilation)
		}
	}
	ceil, err := attrInt(n, "ceil_mode", 0)
	if err != nil {
		return err
	}
	a := graph.PoolAttrs{Op: "max", Kernel: kernel, Stride: win.stride, PadBefore: win.before, PadAfter: win.after,
		Pad: win.pad, Ceil: ceil != 0}
	if n.OpType == "AveragePool" {
		a.Op = "avg"
		cip, err := attrInt(n, "count_include_pad", 0)
		if err != nil {
			return err
		}
		a.CountIncludePad = cip != 0
	}
	if x, err = e.asCL(x); err != nil {
		return err
	}
	dims := append([]int64{x.dims[0], x.dims[1]}, win.outDims(x.dims[2:], ceil != 0)...)
	return e.emitOut(n, "pool", []irIn{vin(x)}, a, dims, true)
}

// globalPool translates GlobalAveragePool and GlobalMaxPool.
func globalPool(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	if x, err = e.asCL(x); err != nil {
		return err
	}
	dims := append([]int64{}, x.dims...)
	for i := 2; i < len(dims); i++ {
		dims[i] = 1
	}
	op := "global_avg_pool"
	if n.OpType == "GlobalMaxPool" {
		op = "global_max_pool"
	}
	return e.emitOut(n, op, []irIn{vin(x)}, nil, dims, true)
}
