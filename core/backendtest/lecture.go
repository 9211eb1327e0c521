package backendtest

import (
	"testing"

	"webcnn/core"
)

// The lecture's worked examples, each checked on the backend. The slide
// each number comes from is named in the test.

// extent returns the number of rows and columns spanned by the nonzero
// values of a [1, H, W, 1] map (max - min + 1 on each axis).
func extent(v []float32, h, w int) (rows, cols int) {
	r0, r1, c0, c1 := h, -1, w, -1
	for i, x := range v {
		if x == 0 {
			continue
		}
		r, c := i/w, i%w
		r0, r1, c0, c1 = min(r0, r), max(r1, r), min(c0, c), max(c1, c)
	}
	if r1 < 0 {
		return 0, 0
	}
	return r1 - r0 + 1, c1 - c0 + 1
}

// ones returns n ones.
func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func testLecture(t *testing.T, b core.Backend) {
	t.Run("max_pool_4x4", func(t *testing.T) {
		// Slide "Pooling: max pooling", 2x2 filters and stride 2.
		x := tensor(t, b, shapeOf(1, 4, 4, 1), []float32{
			29, 15, 28, 184,
			0, 100, 70, 38,
			12, 12, 7, 2,
			12, 12, 45, 6,
		})
		y := must(t, "max pool")(core.MaxPool2D(x, 2, 2))
		expectTensor(t, "lecture max pool 2x2 s2", y, shapeOf(1, 2, 2, 1), []float64{100, 184, 12, 45}, exact)
	})
	t.Run("avg_pool_4x4", func(t *testing.T) {
		// Slide "Pooling: average pooling", 2x2 filters and stride 2:
		// (31+15+0+100)/4 = 36.5, which the slide rounds to 36;
		// (28+184+70+38)/4 = 80; 48/4 = 12; (7+2+45+6)/4 = 15.
		x := tensor(t, b, shapeOf(1, 4, 4, 1), []float32{
			31, 15, 28, 184,
			0, 100, 70, 38,
			12, 12, 7, 2,
			12, 12, 45, 6,
		})
		y := must(t, "avg pool")(core.AvgPool2D(x, 2, 2))
		expectTensor(t, "lecture avg pool 2x2 s2", y, shapeOf(1, 2, 2, 1), []float64{36.5, 80, 12, 15}, exact)
	})
	t.Run("output_size_formula", func(t *testing.T) {
		// Slide "Output size": (D - F + 2P)/S + 1, whenever S divides.
		for d := 1; d <= 20; d++ {
			for f := 1; f <= d; f++ {
				for p := 0; p < f; p++ {
					for s := 1; s <= 4; s++ {
						if (d-f+2*p)%s != 0 {
							continue
						}
						want := (d-f+2*p)/s + 1
						if got := core.ConvOutSize(d, f, s, 1, p, p); got != want {
							t.Errorf("ConvOutSize(D %d, F %d, S %d, P %d) = %d, want (D-F+2P)/S+1 = %d", d, f, s, p, got, want)
						}
					}
				}
			}
		}
		// Slide "AlexNet": 227 -conv 11 s4-> 55 -pool 3 s2-> 27 -conv 5 p2->
		// 27 -pool 3 s2-> 13 -conv 3 p1-> 13 -pool 3 s2-> 6.
		steps := []struct {
			name string
			got  int
			want int
		}{
			{"conv1 11 s4", core.ConvOutSize(227, 11, 4, 1, 0, 0), 55},
			{"pool1 3 s2", core.PoolOutSize(55, 3, 2, 0, 0, false), 27},
			{"conv2 5 p2", core.ConvOutSize(27, 5, 1, 1, 2, 2), 27},
			{"pool2 3 s2", core.PoolOutSize(27, 3, 2, 0, 0, false), 13},
			{"conv3 3 p1", core.ConvOutSize(13, 3, 1, 1, 1, 1), 13},
			{"pool5 3 s2", core.PoolOutSize(13, 3, 2, 0, 0, false), 6},
		}
		for _, s := range steps {
			if s.got != s.want {
				t.Errorf("AlexNet %s: %d, want %d", s.name, s.got, s.want)
			}
		}
	})
	t.Run("alexnet_chain", func(t *testing.T) {
		// The same chain run on the backend with 4 channels instead of
		// 96/256/384. Input integers in [0, 3], weights in {-1, 0, 1}, ReLU
		// and max pooling: |conv1| <= 363*3 = 1089, |conv2| <= 100*1089,
		// |conv3| <= 36*108900 < 2^24, so every sum is an exact integer and
		// the float64 reference chain (refConv, refPool) must match exactly.
		g := core.NewRNG(29)
		relu := core.Act(core.ReLU)
		pool := core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}}
		xs := shapeOf(1, 227, 227, 3)
		xv := ints(g, xs.Size(), 0, 3)
		x := tensor(t, b, xs, xv)
		ref, rs := f64(xv), xs
		convs := []struct {
			name string
			w    core.Shape
			p    core.Conv
			out  int
		}{
			{"conv1", shapeOf(11, 11, 3, 4), core.Conv{Stride: []int{4, 4}, Act: relu}, 55},
			{"conv2", shapeOf(5, 5, 4, 4), core.Conv{PadBefore: []int{2, 2}, PadAfter: []int{2, 2}, Act: relu}, 27},
			{"conv3", shapeOf(3, 3, 4, 4), core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, Act: relu}, 13},
		}
		pools := []int{27, 13, 6}
		for i, c := range convs {
			wv := ints(g, c.w.Size(), -1, 1)
			x = must(t, c.name)(core.Convolve(x, tensor(t, b, c.w, wv), nil, c.p))
			ref, rs = refConv(ref, rs, f64(wv), c.w, nil, c.p)
			if want := shapeOf(1, c.out, c.out, 4); !x.Shape().Equal(want) || !rs.Equal(want) {
				t.Fatalf("AlexNet %s: backend %v, reference %v, want %v", c.name, x.Shape(), rs, want)
			}
			x = must(t, "pool")(core.PoolND(x, pool))
			ref, rs = refPool(ref, rs, pool)
			if want := shapeOf(1, pools[i], pools[i], 4); !x.Shape().Equal(want) {
				t.Fatalf("AlexNet pool after %s: %v, want %v", c.name, x.Shape(), want)
			}
		}
		expectTensor(t, "AlexNet chain 227 -> 6", x, rs, ref, exact)
	})
	t.Run("alexnet_conv1_weights", func(t *testing.T) {
		// Slide "AlexNet": CONV1 has 11x11x3x96 = 34,848 weights.
		if n := (core.Shape{11, 11, 3, 96}).Size(); n != 34848 {
			t.Errorf("AlexNet conv1 weights: %d, want 34848", n)
		}
	})
	t.Run("receptive_field_stacked_3x3", func(t *testing.T) {
		// Slide "Stacking 3x3 convolutions": L stacked 3x3 convs see
		// 1 + 2L pixels: 3, 5, 7. Measured on the backend: an impulse
		// through all-ones kernels ("same") is nonzero exactly on the
		// outputs whose receptive field holds the impulse.
		x := make([]float32, 15*15)
		x[7*15+7] = 1
		y := tensor(t, b, shapeOf(1, 15, 15, 1), x)
		w := tensor(t, b, shapeOf(3, 3, 1, 1), ones(9))
		p := core.ConvPadding(core.Conv{}, y.Shape(), []int{3, 3}, core.Same)
		for l := 1; l <= 3; l++ {
			y = must(t, "conv")(core.Convolve(y, w, nil, p))
			r, c := extent(data(t, y), 15, 15)
			if r != 1+2*l || c != 1+2*l {
				t.Errorf("%d stacked 3x3 convs: receptive field %dx%d, want %dx%d", l, r, c, 1+2*l, 1+2*l)
			}
		}
	})
	t.Run("receptive_field_dilation", func(t *testing.T) {
		// Slide "Dilated convolutions": a 3x3 kernel with dilation 1, 2, 3
		// covers 3x3, 5x5, 7x7 (span d*(k-1) + 1), measured with an impulse.
		x := make([]float32, 15*15)
		x[7*15+7] = 1
		xt := tensor(t, b, shapeOf(1, 15, 15, 1), x)
		w := tensor(t, b, shapeOf(3, 3, 1, 1), ones(9))
		for d := 1; d <= 3; d++ {
			p := core.ConvPadding(core.Conv{Dilation: []int{d, d}}, xt.Shape(), []int{3, 3}, core.Same)
			y := must(t, "conv")(core.Convolve(xt, w, nil, p))
			r, c := extent(data(t, y), 15, 15)
			if r != 2*d+1 || c != 2*d+1 {
				t.Errorf("3x3 conv dilation %d: receptive field %dx%d, want %dx%d", d, r, c, 2*d+1, 2*d+1)
			}
		}
		// Valid padding: a 7x7 input and a dilation-3 kernel leave one
		// output, which every one of the 9 taps (at 0, 3, 6) reaches.
		v := make([]float32, 49)
		for i := range v {
			v[i] = float32(i)
		}
		y := must(t, "conv")(core.Convolve(tensor(t, b, shapeOf(1, 7, 7, 1), v), w, nil, core.Conv{Dilation: []int{3, 3}}))
		// Hand: 0+3+6 + 21+24+27 + 42+45+48 = 216.
		expectTensor(t, "3x3 dilation 3 on 7x7", y, shapeOf(1, 1, 1, 1), []float64{216}, exact)
	})
	t.Run("separable_filters", func(t *testing.T) {
		// Slide "Spatially separable convolutions": a column filter then a
		// row filter equals the 3x3 kernel K[i][j] = col[i]*row[j].
		// Tolerance: 1e-6 relative, 1e-5 absolute (thirds are inexact in
		// float32 and the two orders of summation round differently).
		sep := tolerance{"separable", 1e-5, 1e-6}
		third := float32(1.0 / 3)
		for _, c := range []struct {
			name      string
			col, row  []float32
			full      []float64 // the slide's 3x3 kernel, row-major
			fullScale float64
		}{
			{"box", []float32{third, third, third}, []float32{third, third, third}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}, 9},
			{"sobel_like", []float32{third, third, third}, []float32{-1, 0, 1}, []float64{-1, 0, 1, -1, 0, 1, -1, 0, 1}, 3},
			{"gaussian", []float32{0.25, 0.5, 0.25}, []float32{0.25, 0.5, 0.25}, []float64{1, 2, 1, 2, 4, 2, 1, 2, 1}, 16},
		} {
			// The slide's claim itself, in float64: the outer product is the kernel.
			fk := make([]float32, 9)
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					want := c.full[i*3+j] / c.fullScale
					got := float64(c.col[i]) * float64(c.row[j])
					if !sep.ok(float32(got), want) {
						t.Errorf("%s: col[%d]*row[%d] = %v, slide kernel %v", c.name, i, j, got, want)
					}
					fk[i*3+j] = float32(want)
				}
			}
			x := tensor(t, b, shapeOf(2, 8, 9, 1), ints(core.NewRNG(30), 2*8*9, 0, 9))
			for _, pad := range []core.Padding{core.Valid, core.Same} {
				what := desc("separable %s pad %v", c.name, pad)
				ys := must(t, what)(core.SpatialSeparableConv2D(x, tensor(t, b, shapeOf(3, 1, 1, 1), c.col), tensor(t, b, shapeOf(1, 3, 1, 1), c.row), nil, pad, core.Unary{}))
				p := core.ConvPadding(core.Conv{}, x.Shape(), []int{3, 3}, pad)
				yf := must(t, what)(core.Convolve(x, tensor(t, b, shapeOf(3, 3, 1, 1), fk), nil, p))
				expectTensor(t, what+": separable vs full 3x3", ys, yf.Shape(), f64(data(t, yf)), sep)
			}
		}
	})
	t.Run("parameter_counts", func(t *testing.T) {
		// Slide "Parameters of a 3x3 conv from 3 to 128 channels":
		// ordinary 3*3*3*128 = 3456; depthwise separable 3*3*3 + 3*128 =
		// 27 + 384 = 411; flattened (3 + 3 + 3)*128 = 1152 (the slide
		// prints 1158, an arithmetic slip: 9*128 is 1152).
		for _, c := range []struct {
			name   string
			shapes []core.Shape
			want   int
		}{
			{"ordinary", []core.Shape{{3, 3, 3, 128}}, 3456},
			{"depthwise separable", []core.Shape{{3, 3, 1, 3}, {1, 1, 3, 128}}, 411},
			{"flattened", []core.Shape{{1, 1, 3, 128}, {3, 1, 1, 128}, {1, 3, 1, 128}}, 1152},
		} {
			n := 0
			for _, s := range c.shapes {
				n += s.Size()
			}
			if n != c.want {
				t.Errorf("%s conv 3 -> 128: %d weights, want %d", c.name, n, c.want)
			}
		}
	})
	t.Run("flattened_equals_rank_one", func(t *testing.T) {
		// Slide "Flattened convolutions": when the full Cin x k x k filter
		// is rank one, K[i][j][c][f] = vert[i][f]*hor[j][f]*lat[c][f], the
		// three 1-D passes equal the full conv. Integers: exact, checked
		// against both the backend's full conv and refConv.
		g := core.NewRNG(31)
		s := shapeOf(2, 6, 5, 3)
		f, k := 4, 3
		lv, vv, hv := ints(g, 3*f, -2, 2), ints(g, k*f, -2, 2), ints(g, k*f, -2, 2)
		full := make([]float32, k*k*3*f)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				for c := 0; c < 3; c++ {
					for o := 0; o < f; o++ {
						full[((i*k+j)*3+c)*f+o] = vv[i*f+o] * hv[j*f+o] * lv[c*f+o]
					}
				}
			}
		}
		xv := ints(g, s.Size(), -3, 3)
		x := tensor(t, b, s, xv)
		bias := ints(g, f, -3, 3)
		for _, pad := range []core.Padding{core.Valid, core.Same} {
			what := desc("flattened rank one pad %v", pad)
			yf := must(t, what)(core.FlattenedConv2D(x, tensor(t, b, shapeOf(1, 1, 3, f), lv), tensor(t, b, shapeOf(k, 1, 1, f), vv),
				tensor(t, b, shapeOf(1, k, 1, f), hv), tensor(t, b, shapeOf(f), bias), pad, core.Unary{}))
			p := core.ConvPadding(core.Conv{}, s, []int{k, k}, pad)
			yc := must(t, what)(core.Convolve(x, tensor(t, b, shapeOf(k, k, 3, f), full), tensor(t, b, shapeOf(f), bias), p))
			pb, pa := samePad(s, []int{k, k}, pad)
			want, os := refConv(f64(xv), s, f64(full), shapeOf(k, k, 3, f), f64(bias), core.Conv{PadBefore: pb, PadAfter: pa})
			expectTensor(t, what+" vs refConv", yf, os, want, exact)
			expectTensor(t, what+" full conv vs refConv", yc, os, want, exact)
		}
	})
	t.Run("depthwise_separable_equals_full", func(t *testing.T) {
		// Slide "Depthwise separable convolutions": with no bias or
		// activation between the passes, depthwise then pointwise equals a
		// full conv with K[i][j][c][o] = dw[i][j][c]*pw[c][o]. Exact.
		g := core.NewRNG(32)
		s := shapeOf(2, 5, 6, 3)
		cout := 5
		dv, pv := ints(g, 9*3, -2, 2), ints(g, 3*cout, -2, 2)
		full := make([]float32, 9*3*cout)
		for ij := 0; ij < 9; ij++ {
			for c := 0; c < 3; c++ {
				for o := 0; o < cout; o++ {
					full[(ij*3+c)*cout+o] = dv[ij*3+c] * pv[c*cout+o]
				}
			}
		}
		xv := ints(g, s.Size(), -3, 3)
		x := tensor(t, b, s, xv)
		p := core.ConvPadding(core.Conv{}, s, []int{3, 3}, core.Same)
		yd := must(t, "depthwise separable")(core.DepthwiseSeparableConv2D(x, tensor(t, b, shapeOf(3, 3, 1, 3), dv), nil,
			tensor(t, b, shapeOf(1, 1, 3, cout), pv), nil, p, core.Unary{}, core.Unary{}))
		yc := must(t, "full conv")(core.Convolve(x, tensor(t, b, shapeOf(3, 3, 3, cout), full), nil, p))
		pb, pa := samePad(s, []int{3, 3}, core.Same)
		want, os := refConv(f64(xv), s, f64(full), shapeOf(3, 3, 3, cout), nil, core.Conv{PadBefore: pb, PadAfter: pa})
		expectTensor(t, "depthwise separable vs refConv of the product kernel", yd, os, want, exact)
		expectTensor(t, "full conv of the product kernel vs refConv", yc, os, want, exact)
	})
}
