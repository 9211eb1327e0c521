package onnximport

import (
	"fmt"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// convTranspose translates ConvTranspose: x [N, C, S...], W [C, M/group,
// K...], B [M]. The weights become [K..., M/group, C], the HWIO weights
// of the convolution whose input gradient ConvTranspose is.
func convTranspose(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	wv, err := e.arg(n, 1)
	if err != nil {
		return err
	}
	b, err := e.optArg(n, 2)
	if err != nil {
		return err
	}
	w := wv.c
	if w == nil { // weights computed at run time: transposed at run time
		w = &constant{name: n.Input[1], dims: wv.dims}
		for _, d := range wv.dims {
			if d <= 0 {
				return fmt.Errorf("%w: weights %q computed at run time with dims %s unknown at import", ErrUnsupported, n.Input[1], showDims(wv.dims))
			}
		}
	}
	d := len(w.dims) - 2
	if d < 1 || w.isInt {
		return fmt.Errorf("weights %q %v: want float [C, M/group, K...]", w.name, w.dims)
	}
	if len(x.dims) != d+2 {
		return fmt.Errorf("input of rank %d for a %d-d transposed convolution", len(x.dims), d)
	}
	group, err := attrInt(n, "group", 1)
	if err != nil {
		return err
	}
	c, mg := w.dims[0], w.dims[1]
	if group < 1 || c%group != 0 {
		return fmt.Errorf("group %d for %d input channels", group, c)
	}
	if xc := x.dims[1]; xc > 0 && xc != c {
		return fmt.Errorf("input has %d channels, weights %v want %d", xc, w.dims, c)
	}
	m := mg * group
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
	a := &graph.ConvTransposeAttrs{Stride: win.stride, Dilation: win.dilation, PadBefore: win.before, PadAfter: win.after}
	switch win.pad {
	case "same":
		a.Pad = "same_upper"
	case "same_lower":
		a.Pad = "same_lower"
	}
	if group > 1 {
		a.Groups = int(group)
	}
	if op, ok, err := attrInts(n, "output_padding"); err != nil {
		return err
	} else if ok {
		if len(op) != d {
			return fmt.Errorf("output_padding %v: want %d values", op, d)
		}
		if a.OutputPadding, err = ints(op); err != nil {
			return err
		}
		for i, v := range a.OutputPadding {
			if v < 0 || (v >= win.stride[i] && v >= win.dilation[i]) {
				return fmt.Errorf("output_padding %v: each must be at least 0 and less than the stride %v or the dilation %v", op, win.stride, win.dilation)
			}
		}
	}
	if os, ok, err := attrInts(n, "output_shape"); err != nil {
		return err
	} else if ok {
		if len(os) == d+2 { // some exporters write N and C too
			os = os[2:]
		}
		if len(os) != d {
			return fmt.Errorf("output_shape %v: want %d spatial extents", os, d)
		}
		if a.OutSize, err = ints(os); err != nil {
			return err
		}
		for _, v := range a.OutSize {
			if v < 1 {
				return fmt.Errorf("output_shape %v: want positive extents", os)
			}
		}
		a.PadBefore, a.PadAfter = nil, nil
	}
	x, err = e.asCL(x)
	if err != nil {
		return err
	}
	// [C, M/g, K1..Kd] -> [K1..Kd, M/g, C]
	perm := make([]int, 0, d+2)
	for i := range d {
		perm = append(perm, 2+i)
	}
	perm = append(perm, 1, 0)
	kw := permuteDims(w.dims, perm)
	var ins []irIn
	if wv.c != nil {
		ins = []irIn{vin(x), {w: e.weight(w, "transposed-hwio", kw, func() []float32 { return permuteData(w.f, w.dims, perm) })}}
	} else {
		cf, err := e.asCF(wv)
		if err != nil {
			return err
		}
		t, err := e.emit("transpose", nodeName(n)+"/weights", []irIn{vin(cf)}, graph.TransposeAttrs{Perm: perm}, "", kw, false)
		if err != nil {
			return err
		}
		ins = []irIn{vin(x), vin(t)}
	}
	if b != nil {
		switch {
		case len(b.dims) != 1 || (b.dims[0] > 0 && b.dims[0] != m) || (b.c != nil && b.c.isInt):
			return fmt.Errorf("%w: bias %q %v: want a float vector [%d]", ErrUnsupported, n.Input[2], b.dims, m)
		case b.c != nil:
			ins = append(ins, irIn{w: e.weight(b.c, "bias", b.c.dims, func() []float32 { return b.c.f })})
		default:
			ins = append(ins, vin(b))
		}
	}
	dims := []int64{x.dims[0], m}
	for i, in := range x.dims[2:] {
		switch {
		case a.OutSize != nil:
			dims = append(dims, int64(a.OutSize[i]))
		case in <= 0:
			dims = append(dims, dimUnknown)
		case a.Pad != "":
			dims = append(dims, in*int64(win.stride[i]))
		default:
			o := int64(win.stride[i])*(in-1) + int64(win.dilation[i]*(kernel[i]-1)+1)
			if a.OutputPadding != nil {
				o += int64(a.OutputPadding[i])
			}
			if a.PadBefore != nil {
				o -= int64(a.PadBefore[i] + a.PadAfter[i])
			}
			dims = append(dims, o)
		}
	}
	return e.emitOut(n, "conv_transpose", ins, a, dims, true)
}
