package onnximport

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// resize translates Resize (opsets 10-19) and Upsample (opsets 7-9) into
// the IR's resize: scales or sizes per axis (constants), reordered to the
// value's layout. Resize-10 and Upsample use asymmetric coordinates; their
// nearest mode truncates (Upsample's scales are at least 1).
func resize(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	r := len(x.dims)
	mode, err := attrString(n, "mode", "nearest")
	if err != nil {
		return err
	}
	a := &graph.ResizeAttrs{Mode: mode}
	switch mode {
	case "nearest", "linear", "cubic":
	case "bilinear", "trilinear": // Upsample-7's spellings in some exporters
		a.Mode = "linear"
	default:
		return fmt.Errorf("mode %q: want nearest, linear or cubic", mode)
	}
	var scales []float32
	var sizes []int64
	legacy := n.OpType == "Upsample" || e.opset < 11
	switch {
	case n.OpType == "Upsample" && e.opset < 9:
		s, ok, err := attrFloats(n, "scales")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("Upsample-%d needs its scales attribute", e.opset)
		}
		scales = s
	case legacy: // Upsample-9, Resize-10: X, scales
		c, err := e.konst(n, 1)
		if err != nil {
			return fmt.Errorf("scales: %w", err)
		}
		scales = c.floats()
	default: // X, roi, scales, sizes
		if roi, err := e.optArg(n, 1); err != nil {
			return err
		} else if roi != nil {
			c, err := e.konst(n, 1)
			if err != nil {
				return fmt.Errorf("roi: %w", err)
			}
			if len(c.floats()) > 0 {
				a.Roi = slices.Clone(c.floats())
			}
		}
		if s, err := e.optArg(n, 2); err != nil {
			return err
		} else if s != nil {
			c, err := e.konst(n, 2)
			if err != nil {
				return fmt.Errorf("scales: %w", err)
			}
			scales = c.floats()
		}
		if s, err := e.optArg(n, 3); err != nil {
			return err
		} else if s != nil {
			c, err := e.konst(n, 3)
			if err != nil {
				return fmt.Errorf("sizes: %w", err)
			}
			sizes = c.ints()
		}
		if len(scales) > 0 && len(sizes) > 0 {
			return fmt.Errorf("both scales %v and sizes %v are given", scales, sizes)
		}
	}
	if len(scales) == 0 {
		scales = nil
	}
	if len(sizes) == 0 {
		sizes = nil
	}
	if scales == nil && sizes == nil {
		return fmt.Errorf("neither scales nor sizes is given")
	}
	if err := resizeAttrs(n, a, legacy); err != nil {
		return err
	}
	axes := identity(r)
	if ax, ok, err := attrInts(n, "axes"); err != nil {
		return err
	} else if ok {
		axes = axes[:0]
		for _, v := range ax {
			i, err := normAxis(v, r)
			if err != nil {
				return fmt.Errorf("axes %v: %w", ax, err)
			}
			axes = append(axes, i)
		}
	}
	k := len(axes)
	if (scales != nil && len(scales) != k) || (sizes != nil && len(sizes) != k) {
		return fmt.Errorf("%d scales and %d sizes for %d axes (input %v)", len(scales), len(sizes), k, x.dims)
	}
	if a.Roi != nil && len(a.Roi) != 2*k {
		return fmt.Errorf("roi has %d values for %d axes", len(a.Roi), k)
	}
	// Full per-axis lists in ONNX order, then in ours.
	fs, fz := make([]float32, r), make([]int, r)
	var roi []float32
	if a.Roi != nil {
		roi = make([]float32, 2*r)
		for i := range r {
			roi[i], roi[r+i] = 0, 1
		}
	}
	for i := range r {
		fs[i] = 1
	}
	for j, ax := range axes {
		if scales != nil {
			if err := finite(scales[j]); err != nil || scales[j] <= 0 {
				return fmt.Errorf("scales %v: want positive values", scales)
			}
			fs[ax] = scales[j]
		}
		if sizes != nil {
			if sizes[j] < 1 || sizes[j] > 1<<30 {
				return fmt.Errorf("sizes %v: want positive values", sizes)
			}
			fz[ax] = int(sizes[j])
		}
		if roi != nil {
			roi[ax], roi[r+ax] = a.Roi[j], a.Roi[k+j]
		}
	}
	var aspect []float32 // the scales keep_aspect_ratio_policy sets
	if sizes != nil {
		if aspect, err = keepAspect(n, x.dims, axes, fz); err != nil {
			return err
		}
	}
	if n.OpType == "Upsample" {
		for _, s := range fs {
			if s < 1 {
				return fmt.Errorf("Upsample scales %v: want values of at least 1", fs)
			}
		}
	}
	// Image data is held channels-last; anything else in ONNX order.
	if r >= 3 && !x.cl {
		if x, err = e.asCL(x); err != nil {
			return err
		}
	}
	l := x.layout()
	dims := slices.Clone(x.dims)
	for i := range r {
		switch {
		case sizes != nil && fz[i] > 0:
			dims[i] = int64(fz[i])
		case sizes == nil && x.dims[i] > 0:
			dims[i] = int64(math.Floor(float64(x.dims[i]) * float64(fs[i])))
		case fs[i] != 1 || (sizes != nil && fz[i] > 0):
			dims[i] = dimUnknown
		}
	}
	if sizes != nil {
		a.Sizes = make([]int, r)
		for i, p := range l {
			a.Sizes[i] = fz[p]
		}
		if aspect != nil {
			a.Scales = make([]float32, r)
			for i, p := range l {
				a.Scales[i] = aspect[p]
			}
		}
	} else {
		a.Scales = make([]float32, r)
		for i, p := range l {
			a.Scales[i] = fs[p]
		}
	}
	if roi != nil {
		a.Roi = make([]float32, 2*r)
		for i, p := range l {
			a.Roi[i], a.Roi[r+i] = roi[p], roi[r+p]
		}
	}
	return e.emitOut(n, "resize", []irIn{vin(x)}, a, dims, x.cl)
}

// resizeAttrs reads the coordinate and rounding attributes.
func resizeAttrs(n *onnx.Node, a *graph.ResizeAttrs, legacy bool) error {
	if legacy {
		a.Coord, a.Nearest = "asymmetric", "simple"
		return nil
	}
	var err error
	if a.Coord, err = attrString(n, "coordinate_transformation_mode", "half_pixel"); err != nil {
		return err
	}
	if a.Nearest, err = attrString(n, "nearest_mode", "round_prefer_floor"); err != nil {
		return err
	}
	ca, err := attrFloat(n, "cubic_coeff_a", -0.75)
	if err != nil {
		return err
	}
	if err := finite(ca); err != nil {
		return fmt.Errorf("cubic_coeff_a: %w", err)
	}
	a.CubicA = &ca
	ex, err := attrInt(n, "exclude_outside", 0)
	if err != nil {
		return err
	}
	a.ExcludeOutside = ex != 0
	if a.Extrapolation, err = attrFloat(n, "extrapolation_value", 0); err != nil {
		return err
	}
	if err := finite(a.Extrapolation); err != nil {
		return fmt.Errorf("extrapolation_value: %w", err)
	}
	if aa, err := attrInt(n, "antialias", 0); err != nil {
		return err
	} else if aa != 0 {
		return fmt.Errorf("%w: antialias=1 (a low-pass filter when downsampling); export with antialias=0", ErrUnsupported)
	}
	if a.Coord != "tf_crop_and_resize" {
		a.Roi = nil
	}
	a.Coord = strings.ToLower(a.Coord)
	return nil
}

// keepAspect applies keep_aspect_ratio_policy (opset 18) to sizes over
// the given axes: not_larger and not_smaller scale every axis alike, by
// the scale returned (per axis, 1 elsewhere; nil for stretch).
func keepAspect(n *onnx.Node, dims []int64, axes []int, sizes []int) ([]float32, error) {
	p, err := attrString(n, "keep_aspect_ratio_policy", "stretch")
	if err != nil || p == "stretch" {
		return nil, err
	}
	if p != "not_larger" && p != "not_smaller" {
		return nil, fmt.Errorf("keep_aspect_ratio_policy %q", p)
	}
	scale := math.Inf(1)
	if p == "not_smaller" {
		scale = math.Inf(-1)
	}
	for _, ax := range axes {
		if dims[ax] <= 0 {
			return nil, fmt.Errorf("%w: keep_aspect_ratio_policy %q on an axis whose size is dynamic (give --input-size)", ErrUnsupported, p)
		}
		s := float64(sizes[ax]) / float64(dims[ax])
		if p == "not_larger" {
			scale = math.Min(scale, s)
		} else {
			scale = math.Max(scale, s)
		}
	}
	sc := make([]float32, len(dims))
	for i := range sc {
		sc[i] = 1
	}
	for _, ax := range axes {
		sizes[ax] = int(math.Round(scale * float64(dims[ax])))
		sc[ax] = float32(scale)
	}
	return sc, nil
}

func attrFloats(n *onnx.Node, name string) ([]float32, bool, error) {
	a, err := attr(n, name, onnx.AttrFloats)
	if a == nil || err != nil {
		return nil, false, err
	}
	return a.Floats, true, nil
}
