package backendtest

import (
	"testing"

	"webcnn/core"
)

// samePad returns the Conv padding fields for TF "same" with stride 1 and
// the given kernel extents, from tfSame.
func samePad(xs core.Shape, k []int, pad core.Padding) (before, after []int) {
	before, after = make([]int, len(k)), make([]int, len(k))
	if pad == core.Same {
		for i := range k {
			before[i], after[i] = tfSame(xs[1+i], k[i], 1, 1)
		}
	}
	return before, after
}

func testBlocks(t *testing.T, b core.Backend) {
	g := core.NewRNG(28)
	t.Run("squeeze_excite", func(t *testing.T) {
		// float64: s = mean of each (n, c) map; h = act(s.w1 + b1);
		// e = gate(h.w2 + b2); y = x * e[n, c]. Tolerance: rounding.
		s := shapeOf(2, 3, 4, 8)
		n, c, r := 2, 8, 2
		for _, gc := range []struct{ act, gate core.Unary }{
			{core.Act(core.ReLU), core.Act(core.Sigmoid)},     // SENet
			{core.Act(core.ReLU), core.Act(core.HardSigmoid)}, // MobileNetV3
			{core.Act(core.SiLU), core.Act(core.Sigmoid)},     // EfficientNet
		} {
			xv := normals(g, s.Size(), 0, 2)
			w1, b1 := normals(g, c*r, 0, 1), normals(g, r, 0, 1)
			w2, b2 := normals(g, r*c, 0, 1), normals(g, c, 0, 1)
			sq := make([]float64, n*c)
			per := s.Size() / n
			for i, x := range xv {
				sq[(i/per)*c+i%c] += float64(x) / float64(per/c)
			}
			h := refMatMul(sq, f64(w1), f64(b1), n, c, r, false, false, gc.act)
			e := refMatMul(h, f64(w2), f64(b2), n, r, c, false, false, gc.gate)
			want := make([]float64, len(xv))
			for i, x := range xv {
				want[i] = float64(x) * e[(i/per)*c+i%c]
			}
			what := desc("squeeze-excite %v r=%d act %s gate %s", s, r, unaryName(gc.act), unaryName(gc.gate))
			y := must(t, what)(core.SqueezeExcite(tensor(t, b, s, xv), tensor(t, b, shapeOf(c, r), w1), tensor(t, b, shapeOf(r), b1),
				tensor(t, b, shapeOf(r, c), w2), tensor(t, b, shapeOf(c), b2), gc.act, gc.gate))
			expectTensor(t, what, y, s, want, rounding)
		}
	})
	t.Run("residual_add", func(t *testing.T) {
		// ResNet's y = relu(x + conv(x)) with a "same" 3x3 conv: integers,
		// exact against refConv plus the float64 sum.
		s := shapeOf(2, 5, 5, 4)
		ws := shapeOf(3, 3, 4, 4)
		xv, wv, bv := ints(g, s.Size(), -3, 3), ints(g, ws.Size(), -2, 2), ints(g, 4, -3, 3)
		pb, pa := samePad(s, []int{3, 3}, core.Same)
		f, _ := refConv(f64(xv), s, f64(wv), ws, f64(bv), core.Conv{PadBefore: pb, PadAfter: pa})
		want := make([]float64, len(f))
		for i := range f {
			want[i] = max(0, f[i]+float64(xv[i]))
		}
		x := tensor(t, b, s, xv)
		p := core.ConvPadding(core.Conv{}, s, []int{3, 3}, core.Same)
		fx := must(t, "conv")(core.Convolve(x, tensor(t, b, ws, wv), tensor(t, b, shapeOf(4), bv), p))
		sum := must(t, "add")(core.Elementwise(x, fx, core.Add))
		y := must(t, "relu")(core.Apply(sum, core.Act(core.ReLU)))
		expectTensor(t, "residual relu(x + conv3x3(x))", y, s, want, exact)
	})
	t.Run("densenet_concat", func(t *testing.T) {
		// DenseNet's y = concat(x, relu(conv(x))) on the channels: exact.
		s := shapeOf(2, 4, 3, 5)
		ws := shapeOf(3, 3, 5, 3)
		xv, wv := ints(g, s.Size(), -3, 3), ints(g, ws.Size(), -2, 2)
		pb, pa := samePad(s, []int{3, 3}, core.Same)
		f, fs := refConv(f64(xv), s, f64(wv), ws, nil, core.Conv{PadBefore: pb, PadAfter: pa, Act: core.Act(core.ReLU)})
		want, os := refConcat(3, []core.Shape{s, fs}, [][]float64{f64(xv), f})
		x := tensor(t, b, s, xv)
		p := core.ConvPadding(core.Conv{Act: core.Act(core.ReLU)}, s, []int{3, 3}, core.Same)
		fx := must(t, "conv")(core.Convolve(x, tensor(t, b, ws, wv), nil, p))
		y := must(t, "concat")(core.Concat(-1, x, fx))
		expectTensor(t, "densenet concat(x, relu(conv(x)))", y, os, want, exact)
	})
	for _, pad := range []core.Padding{core.Valid, core.Same} {
		name := map[core.Padding]string{core.Valid: "valid", core.Same: "same"}[pad]
		t.Run("spatial_separable_"+name, func(t *testing.T) {
			// A k x 1 pass then a 1 x k pass, each padded on the axis it
			// convolves: refConv twice. Integers: exact.
			s := shapeOf(2, 6, 5, 3)
			k, cmid, cout := 3, 4, 5
			cs, rs := shapeOf(k, 1, 3, cmid), shapeOf(1, k, cmid, cout)
			xv, cv, rv, bv := ints(g, s.Size(), -3, 3), ints(g, cs.Size(), -2, 2), ints(g, rs.Size(), -2, 2), ints(g, cout, -3, 3)
			pb, pa := samePad(s, []int{k, 1}, pad)
			mid, ms := refConv(f64(xv), s, f64(cv), cs, nil, core.Conv{PadBefore: pb, PadAfter: pa})
			pb, pa = samePad(ms, []int{1, k}, pad)
			want, os := refConv(mid, ms, f64(rv), rs, f64(bv), core.Conv{PadBefore: pb, PadAfter: pa, Act: core.Act(core.ReLU)})
			what := desc("spatial separable %s x=%v col=%v row=%v", name, s, cs, rs)
			y := must(t, what)(core.SpatialSeparableConv2D(tensor(t, b, s, xv), tensor(t, b, cs, cv), tensor(t, b, rs, rv), tensor(t, b, shapeOf(cout), bv), pad, core.Act(core.ReLU)))
			expectTensor(t, what, y, os, want, exact)
		})
		t.Run("flattened_"+name, func(t *testing.T) {
			// Lateral 1x1 (Cin -> F), then vertical k x 1 and horizontal
			// 1 x k, each per channel (groups F): refConv three times.
			s := shapeOf(2, 5, 6, 4)
			k, f := 3, 5
			ls, vs, hs := shapeOf(1, 1, 4, f), shapeOf(k, 1, 1, f), shapeOf(1, k, 1, f)
			xv, lv, vv, hv, bv := ints(g, s.Size(), -3, 3), ints(g, ls.Size(), -2, 2), ints(g, vs.Size(), -2, 2), ints(g, hs.Size(), -2, 2), ints(g, f, -3, 3)
			y1, s1 := refConv(f64(xv), s, f64(lv), ls, nil, core.Conv{})
			pb, pa := samePad(s1, []int{k, 1}, pad)
			y2, s2 := refConv(y1, s1, f64(vv), vs, nil, core.Conv{Groups: f, PadBefore: pb, PadAfter: pa})
			pb, pa = samePad(s2, []int{1, k}, pad)
			want, os := refConv(y2, s2, f64(hv), hs, f64(bv), core.Conv{Groups: f, PadBefore: pb, PadAfter: pa, Act: core.Act(core.ReLU6)})
			what := desc("flattened %s x=%v lat=%v vert=%v hor=%v", name, s, ls, vs, hs)
			y := must(t, what)(core.FlattenedConv2D(tensor(t, b, s, xv), tensor(t, b, ls, lv), tensor(t, b, vs, vv), tensor(t, b, hs, hv), tensor(t, b, shapeOf(f), bv), pad, core.Act(core.ReLU6)))
			expectTensor(t, what, y, os, want, exact)
		})
	}
	for _, c := range []struct {
		name string
		s    core.Shape
		p    core.Conv
		mult int
	}{
		{"depthwise_separable", shapeOf(2, 5, 6, 3), core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}, 1},
		{"depthwise_separable_stride2_keras_same", shapeOf(2, 8, 8, 4), core.Conv{Stride: []int{2, 2}, PadBefore: []int{0, 0}, PadAfter: []int{1, 1}}, 1},
		{"depthwise_separable_multiplier2", shapeOf(1, 5, 5, 3), core.Conv{Dilation: []int{2, 2}}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			// MobileNet's depthwise k x k (groups Cin) with bias and ReLU6,
			// then pointwise 1x1 with bias and ReLU: refConv twice, exact.
			cin := c.s[3]
			cmid, cout := cin*c.mult, 7
			ds, ps := shapeOf(3, 3, 1, cmid), shapeOf(1, 1, cmid, cout)
			xv, dv, db, pv, pbv := ints(g, c.s.Size(), -3, 3), ints(g, ds.Size(), -2, 2), ints(g, cmid, -2, 2), ints(g, ps.Size(), -2, 2), ints(g, cout, -3, 3)
			rp := c.p
			rp.Groups, rp.Act = cin, core.Act(core.ReLU6)
			mid, ms := refConv(f64(xv), c.s, f64(dv), ds, f64(db), rp)
			want, os := refConv(mid, ms, f64(pv), ps, f64(pbv), core.Conv{Act: core.Act(core.ReLU)})
			what := desc("%s x=%v dw=%v pw=%v stride=%v dilation=%v pad=%v/%v", c.name, c.s, ds, ps, c.p.Stride, c.p.Dilation, c.p.PadBefore, c.p.PadAfter)
			y := must(t, what)(core.DepthwiseSeparableConv2D(tensor(t, b, c.s, xv), tensor(t, b, ds, dv), tensor(t, b, shapeOf(cmid), db),
				tensor(t, b, ps, pv), tensor(t, b, shapeOf(cout), pbv), c.p, core.Act(core.ReLU6), core.Act(core.ReLU)))
			expectTensor(t, what, y, os, want, exact)
		})
	}
}
