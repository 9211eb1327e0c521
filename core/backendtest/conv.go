package backendtest

import (
	"testing"

	"webcnn/core"
)

// refConv is the definition of Backend.Conv evaluated in float64 as the
// direct sum, with no im2col, tiling or reordering: for sample n, output
// position o (one index per spatial axis) and output channel co of group
// g = co / (Cout/G),
//
//	y[n,o,co] = act(bias[co] + sum over kernel offsets k and ci < Cin/G of
//	            x[n, o*S - Pb + k*Dil, g*Cin/G + ci] * w[k, ci, co])
//
// where x reads zero outside the input (the padding). The output extent of
// each axis is floor((in + Pb + Pa - Dil*(K-1) - 1)/S) + 1, computed here
// rather than taken from core.
func refConv(x []float64, xs core.Shape, w []float64, ws core.Shape, bias []float64, p core.Conv) ([]float64, core.Shape) {
	d := len(xs) - 2
	groups := max(p.Groups, 1)
	cin, cout := xs[d+1], ws[d+1]
	cpg, opg := cin/groups, cout/groups
	param := func(s []int, i, def int) int {
		if s == nil {
			return def
		}
		return s[i]
	}
	stride, dil, pb := make([]int, d), make([]int, d), make([]int, d)
	os := core.Shape{xs[0]}
	for i := 0; i < d; i++ {
		stride[i], dil[i], pb[i] = param(p.Stride, i, 1), param(p.Dilation, i, 1), param(p.PadBefore, i, 0)
		pa := param(p.PadAfter, i, 0)
		os = append(os, (xs[1+i]+pb[i]+pa-dil[i]*(ws[i]-1)-1)/stride[i]+1)
	}
	os = append(os, cout)
	// Every kernel offset vector, in row-major order of ws[:d].
	var taps [][]int
	nk := core.Shape(ws[:d]).Size()
	for t := 0; t < nk; t++ {
		taps = append(taps, unravel(t, ws[:d]))
	}
	y := make([]float64, os.Size())
	pos := make([]int, d+2)
	for i := range y {
		o := unravel(i, os)
		n, co := o[0], o[d+1]
		g := co / opg
		s := 0.0
		if bias != nil {
			s = bias[co]
		}
		for ti, k := range taps {
			inside := true
			pos[0] = n
			for a := 0; a < d; a++ {
				pos[1+a] = o[1+a]*stride[a] - pb[a] + k[a]*dil[a]
				if pos[1+a] < 0 || pos[1+a] >= xs[1+a] {
					inside = false
				}
			}
			if !inside {
				continue
			}
			pos[d+1] = g * cpg
			xb := offset(pos, xs)
			wb := ti * cpg * cout
			for ci := 0; ci < cpg; ci++ {
				s += x[xb+ci] * w[wb+ci*cout+co]
			}
		}
		y[i] = unary64(p.Act, s)
	}
	return y, os
}

// tfSame returns TensorFlow's "same" padding of one axis from its
// documented definition: the output has ceil(in/stride) positions and the
// total padding needed for that, max((out-1)*stride + span - in, 0), is
// split with the odd element after.
func tfSame(in, k, stride, dil int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+dil*(k-1)+1-in, 0)
	return total / 2, total - total/2
}

// convCase is one convolution: input shape, kernel extents, output
// channels and parameters. same asks core.ConvPadding for "same" padding
// (the reference recomputes it with tfSame).
type convCase struct {
	name string
	x    core.Shape
	k    []int
	cout int
	p    core.Conv
	same bool
	bias bool
}

// weights returns the case's weight shape [K..., Cin/G, Cout].
func (c convCase) weights() core.Shape {
	g := max(c.p.Groups, 1)
	return append(append(core.Shape(nil), c.k...), c.x[len(c.x)-1]/g, c.cout)
}

// run convolves random small integers on b and compares with refConv. With
// integers in [-3, 3] and weights in [-2, 2] every partial sum is a small
// integer, so the comparison is exact unless the activation rounds.
func (c convCase) run(t *testing.T, b core.Backend, g *core.RNG, tl tolerance) bool {
	t.Helper()
	ws := c.weights()
	xv, wv := ints(g, c.x.Size(), -3, 3), ints(g, ws.Size(), -2, 2)
	var bv []float32
	var bias *core.Tensor
	if c.bias {
		bv = ints(g, c.cout, -5, 5)
		bias = tensor(t, b, shapeOf(c.cout), bv)
	}
	return c.runData(t, b, xv, wv, bv, bias, tl)
}

func (c convCase) runData(t *testing.T, b core.Backend, xv, wv, bv []float32, bias *core.Tensor, tl tolerance) bool {
	t.Helper()
	ws := c.weights()
	p := c.p
	rp := c.p
	if c.same {
		p = core.ConvPadding(p, c.x, c.k, core.Same)
		d := len(c.k)
		rp.PadBefore, rp.PadAfter = make([]int, d), make([]int, d)
		for i := range c.k {
			st, dl := 1, 1
			if c.p.Stride != nil {
				st = c.p.Stride[i]
			}
			if c.p.Dilation != nil {
				dl = c.p.Dilation[i]
			}
			rp.PadBefore[i], rp.PadAfter[i] = tfSame(c.x[1+i], c.k[i], st, dl)
		}
	}
	what := desc("conv %s x=%v w=%v stride=%v dilation=%v pad=%v/%v groups=%d act=%s bias=%v",
		c.name, c.x, ws, rp.Stride, rp.Dilation, rp.PadBefore, rp.PadAfter, rp.Groups, unaryName(rp.Act), c.bias)
	want, os := refConv(f64(xv), c.x, f64(wv), ws, f64or(bv), rp)
	x := tensor(t, b, c.x, xv)
	w := tensor(t, b, ws, wv)
	y, err := core.Convolve(x, w, bias, p)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	defer y.Free()
	return expectTensor(t, what, y, os, want, tl)
}

// f64or widens v, keeping nil as nil.
func f64or(v []float32) []float64 {
	if v == nil {
		return nil
	}
	return f64(v)
}

var convCases = []convCase{
	// 1-D: [N, W, C] with [K, Cin, Cout].
	{name: "1d_valid", x: shapeOf(2, 9, 3), k: []int{3}, cout: 4},
	{name: "1d_stride2_pad1", x: shapeOf(2, 10, 2), k: []int{3}, cout: 3, p: core.Conv{Stride: []int{2}, PadBefore: []int{1}, PadAfter: []int{1}}},
	{name: "1d_dilation3_same", x: shapeOf(1, 11, 2), k: []int{3}, cout: 2, p: core.Conv{Dilation: []int{3}}, same: true},
	{name: "1d_groups2_bias", x: shapeOf(3, 6, 4), k: []int{2}, cout: 6, p: core.Conv{Groups: 2}, bias: true},
	// 2-D.
	{name: "valid_3x3", x: shapeOf(2, 7, 7, 3), k: []int{3, 3}, cout: 5},
	{name: "same_3x3", x: shapeOf(2, 7, 6, 3), k: []int{3, 3}, cout: 5, same: true},
	{name: "same_5x5_bias", x: shapeOf(1, 6, 7, 2), k: []int{5, 5}, cout: 3, same: true, bias: true},
	{name: "explicit_pad_1_2", x: shapeOf(2, 5, 5, 2), k: []int{3, 3}, cout: 3, p: core.Conv{PadBefore: []int{1, 2}, PadAfter: []int{1, 2}}},
	{name: "asymmetric_pad", x: shapeOf(2, 5, 6, 2), k: []int{3, 3}, cout: 3, p: core.Conv{PadBefore: []int{2, 0}, PadAfter: []int{0, 1}}},
	{name: "stride2", x: shapeOf(2, 8, 8, 3), k: []int{3, 3}, cout: 4, p: core.Conv{Stride: []int{2, 2}}},
	{name: "stride2_dilation2", x: shapeOf(2, 11, 10, 3), k: []int{3, 3}, cout: 4, p: core.Conv{Stride: []int{2, 2}, Dilation: []int{2, 2}}},
	{name: "stride2_dilation2_pad2", x: shapeOf(1, 9, 9, 2), k: []int{3, 3}, cout: 3, p: core.Conv{Stride: []int{2, 2}, Dilation: []int{2, 2}, PadBefore: []int{2, 2}, PadAfter: []int{2, 2}}},
	{name: "stride_1x3", x: shapeOf(1, 7, 10, 2), k: []int{3, 2}, cout: 3, p: core.Conv{Stride: []int{1, 3}}},
	{name: "dilation_2x1", x: shapeOf(1, 9, 6, 2), k: []int{3, 3}, cout: 3, p: core.Conv{Dilation: []int{2, 1}}},
	{name: "same_stride2_even_keras", x: shapeOf(2, 8, 8, 2), k: []int{3, 3}, cout: 3, p: core.Conv{Stride: []int{2, 2}}, same: true},
	{name: "same_stride2_odd", x: shapeOf(2, 7, 7, 2), k: []int{3, 3}, cout: 3, p: core.Conv{Stride: []int{2, 2}}, same: true},
	{name: "same_stride3_dilation2", x: shapeOf(1, 10, 8, 2), k: []int{3, 3}, cout: 2, p: core.Conv{Stride: []int{3, 3}, Dilation: []int{2, 2}}, same: true},
	{name: "same_even_kernel_2x4", x: shapeOf(1, 5, 6, 2), k: []int{2, 4}, cout: 3, same: true},
	{name: "kernel_3x1", x: shapeOf(2, 5, 4, 3), k: []int{3, 1}, cout: 2, same: true},
	{name: "kernel_1x3", x: shapeOf(2, 5, 4, 3), k: []int{1, 3}, cout: 2},
	{name: "1x1", x: shapeOf(2, 4, 5, 6), k: []int{1, 1}, cout: 7, bias: true},
	{name: "1x1_stride2", x: shapeOf(2, 5, 5, 3), k: []int{1, 1}, cout: 4, p: core.Conv{Stride: []int{2, 2}}},
	{name: "kernel_is_input", x: shapeOf(2, 5, 4, 3), k: []int{5, 4}, cout: 6, bias: true},
	{name: "spatial_1x1_same", x: shapeOf(2, 1, 1, 3), k: []int{3, 3}, cout: 4, same: true},
	{name: "batch3", x: shapeOf(3, 4, 4, 2), k: []int{3, 3}, cout: 3, same: true, bias: true},
	{name: "groups4_resnext", x: shapeOf(2, 5, 5, 8), k: []int{3, 3}, cout: 8, p: core.Conv{Groups: 4}, same: true},
	{name: "groups3_widen", x: shapeOf(2, 4, 5, 6), k: []int{3, 3}, cout: 9, p: core.Conv{Groups: 3}, bias: true},
	{name: "groups2_stride2", x: shapeOf(1, 6, 6, 4), k: []int{3, 3}, cout: 6, p: core.Conv{Groups: 2, Stride: []int{2, 2}}, same: true},
	{name: "depthwise", x: shapeOf(2, 5, 6, 5), k: []int{3, 3}, cout: 5, p: core.Conv{Groups: 5}, same: true, bias: true},
	{name: "depthwise_stride2", x: shapeOf(2, 8, 7, 4), k: []int{3, 3}, cout: 4, p: core.Conv{Groups: 4, Stride: []int{2, 2}}, same: true},
	{name: "depthwise_multiplier2", x: shapeOf(2, 5, 5, 3), k: []int{3, 3}, cout: 6, p: core.Conv{Groups: 3}, same: true},
	{name: "depthwise_dilation2", x: shapeOf(1, 7, 7, 3), k: []int{3, 3}, cout: 3, p: core.Conv{Groups: 3, Dilation: []int{2, 2}}},
	// 3-D: [N, D, H, W, C] with [Kd, Kh, Kw, Cin, Cout].
	{name: "3d_valid", x: shapeOf(2, 4, 5, 6, 2), k: []int{2, 3, 3}, cout: 3},
	{name: "3d_same_stride2_bias", x: shapeOf(1, 5, 6, 4, 3), k: []int{3, 3, 3}, cout: 4, p: core.Conv{Stride: []int{2, 2, 2}}, same: true, bias: true},
	{name: "3d_groups2_dilation", x: shapeOf(1, 5, 5, 5, 4), k: []int{2, 2, 2}, cout: 4, p: core.Conv{Groups: 2, Dilation: []int{1, 2, 3}}},
	{name: "3d_asymmetric_pad", x: shapeOf(1, 3, 4, 3, 2), k: []int{2, 3, 2}, cout: 2, p: core.Conv{PadBefore: []int{1, 0, 2}, PadAfter: []int{0, 2, 1}}},
}

// edgeCout, edgeSpatial and edgeCin are sizes around the block, tile and
// vector edges of fast kernels (4-wide vectors, 8- and 16-wide tiles).
var (
	edgeCout    = []int{1, 3, 4, 5, 7, 8, 9, 16, 17, 33}
	edgeSpatial = []int{1, 2, 3, 5, 7, 8, 9}
	edgeCin     = []int{1, 3, 4, 5, 17}
)

func testConv(t *testing.T, b core.Backend) {
	t.Run("hand_1d_cross_correlation", func(t *testing.T) {
		// Hand: y[i] = 1*x[i] + 2*x[i+1] (not flipped: a cross-correlation).
		x := tensor(t, b, shapeOf(1, 5, 1), []float32{1, 2, 3, 4, 5})
		w := tensor(t, b, shapeOf(2, 1, 1), []float32{1, 2})
		y := must(t, "conv")(core.Convolve(x, w, nil, core.Conv{}))
		expectTensor(t, "conv 1d [1 2]", y, shapeOf(1, 4, 1), []float64{5, 8, 11, 14}, exact)
	})
	t.Run("hand_2x2", func(t *testing.T) {
		// Hand: the kernel [[1,0],[0,-1]] gives x[i][j] - x[i+1][j+1] = -4
		// on [[1,2,3],[4,5,6],[7,8,9]].
		x := tensor(t, b, shapeOf(1, 3, 3, 1), []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
		w := tensor(t, b, shapeOf(2, 2, 1, 1), []float32{1, 0, 0, -1})
		y := must(t, "conv")(core.Convolve(x, w, nil, core.Conv{}))
		expectTensor(t, "conv 2x2 valid", y, shapeOf(1, 2, 2, 1), []float64{-4, -4, -4, -4}, exact)
		bias := tensor(t, b, shapeOf(1), []float32{10})
		y = must(t, "conv")(core.Convolve(x, w, bias, core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{0, 0}}))
		// Padded input has a zero row and column before: y[i][j] = xp[i][j] - xp[i+1][j+1] + 10
		// with xp[i][j] = x[i-1][j-1]: row 0: 0-1, 0-2, 0-3; row 1: 0-4, 1-5, 2-6; row 2: 0-7, 4-8, 5-9.
		expectTensor(t, "conv 2x2 pad before 1 bias 10", y, shapeOf(1, 3, 3, 1),
			[]float64{9, 8, 7, 6, 6, 6, 3, 6, 6}, exact)
	})
	t.Run("same_padding_helper", func(t *testing.T) {
		// Hand, from TF's rule out = ceil(in/s), total = (out-1)*s + span - in.
		for _, c := range []struct{ in, k, s, d, before, after int }{
			{8, 3, 2, 1, 0, 1}, // Keras stride 2 on an even input: 0 before, 1 after
			{7, 3, 2, 1, 1, 1},
			{5, 3, 1, 1, 1, 1},
			{4, 2, 1, 1, 0, 1},
			{8, 1, 2, 1, 0, 0},
			{5, 3, 1, 2, 2, 2},
			{1, 3, 1, 1, 1, 1},
			{6, 5, 3, 1, 1, 1}, // out 2, total (2-1)*3 + 5 - 6 = 2
			{9, 4, 2, 1, 1, 2}, // out 5, total 4*2 + 4 - 9 = 3
		} {
			pb, pa := core.SamePadding(c.in, c.k, c.s, c.d)
			if pb != c.before || pa != c.after {
				t.Errorf("SamePadding(in %d, k %d, s %d, d %d) = %d/%d, want %d/%d", c.in, c.k, c.s, c.d, pb, pa, c.before, c.after)
			}
		}
		p := core.ConvPadding(core.Conv{Stride: []int{2, 2}}, shapeOf(1, 8, 8, 3), []int{3, 3}, core.Same)
		if p.PadBefore[0] != 0 || p.PadBefore[1] != 0 || p.PadAfter[0] != 1 || p.PadAfter[1] != 1 {
			t.Errorf("ConvPadding same stride 2 on 8x8: %v/%v, want [0 0]/[1 1]", p.PadBefore, p.PadAfter)
		}
	})
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, b, core.NewRNG(uint64(len(c.name))), exact)
		})
	}
	t.Run("fused_activation", func(t *testing.T) {
		// Bias and every activation fused into the store, against the
		// float64 reference conv followed by the float64 activation.
		// Tolerance: rounding (the conv sum itself is exact).
		for i, uc := range unaryCases {
			g := core.NewRNG(uint64(200 + i))
			c := convCase{name: "act", x: shapeOf(2, 4, 5, 2), k: []int{3, 3}, cout: 3, same: true, bias: true, p: core.Conv{Act: uc.f}}
			ws := c.weights()
			var xv, wv, bv []float32
			if uc.positive {
				// Positive inputs, weights and bias keep the conv output in the domain.
				xv, wv, bv = ints(g, c.x.Size(), 1, 2), ints(g, ws.Size(), 1, 2), ints(g, c.cout, 1, 3)
			} else {
				// |y| <= 9*2*2*1 + 2 = 38, inside exp's float32 range.
				xv, wv, bv = ints(g, c.x.Size(), -2, 2), ints(g, ws.Size(), -1, 1), ints(g, c.cout, -2, 2)
				for j := range xv {
					xv[j] *= 0.5 // half-integers make the activations' kinks at ±3, 6 reachable
				}
			}
			c.runData(t, b, xv, wv, bv, tensor(t, b, shapeOf(c.cout), bv), rounding)
		}
	})
	t.Run("edges_3x3_same", func(t *testing.T) {
		// Every output-channel count against every input-channel count,
		// with the spatial size cycling through the edge sizes; batch 2.
		g := core.NewRNG(11)
		n := 0
		for i, co := range edgeCout {
			for j, ci := range edgeCin {
				for k, h := range edgeSpatial {
					w := edgeSpatial[(i+j+k+1)%len(edgeSpatial)]
					c := convCase{name: "edge", x: shapeOf(2, h, w, ci), k: []int{3, 3}, cout: co, same: true, bias: (i+j+k)%2 == 0}
					if !c.run(t, b, g, exact) {
						n++
					}
					if n > 3 {
						t.Fatalf("stopping after %d failing shapes", n)
					}
				}
			}
		}
	})
	t.Run("edges_1x1", func(t *testing.T) {
		// 1x1 convolutions are plain GEMMs: M = N*H*W, K = Cin, N = Cout.
		g := core.NewRNG(12)
		for i, co := range edgeCout {
			for j, ci := range edgeCin {
				h := edgeSpatial[(i+j)%len(edgeSpatial)]
				c := convCase{name: "edge1x1", x: shapeOf(2, h, 3, ci), k: []int{1, 1}, cout: co, bias: true, p: core.Conv{Act: core.Act(core.ReLU)}}
				if !c.run(t, b, g, exact) {
					t.FailNow()
				}
			}
		}
	})
	t.Run("edges_deep", func(t *testing.T) {
		// A patch depth K = 3*3*Cin past 256 and more than 192 output
		// pixels: im2col and GEMM blocking cut both. Exact: |sum| <= 297*6 + 5.
		g := core.NewRNG(18)
		for _, ci := range []int{29, 33} {
			for _, co := range []int{5, 16} {
				c := convCase{name: "edge_deep", x: shapeOf(2, 11, 10, ci), k: []int{3, 3}, cout: co, same: true, bias: true}
				if !c.run(t, b, g, exact) {
					t.FailNow()
				}
			}
		}
		c := convCase{name: "edge_deep_groups2", x: shapeOf(1, 14, 15, 64), k: []int{3, 3}, cout: 6, p: core.Conv{Groups: 2}, same: true}
		c.run(t, b, g, exact)
	})
	t.Run("edges_stride2_valid", func(t *testing.T) {
		g := core.NewRNG(13)
		for _, h := range edgeSpatial[2:] {
			for _, co := range []int{4, 5, 17} {
				c := convCase{name: "edge_s2", x: shapeOf(1, h, h+1, 3), k: []int{3, 3}, cout: co, p: core.Conv{Stride: []int{2, 2}}}
				if !c.run(t, b, g, exact) {
					t.FailNow()
				}
			}
		}
	})
	t.Run("edges_depthwise", func(t *testing.T) {
		g := core.NewRNG(14)
		for _, ch := range []int{1, 3, 4, 5, 8, 9, 17, 33} {
			for _, mult := range []int{1, 2} {
				c := convCase{name: "edge_dw", x: shapeOf(2, 5, 4, ch), k: []int{3, 3}, cout: ch * mult, p: core.Conv{Groups: ch}, same: true, bias: true}
				if !c.run(t, b, g, exact) {
					t.FailNow()
				}
			}
		}
	})
}
