package onnximport

import (
	"fmt"

	"webcnn/core/graph"
)

// asCF returns v in ONNX order (channels first).
func (e *importer) asCF(v *value) (*value, error) {
	if !v.cl {
		return v, nil
	}
	return e.relayout(v, false)
}

// asCL returns v channels-last (a value of rank >= 3).
func (e *importer) asCL(v *value) (*value, error) {
	if v.cl {
		return v, nil
	}
	if len(v.dims) < 3 {
		return nil, fmt.Errorf("%w: value %q of rank %d where channels-last data (rank >= 3) is needed", ErrUnsupported, v.name, len(v.dims))
	}
	return e.relayout(v, true)
}

// relayout converts v to the other layout: a reshape (a view) when the
// memory order does not change, else a transpose. Conversions are cached.
func (e *importer) relayout(v *value, cl bool) (*value, error) {
	key := fmt.Sprintf("%s\x00%v", v.name, cl)
	if c, ok := e.conv[key]; ok {
		return c, nil
	}
	r := len(v.dims)
	src := v.ours()
	perm := toFirst(r)
	suffix := "nchw"
	if cl {
		perm, suffix = toLast(r), "nhwc"
	}
	dst := permuteDims(src, perm)
	var out *value
	var err error
	if target, ok := reshapeTarget(src, dst); ok && sameOrder(src, perm) {
		out, err = e.emit("reshape", v.name+"/"+suffix, []irIn{vin(v)}, graph.ReshapeAttrs{Shape: target}, "", v.dims, cl)
	} else {
		out, err = e.emit("transpose", v.name+"/"+suffix, []irIn{vin(v)}, graph.TransposeAttrs{Perm: perm}, "", v.dims, cl)
	}
	if err != nil {
		return nil, err
	}
	e.conv[key] = out
	return out, nil
}

// sameOrder reports whether permuting src by perm keeps the memory order:
// the axes that may be longer than 1 keep their relative order.
func sameOrder(src []int64, perm []int) bool {
	last := -1
	for _, p := range perm {
		if src[p] == 1 {
			continue
		}
		if p < last {
			return false
		}
		last = p
	}
	return true
}

// reshapeTarget writes dims dst as a reshape target for input dims src:
// the batch copied (0) where both have it first, one unknown extent
// inferred (-1).
func reshapeTarget(src, dst []int64) ([]int, bool) {
	t := make([]int, len(dst))
	infer := false
	for i, d := range dst {
		switch {
		case d > 0:
			if d > 1<<30 {
				return nil, false
			}
			t[i] = int(d)
		case d == dimBatch && i == 0 && len(src) > 0 && src[0] == dimBatch:
			t[i] = 0
		default:
			if infer {
				return nil, false
			}
			infer = true
			t[i] = -1
		}
	}
	return t, true
}

// broadcastDims is numpy broadcasting over ONNX dims with symbolic extents.
func broadcastDims(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := range out {
		x, y := int64(1), int64(1)
		if k := i - (r - len(a)); k >= 0 {
			x = a[k]
		}
		if k := i - (r - len(b)); k >= 0 {
			y = b[k]
		}
		switch {
		case x == y:
			out[i] = x
		case x == 1:
			out[i] = y
		case y == 1:
			out[i] = x
		case x > 0 && y > 0:
			return nil, fmt.Errorf("dims %v and %v do not broadcast", a, b)
		case x > 0:
			out[i] = x
		case y > 0:
			out[i] = y
		default:
			out[i] = dimUnknown
		}
	}
	return out, nil
}

// normAxis resolves a possibly negative axis against rank r.
func normAxis(a int64, r int) (int, error) {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	return int(a), nil
}
