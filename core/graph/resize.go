package graph

import (
	"fmt"
	"math"

	"webcnn/core"
	"webcnn/core/nn"
)

// ResizeAttrs configure resize, ONNX's Resize (and Upsample) on the
// runtime's axes: every entry of Scales, Sizes and Roi is per axis of the
// tensor as the runtime holds it (NHWC for images).
//
//   - Mode: "nearest", "linear" (bilinear, trilinear...) or "cubic".
//   - Coord: how an output index maps to an input coordinate:
//     "half_pixel" (default), "half_pixel_symmetric", "pytorch_half_pixel",
//     "align_corners", "asymmetric", "tf_half_pixel_for_nn",
//     "tf_crop_and_resize" (with Roi and Extrapolation).
//   - Nearest: how nearest rounds the coordinate: "round_prefer_floor"
//     (default), "round_prefer_ceil", "floor", "ceil", or "simple"
//     (ONNX Resize-10: truncate when upsampling, ceil when downsampling).
//   - CubicA: the cubic convolution's a (default -0.75); ExcludeOutside
//     drops the taps outside the input and renormalizes the rest.
//   - Scales (output = floor(input*scale)) or Sizes (0: keep the axis)
//     give the output; with Sizes alone the scale of an axis is out/in;
//     with both, Sizes give the output and Scales the coordinates (ONNX's
//     keep_aspect_ratio_policy).
//   - Roi: starts then ends per axis, in [0, 1] (tf_crop_and_resize only).
type ResizeAttrs struct {
	Mode           string    `json:"mode"`
	Coord          string    `json:"coord,omitempty"`
	Nearest        string    `json:"nearest,omitempty"`
	CubicA         *float32  `json:"cubic_a,omitempty"`
	ExcludeOutside bool      `json:"exclude_outside,omitempty"`
	Extrapolation  float32   `json:"extrapolation,omitempty"`
	Scales         []float32 `json:"scales,omitempty"`
	Sizes          []int     `json:"sizes,omitempty"`
	Roi            []float32 `json:"roi,omitempty"`
}

func init() {
	register("resize", decodeAttrs(newResize))
}

type resizeOp struct {
	opBase
	a ResizeAttrs
}

var (
	resizeModes   = map[string]bool{"nearest": true, "linear": true, "cubic": true}
	resizeCoords  = map[string]bool{"half_pixel": true, "half_pixel_symmetric": true, "pytorch_half_pixel": true, "align_corners": true, "asymmetric": true, "tf_half_pixel_for_nn": true, "tf_crop_and_resize": true}
	resizeNearest = map[string]bool{"round_prefer_floor": true, "round_prefer_ceil": true, "floor": true, "ceil": true, "simple": true}
)

func newResize(a ResizeAttrs) (graphOp, error) {
	if !resizeModes[a.Mode] {
		return nil, fmt.Errorf("mode %q: want nearest, linear or cubic", a.Mode)
	}
	if a.Coord == "" {
		a.Coord = "half_pixel"
	}
	if !resizeCoords[a.Coord] {
		return nil, fmt.Errorf("coord %q: want half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn or tf_crop_and_resize", a.Coord)
	}
	if a.Nearest == "" {
		a.Nearest = "round_prefer_floor"
	}
	if !resizeNearest[a.Nearest] {
		return nil, fmt.Errorf("nearest %q: want round_prefer_floor, round_prefer_ceil, floor, ceil or simple", a.Nearest)
	}
	if a.Scales == nil && a.Sizes == nil {
		return nil, fmt.Errorf("give scales or sizes")
	}
	if a.Scales != nil && a.Sizes != nil && len(a.Scales) != len(a.Sizes) {
		return nil, fmt.Errorf("%d scales and %d sizes", len(a.Scales), len(a.Sizes))
	}
	for _, s := range a.Scales {
		if !(s > 0) || s > maxExtent || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("scales %v: want positive finite values", a.Scales)
		}
	}
	for _, s := range a.Sizes {
		if s < 0 || s > maxExtent {
			return nil, fmt.Errorf("sizes %v: want values in [0, %d] (0 keeps the axis)", a.Sizes, maxExtent)
		}
	}
	n := max(len(a.Scales), len(a.Sizes))
	if a.Roi != nil && len(a.Roi) != 2*n {
		return nil, fmt.Errorf("roi has %d values, want %d (starts then ends)", len(a.Roi), 2*n)
	}
	for _, v := range append(a.Roi, a.Extrapolation) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("roi %v, extrapolation %v: want finite values", a.Roi, a.Extrapolation)
		}
	}
	if a.CubicA != nil && (math.IsNaN(float64(*a.CubicA)) || math.IsInf(float64(*a.CubicA), 0)) {
		return nil, fmt.Errorf("cubic_a %v", *a.CubicA)
	}
	return &resizeOp{a: a}, nil
}

func (r *resizeOp) arity() (int, int) { return 1, 1 }

// outShape returns the output's shape and each axis's scale.
func (r *resizeOp) outShape(x core.Shape) (core.Shape, []float32, error) {
	n := max(len(r.a.Scales), len(r.a.Sizes))
	if n != x.Rank() {
		return nil, nil, fmt.Errorf("resize of %v: %d scales or sizes, want one per axis", x, n)
	}
	out := x.Clone()
	scales := make([]float32, n)
	for i := range n {
		switch {
		case r.a.Scales != nil && r.a.Sizes != nil:
			scales[i] = r.a.Scales[i]
			if out[i] = x[i]; r.a.Sizes[i] > 0 {
				out[i] = r.a.Sizes[i]
			}
		case r.a.Scales != nil:
			scales[i] = r.a.Scales[i]
			out[i] = int(math.Floor(float64(x[i]) * float64(scales[i])))
		default:
			if r.a.Sizes[i] > 0 {
				out[i] = r.a.Sizes[i]
			}
			scales[i] = float32(out[i]) / float32(x[i])
		}
		if out[i] < 1 || out[i] > maxExtent {
			return nil, nil, fmt.Errorf("resize of %v: axis %d would have %d entries", x, i, out[i])
		}
	}
	return out, scales, nil
}

func (r *resizeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, _, err := r.outShape(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Resize", out, f, false)
	return []core.Shape{out}, f, nil
}

func (r *resizeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	x := in[0]
	xs := x.Shape()
	out, scales, err := r.outShape(xs)
	if err != nil {
		return nil, err
	}
	maps := make([]*axisMap, xs.Rank())
	rep := make([]int, xs.Rank()) // replication factor per axis, or 0
	fast := true
	for i := range maps {
		m := r.axis(i, xs[i], out[i], scales[i])
		maps[i] = m
		if s, ok := m.replication(); ok {
			rep[i] = s
		} else {
			fast = false
		}
	}
	if fast {
		return one(replicate(x, rep))
	}
	// Resize one axis at a time; every nearest axis that only repeats
	// entries goes first, by replication.
	cur := x
	owned := false
	step := func(t *core.Tensor, err error) error {
		if err != nil {
			return err
		}
		if owned {
			cur.Free()
		}
		cur, owned = t, true
		return nil
	}
	ones := make([]int, len(rep))
	anyRep := false
	for i, s := range rep {
		ones[i] = 1
		if s > 1 {
			ones[i], anyRep = s, true
		}
	}
	if anyRep {
		if err := step(replicate(cur, ones)); err != nil {
			return nil, err
		}
	}
	for i, m := range maps {
		if rep[i] > 0 {
			continue
		}
		if err := step(interpolate(cur, i, m)); err != nil {
			if owned {
				cur.Free()
			}
			return nil, fmt.Errorf("resize %v to %v, axis %d: %w", xs, out, i, err)
		}
	}
	if !owned { // every axis was the identity
		return one(core.Apply(x, core.Unary{}))
	}
	return []*core.Tensor{cur}, nil
}

// axisMap says where each output entry of one axis reads: output o is
// the sum over j < k of w[o*k+j] * input[idx[o*k+j]], or ext when out[o]
// is set (tf_crop_and_resize outside the region).
type axisMap struct {
	in, out, k int
	idx        []int
	w          []float32
	ext        []bool
	extValue   float32
}

// replication reports whether the map repeats every input entry s times
// in order (s = 1: the identity).
func (m *axisMap) replication() (int, bool) {
	if m.out%m.in != 0 {
		return 0, false
	}
	s := m.out / m.in
	for o := range m.out {
		if m.ext[o] {
			return 0, false
		}
		for j := range m.k {
			i, w := m.idx[o*m.k+j], m.w[o*m.k+j]
			if w != 0 && (i != o/s || w != 1) {
				return 0, false
			}
		}
	}
	return s, true
}

// coordinate maps output index o of an axis to the input coordinate, in
// float32 as the ONNX reference does (the rounding of nearest depends on it).
func (r *resizeOp) coordinate(o float32, in, out int, scale float32, roiStart, roiEnd float32) float32 {
	fin, fout := float32(in), float32(out)
	switch r.a.Coord {
	case "asymmetric":
		return o / scale
	case "align_corners":
		if out == 1 {
			return 0
		}
		return o * (fin - 1) / (fout - 1)
	case "pytorch_half_pixel":
		if out == 1 {
			return 0
		}
		return (o+0.5)/scale - 0.5
	case "tf_half_pixel_for_nn":
		return (o + 0.5) / scale
	case "tf_crop_and_resize":
		if out == 1 {
			return 0.5 * (roiStart + roiEnd) * (fin - 1)
		}
		return roiStart*(fin-1) + o*(roiEnd-roiStart)*(fin-1)/(fout-1)
	case "half_pixel_symmetric":
		adj := fout / (scale * fin)
		center := fin / 2
		offset := center * (1 - adj)
		return offset + (o+0.5)/scale - 0.5
	}
	return (o+0.5)/scale - 0.5 // half_pixel
}

// nearestIndex rounds coordinate c as the nearest mode says.
func (r *resizeOp) nearestIndex(c float32, down bool) int {
	f := float32(math.Floor(float64(c)))
	switch r.a.Nearest {
	case "floor":
		return int(f)
	case "ceil":
		return int(math.Ceil(float64(c)))
	case "simple":
		if down {
			return int(math.Ceil(float64(c)))
		}
		return int(c) // truncation
	case "round_prefer_ceil":
		if c-f == 0.5 {
			return int(f) + 1
		}
	default: // round_prefer_floor
		if c-f == 0.5 {
			return int(f)
		}
	}
	return int(math.Round(float64(c)))
}

// axis computes the map of axis i.
func (r *resizeOp) axis(i, in, out int, scale float32) *axisMap {
	var rs, re float32 = 0, 1
	if r.a.Roi != nil {
		rs, re = r.a.Roi[i], r.a.Roi[len(r.a.Roi)/2+i]
	}
	k := map[string]int{"nearest": 1, "linear": 2, "cubic": 4}[r.a.Mode]
	m := &axisMap{in: in, out: out, k: k, idx: make([]int, out*k), w: make([]float32, out*k), ext: make([]bool, out), extValue: r.a.Extrapolation}
	clampIdx := func(j int) int { return min(max(j, 0), in-1) }
	if scale == 1 && out == in && (r.a.Mode == "nearest" || r.a.Coord != "tf_crop_and_resize") {
		// An axis that is not resized keeps its entries (onnxruntime
		// skips the coordinate transformation there).
		for o := range out {
			m.idx[o*k], m.w[o*k] = o, 1
		}
		return m
	}
	for o := range out {
		c := r.coordinate(float32(o), in, out, scale, rs, re)
		if r.a.Coord == "tf_crop_and_resize" && (c < 0 || c > float32(in-1)) {
			m.ext[o] = true
			continue
		}
		idx, w := m.idx[o*k:(o+1)*k], m.w[o*k:(o+1)*k]
		switch r.a.Mode {
		case "nearest":
			idx[0], w[0] = clampIdx(r.nearestIndex(c, scale < 1)), 1
		case "linear":
			c = min(max(c, 0), float32(in-1))
			i0 := int(math.Floor(float64(c)))
			i1 := min(i0+1, in-1)
			t := c - float32(i0)
			idx[0], idx[1] = i0, i1
			w[0], w[1] = 1-t, t
			if i1 == i0 {
				w[0], w[1] = 1, 0
			}
		case "cubic":
			r.cubic(c, in, idx, w)
		}
	}
	return m
}

// cubic fills the four taps of cubic convolution (Keys 1981) at c.
func (r *resizeOp) cubic(c float32, in int, idx []int, w []float32) {
	a := float32(-0.75)
	if r.a.CubicA != nil {
		a = *r.a.CubicA
	}
	f := float32(math.Floor(float64(c)))
	t := c - f
	near := func(x float32) float32 { return ((a+2)*x-(a+3))*x*x + 1 }
	far := func(x float32) float32 { return ((a*x-5*a)*x+8*a)*x - 4*a }
	ws := [4]float32{far(t + 1), near(t), near(1 - t), far(2 - t)}
	var sum float32
	for j := range 4 {
		p := int(f) - 1 + j
		if r.a.ExcludeOutside && (p < 0 || p >= in) {
			ws[j] = 0
		}
		sum += ws[j]
		idx[j] = min(max(p, 0), in-1)
	}
	for j := range 4 {
		w[j] = ws[j]
		if r.a.ExcludeOutside && sum != 0 {
			w[j] = ws[j] / sum
		}
	}
}

// replicate repeats every entry of axis i of x rep[i] times (rep[i] >= 1)
// in one broadcasting multiply by ones: x viewed with an axis of extent 1
// after each repeated axis, times ones of extent rep[i] there.
func replicate(x *core.Tensor, rep []int) (*core.Tensor, error) {
	xs := x.Shape()
	var view, ones, out []int
	n := 1
	for i, d := range xs {
		view = append(view, d)
		ones = append(ones, 1)
		out = append(out, d*rep[i])
		if rep[i] > 1 {
			view = append(view, 1)
			ones = append(ones, rep[i])
			n *= rep[i]
		}
	}
	if n == 1 {
		return core.Apply(x, core.Unary{})
	}
	v, err := x.Reshape(view...)
	if err != nil {
		return nil, err
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = 1
	}
	o, err := core.FromData(x.Backend(), ones, data)
	if err != nil {
		return nil, err
	}
	defer o.Free()
	y, err := core.Elementwise(v, o, core.Mul)
	if err != nil {
		return nil, err
	}
	return y.Reshape(out...)
}

// interpolate applies the map of axis ax as a matrix product: x viewed as
// [P, L, Q] (L the axis) becomes A [L', L] times each [L, Q] slice, with
// the axis moved first when P > 1. Entries outside a tf_crop_and_resize
// region get the extrapolation value. A NaN or infinity in the input
// spreads to every output of its slice (0 * inf is NaN).
func interpolate(x *core.Tensor, ax int, m *axisMap) (*core.Tensor, error) {
	xs := x.Shape()
	p, q := 1, 1
	for i := range ax {
		p *= xs[i]
	}
	for i := ax + 1; i < xs.Rank(); i++ {
		q *= xs[i]
	}
	b := x.Backend()
	mat := make([]float32, m.out*m.in)
	for o := range m.out {
		if m.ext[o] {
			continue
		}
		for j := range m.k {
			mat[o*m.in+m.idx[o*m.k+j]] += m.w[o*m.k+j]
		}
	}
	a, err := core.FromData(b, core.Shape{m.out, m.in}, mat)
	if err != nil {
		return nil, err
	}
	defer a.Free()
	var src *core.Tensor
	if p == 1 {
		src, err = x.Reshape(m.in, q)
	} else {
		var v, t *core.Tensor
		if v, err = x.Reshape(p, m.in, q); err == nil {
			if t, err = core.Transpose(v, 1, 0, 2); err == nil {
				defer t.Free()
				src, err = t.Reshape(m.in, p*q)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	y, err := core.MatMulT(a, src, nil, core.MatMul{})
	if err != nil {
		return nil, err
	}
	if y, err = extrapolate(y, m); err != nil {
		return nil, err
	}
	outShape := xs.Clone()
	outShape[ax] = m.out
	if p == 1 {
		return y.Reshape(outShape...)
	}
	v, err := y.Reshape(m.out, p, q)
	if err != nil {
		y.Free()
		return nil, err
	}
	t, err := core.Transpose(v, 1, 0, 2)
	y.Free()
	if err != nil {
		return nil, err
	}
	return t.Reshape(outShape...)
}

// extrapolate adds the extrapolation value to the rows of y [out, n]
// outside the region (their matrix rows are zero).
func extrapolate(y *core.Tensor, m *axisMap) (*core.Tensor, error) {
	var col []float32
	for o, e := range m.ext {
		if e {
			if col == nil {
				col = make([]float32, m.out)
			}
			col[o] = m.extValue
		}
	}
	if col == nil {
		return y, nil
	}
	c, err := core.FromData(y.Backend(), core.Shape{m.out, 1}, col)
	if err != nil {
		y.Free()
		return nil, err
	}
	defer c.Free()
	z, err := core.Elementwise(y, c, core.Add)
	y.Free()
	return z, err
}
