package models

import (
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// mobileIDs are the zoo entries of mobilenet.go, mobilenetv2.go,
// mobilenetv3.go and xception.go, with Keras's total parameter count
// (trainable plus batch-norm moving statistics, from the Keras
// applications model summaries) where the model is Keras's.
var mobileIDs = []struct {
	id         string
	kerasTotal int64
}{
	{"mobilenet_v1", 4_253_864},
	{"mobilenet_v1_050_160", 1_342_536},
	{"mobilenet_v2", 0},
	{"mobilenet_v3_large", 0},
	{"mobilenet_v3_small", 0},
	{"xception", 22_910_480},
}

// mobileShapes builds a zoo model on the shape-only backend.
func mobileShapes(t *testing.T, id string) (Spec, nn.Layer) {
	t.Helper()
	spec, err := Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.New(&nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return spec, m
}

// TestMobileCounts holds every model to its published figures: trainable
// parameters exactly, Keras's total with the buffers exactly, and the
// multiply-adds (convolutions and fully connected layers, summed over the
// plan's rows) within 2% where one is published.
func TestMobileCounts(t *testing.T) {
	for _, c := range mobileIDs {
		spec, m := mobileShapes(t, c.id)
		if got := nn.Count(m); got != spec.Params {
			t.Errorf("%s: %d parameters, want %d (%s)", c.id, got, spec.Params, spec.Source)
		}
		if c.kerasTotal != 0 {
			var total int64
			for _, p := range m.Params() {
				total += int64(p.T.Size())
			}
			if total != c.kerasTotal {
				t.Errorf("%s: %d parameters and buffers, want Keras's total %d", c.id, total, c.kerasTotal)
			}
		}
		out, rows, err := nn.PlanOf(m, spec.Input)
		if err != nil {
			t.Fatalf("%s: plan %v: %v", c.id, spec.Input, err)
		}
		if want := (core.Shape{1, spec.Classes}); !out.Equal(want) {
			t.Errorf("%s: output %v, want %v", c.id, out, want)
		}
		var macs int64
		for _, r := range rows {
			macs += r.MACs
		}
		if spec.MACs != 0 {
			if d := math.Abs(float64(macs-spec.MACs)) / float64(spec.MACs); d > 0.02 {
				t.Errorf("%s: %d multiply-adds, want %d within 2%% (%s), off by %.2f%%", c.id, macs, spec.MACs, spec.Source, 100*d)
			}
		}
		t.Logf("%-21s params %9d (published %9d)  MACs %11d (published %11d)", c.id, nn.Count(m), spec.Params, macs, spec.MACs)
	}
}

// TestMobileNetV1MACs checks the plan's multiply-adds against the paper's
// cost model (Section 3.1): a depthwise layer costs D_F^2 * 9 * M and a
// pointwise one D_F^2 * M * N, over Table 1's rows, plus conv1 and the
// classifier, in exact integer arithmetic.
func TestMobileNetV1MACs(t *testing.T) {
	for _, c := range []struct {
		id    string
		alpha float64
		res   int64
	}{{"mobilenet_v1", 1, 224}, {"mobilenet_v1_050_160", 0.5, 160}} {
		ch := func(n int64) int64 { return int64(float64(n) * c.alpha) }
		d := c.res / 2
		want := d * d * 27 * ch(32) // conv1 3x3/2 on 3 channels
		m := ch(32)
		for _, row := range [][2]int64{{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
			{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}} {
			d /= row[1]
			want += d*d*9*m + d*d*m*ch(row[0])
			m = ch(row[0])
		}
		want += m * 1000 // conv_preds
		spec, l := mobileShapes(t, c.id)
		_, rows, err := nn.PlanOf(l, spec.Input)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, r := range rows {
			got += r.MACs
		}
		if got != want {
			t.Errorf("%s: plan has %d multiply-adds, the paper's cost model %d", c.id, got, want)
		}
	}
}

// TestMobileNames spot-checks the checkpoint names and our shapes
// (conv weights HWIO, depthwise [k,k,1,C], linear [in,out]), the number of
// residual blocks (from the papers' tables: blocks of stride 1 whose
// input and output channels agree) and the batch-norm eps.
func TestMobileNames(t *testing.T) {
	for _, c := range []struct {
		id        string
		want      map[string]core.Shape
		residuals int
		eps       float32
	}{
		{"mobilenet_v1", map[string]core.Shape{
			"conv1.weight": {3, 3, 3, 32}, "conv1_bn.running_mean": {32}, "conv_dw_1.weight": {3, 3, 1, 32},
			"conv_dw_1_bn.weight": {32}, "conv_pw_1.weight": {1, 1, 32, 64}, "conv_pw_1_bn.bias": {64},
			"conv_dw_13.weight": {3, 3, 1, 1024}, "conv_pw_13_bn.running_var": {1024},
			"conv_preds.weight": {1, 1, 1024, 1000}, "conv_preds.bias": {1000},
		}, 0, 1e-3},
		{"mobilenet_v1_050_160", map[string]core.Shape{
			"conv1.weight": {3, 3, 3, 16}, "conv_dw_2.weight": {3, 3, 1, 32}, "conv_pw_13.weight": {1, 1, 512, 512},
			"conv_preds.weight": {1, 1, 512, 1000},
		}, 0, 1e-3},
		{"mobilenet_v2", map[string]core.Shape{
			"features.0.0.weight": {3, 3, 3, 32}, "features.0.1.running_var": {32},
			"features.1.conv.0.0.weight": {3, 3, 1, 32}, "features.1.conv.0.1.weight": {32},
			"features.1.conv.1.weight": {1, 1, 32, 16}, "features.1.conv.2.bias": {16},
			"features.2.conv.0.0.weight": {1, 1, 16, 96}, "features.2.conv.1.0.weight": {3, 3, 1, 96},
			"features.2.conv.2.weight": {1, 1, 96, 24}, "features.2.conv.3.running_mean": {24},
			"features.17.conv.2.weight": {1, 1, 960, 320}, "features.18.0.weight": {1, 1, 320, 1280},
			"features.18.1.weight": {1280}, "classifier.1.weight": {1280, 1000}, "classifier.1.bias": {1000},
		}, 10, 1e-5},
		{"mobilenet_v3_large", map[string]core.Shape{
			"features.0.0.weight": {3, 3, 3, 16}, "features.0.1.weight": {16},
			"features.1.block.0.0.weight": {3, 3, 1, 16}, "features.1.block.1.0.weight": {1, 1, 16, 16},
			"features.4.block.0.0.weight": {1, 1, 24, 72}, "features.4.block.1.0.weight": {5, 5, 1, 72},
			"features.4.block.2.fc1.weight": {1, 1, 72, 24}, "features.4.block.2.fc1.bias": {24},
			"features.4.block.2.fc2.weight": {1, 1, 24, 72}, "features.4.block.2.fc2.bias": {72},
			"features.4.block.3.0.weight": {1, 1, 72, 40}, "features.4.block.3.1.running_var": {40},
			"features.7.block.2.0.weight": {1, 1, 240, 80}, "features.15.block.2.fc1.weight": {1, 1, 960, 240},
			"features.16.0.weight": {1, 1, 160, 960}, "classifier.0.weight": {960, 1280}, "classifier.3.weight": {1280, 1000},
		}, 10, 1e-3},
		{"mobilenet_v3_small", map[string]core.Shape{
			"features.1.block.0.0.weight": {3, 3, 1, 16}, "features.1.block.1.fc1.weight": {1, 1, 16, 8},
			"features.1.block.1.fc2.bias": {16}, "features.1.block.2.0.weight": {1, 1, 16, 16},
			"features.9.block.2.fc1.weight": {1, 1, 288, 72}, "features.12.0.weight": {1, 1, 96, 576},
			"classifier.0.weight": {576, 1024}, "classifier.3.bias": {1000},
		}, 6, 1e-3},
		{"xception", map[string]core.Shape{
			"block1_conv1.weight": {3, 3, 3, 32}, "block1_conv2_bn.weight": {64},
			"block2_sepconv1.depthwise.weight": {3, 3, 1, 64}, "block2_sepconv1.pointwise.weight": {1, 1, 64, 128},
			"block2_sepconv1_bn.running_mean": {128}, "block2_shortcut.weight": {1, 1, 64, 128},
			"block2_shortcut_bn.running_var": {128}, "block12_sepconv3.pointwise.weight": {1, 1, 728, 728},
			"block13_sepconv2.pointwise.weight": {1, 1, 728, 1024}, "block13_shortcut.weight": {1, 1, 728, 1024},
			"block14_sepconv2.pointwise.weight": {1, 1, 1536, 2048}, "predictions.weight": {2048, 1000},
		}, 12, 1e-3},
	} {
		_, m := mobileShapes(t, c.id)
		params := nn.Lookup(m)
		for name, want := range c.want {
			p, ok := params[name]
			if !ok {
				t.Errorf("%s: no parameter %q", c.id, name)
			} else if !p.T.Shape().Equal(want) {
				t.Errorf("%s: %s is %v, want %v", c.id, name, p.T.Shape(), want)
			}
		}
		residuals := 0
		mobileWalk("", m, func(name string, l nn.Layer) {
			switch l := l.(type) {
			case *nn.Residual:
				residuals++
			case *nn.BatchNorm:
				if l.Eps != c.eps {
					t.Errorf("%s: batch norm %s has eps %g, want %g", c.id, name, l.Eps, c.eps)
				}
			}
		})
		if residuals != c.residuals {
			t.Errorf("%s: %d residual blocks, want %d", c.id, residuals, c.residuals)
		}
	}
}

// mobileWalk calls f on l and every layer inside it, with its name.
func mobileWalk(name string, l nn.Layer, f func(string, nn.Layer)) {
	f(name, l)
	join := func(a, b string) string {
		if a == "" || b == "" {
			return a + b
		}
		return a + "." + b
	}
	switch l := l.(type) {
	case nn.Sequential:
		for _, c := range l {
			mobileWalk(join(name, c.Name), c.Layer, f)
		}
	case *nn.Residual:
		mobileWalk(name, l.Body, f)
		if l.Shortcut != nil {
			mobileWalk(join(name, l.ShortcutName), l.Shortcut, f)
		}
	}
}

// mobileFind returns the layer of m called name.
func mobileFind(t *testing.T, m nn.Layer, name string) nn.Layer {
	t.Helper()
	var found nn.Layer
	mobileWalk("", m, func(n string, l nn.Layer) {
		if n == name && found == nil {
			found = l
		}
	})
	if found == nil {
		t.Fatalf("no layer %q", name)
	}
	return found
}

// TestMobileNetV1KerasPadding runs the model's own conv_dw_2 (stride 2)
// with all-one weights on a 4x4 map of ones. Keras pads 0 before and 1
// after, so the windows of the 2x2 output hold 9, 6, 6 and 4 ones;
// PyTorch's symmetric padding 1 would give 4, 6, 6, 9.
func TestMobileNetV1KerasPadding(t *testing.T) {
	b := cpu.New()
	m := MobileNetV1(nn.NewBuilder(b, 1), 0.5, 160, 1000)
	dw, ok := mobileFind(t, m, "conv_dw_2").(*nn.Conv)
	if !ok {
		t.Fatal("conv_dw_2 is not a conv")
	}
	c := dw.W.Shape()[3]
	if err := nn.Load(dw, map[string][]float32{"weight": mobileFill(dw.W.Size(), 1)}); err != nil {
		t.Fatal(err)
	}
	x, err := core.FromData(b, core.Shape{1, 4, 4, c}, mobileFill(16*c, 1))
	if err != nil {
		t.Fatal(err)
	}
	y, err := dw.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := y.Data()
	want := []float32{9, 6, 6, 4}
	for i := range 4 {
		for ch := range c {
			if v := got[i*c+ch]; v != want[i] {
				t.Fatalf("conv_dw_2 output %d channel %d = %v, want %v (0 before, 1 after)", i, ch, v, want[i])
			}
		}
	}
	// conv1 keeps Keras's "same": on 160 it pads 0 before, 1 after too.
	if _, rows, _ := nn.PlanOf(m, core.Shape{1, 160, 160, 3}); !rows[0].Out.Equal(core.Shape{1, 80, 80, 16}) {
		t.Errorf("conv1 gives %v, want [1 80 80 16]", rows[0].Out)
	}
	if _, _, err := nn.PlanOf(m, core.Shape{1, 224, 224, 3}); err == nil {
		t.Error("a model built for 160x160 planned a 224x224 input")
	}
}

// TestXceptionMaxPoolSame checks Keras's MaxPooling2D(3, 2, "same") on
// negative ramps v = 10*row + col - 100, where a zero from the padding
// would win if it counted. A 4x4 map pads 0 before and 1 after (TF puts
// the odd cell last); a 5x5 map pads 1 on each side.
func TestXceptionMaxPoolSame(t *testing.T) {
	b := cpu.New()
	for _, c := range []struct {
		n    int
		want []float32
	}{
		{4, []float32{22, 23, 32, 33}},                     // windows end at rows/cols 2, 3
		{5, []float32{11, 13, 14, 31, 33, 34, 41, 43, 44}}, // windows end at rows/cols 1, 3, 4
	} {
		d := make([]float32, c.n*c.n)
		for r := range c.n {
			for col := range c.n {
				d[r*c.n+col] = float32(10*r+col) - 100
			}
		}
		x, err := core.FromData(b, core.Shape{1, c.n, c.n, 1}, d)
		if err != nil {
			t.Fatal(err)
		}
		y, err := maxPoolSame{3, 2}.Forward(nn.Eval, x)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := y.Data()
		if len(got) != len(c.want) {
			t.Fatalf("%dx%d: pooled to %v, want %d values", c.n, c.n, y.Shape(), len(c.want))
		}
		for i, w := range c.want {
			if got[i] != w-100 {
				t.Errorf("%dx%d: output %d = %v, want %v", c.n, c.n, i, got[i], w-100)
			}
		}
	}
}

// TestMobileForward runs the three fast models on the CPU at their zoo
// input and checks Plan's shape and finite, class-dependent logits.
func TestMobileForward(t *testing.T) {
	if testing.Short() {
		t.Skip("forward passes of full models")
	}
	for _, id := range []string{"mobilenet_v2", "mobilenet_v3_small", "mobilenet_v1_050_160"} {
		t.Run(id, func(t *testing.T) {
			spec, err := Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			b := cpu.New()
			m, err := spec.New(nn.NewBuilder(b, 7))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := nn.PlanOf(m, spec.Input)
			if err != nil {
				t.Fatalf("plan %v: %v", spec.Input, err)
			}
			d := make([]float32, spec.Input.Size())
			for i := range d {
				d[i] = float32(i%17)/8 - 1
			}
			x, err := core.FromData(b, spec.Input, d)
			if err != nil {
				t.Fatal(err)
			}
			y, err := m.Forward(nn.Eval, x)
			if err != nil {
				t.Fatalf("forward: %v", err)
			}
			if !y.Shape().Equal(want) || !want.Equal(core.Shape{1, 1000}) {
				t.Errorf("forward %v, plan %v, want [1 1000]", y.Shape(), want)
			}
			logits, _ := y.Data()
			lo, hi := logits[0], logits[0]
			for i, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("logit %d is %v", i, v)
				}
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo == hi {
				t.Errorf("every logit is %v", lo)
			}
		})
	}
}

// mobileFill returns n copies of v.
func mobileFill(n int, v float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = v
	}
	return d
}
