package models

import (
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// residualFamilies are the ids of resnet.go, densenet.go and convnext.go.
var residualFamilies = []string{
	"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
	"resnet50d", "seresnet50", "densenet121", "densenet169", "convnext_tiny",
}

// residualShapes builds a zoo model without weights.
func residualShapes(t *testing.T, id string) (Spec, nn.Layer) {
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

// TestResidualFamiliesCounts holds every model to its published parameter
// count exactly and to its published multiply-adds within 2% (the
// published figures are rounded to 0.01 G, and their counters differ on
// what else they add: see each Spec's Source).
func TestResidualFamiliesCounts(t *testing.T) {
	for _, id := range residualFamilies {
		t.Run(id, func(t *testing.T) {
			spec, m := residualShapes(t, id)
			if got := nn.Count(m); got != spec.Params {
				t.Errorf("%s: %d parameters, published %d (%s)", id, got, spec.Params, spec.Source)
			}
			out, rows, err := nn.PlanOf(m, spec.Input)
			if err != nil {
				t.Fatalf("%s: plan %v: %v", id, spec.Input, err)
			}
			if !out.Equal(core.Shape{1, 1000}) {
				t.Errorf("%s: plan gives %v, want [1 1000]", id, out)
			}
			var macs int64
			for _, r := range rows {
				macs += r.MACs
			}
			if d := math.Abs(float64(macs-spec.MACs)) / float64(spec.MACs); d > 0.02 {
				t.Errorf("%s: %d MACs, published %d (off by %.1f%%; %s)", id, macs, spec.MACs, 100*d, spec.Source)
			}
		})
	}
}

// TestResidualFamiliesNames spot-checks state_dict names and shapes
// (ours: conv weights [kh, kw, cin/groups, cout], linear weights [in, out]).
func TestResidualFamiliesNames(t *testing.T) {
	for _, tc := range []struct {
		id   string
		name string
		want core.Shape // nil: the name must not exist
	}{
		{"resnet18", "conv1.weight", core.Shape{7, 7, 3, 64}},
		{"resnet18", "layer1.0.downsample.0.weight", nil}, // 64 -> 64, stride 1: identity
		{"resnet18", "layer2.0.downsample.0.weight", core.Shape{1, 1, 64, 128}},
		{"resnet18", "layer4.1.bn2.running_var", core.Shape{512}},
		{"resnet18", "fc.weight", core.Shape{512, 1000}},
		{"resnet50", "layer1.0.downsample.0.weight", core.Shape{1, 1, 64, 256}},
		{"resnet50", "layer1.0.downsample.1.running_mean", core.Shape{256}},
		{"resnet50", "layer2.0.conv2.weight", core.Shape{3, 3, 128, 128}}, // v1.5: stride 2 here
		{"resnet50", "layer3.5.conv3.weight", core.Shape{1, 1, 256, 1024}},
		{"resnet50", "fc.weight", core.Shape{2048, 1000}},
		{"resnet50", "fc.bias", core.Shape{1000}},
		{"resnet152", "layer3.35.bn3.weight", core.Shape{1024}},
		{"resnext50_32x4d", "layer1.0.conv2.weight", core.Shape{3, 3, 4, 128}}, // 32 groups of 4
		{"resnext50_32x4d", "layer4.0.conv3.weight", core.Shape{1, 1, 1024, 2048}},
		{"wide_resnet50_2", "layer1.0.conv2.weight", core.Shape{3, 3, 128, 128}},
		{"resnet50d", "conv1.0.weight", core.Shape{3, 3, 3, 32}},
		{"resnet50d", "conv1.1.running_var", core.Shape{32}},
		{"resnet50d", "conv1.3.weight", core.Shape{3, 3, 32, 32}},
		{"resnet50d", "conv1.6.weight", core.Shape{3, 3, 32, 64}},
		{"resnet50d", "bn1.weight", core.Shape{64}},
		{"resnet50d", "layer1.0.downsample.1.weight", core.Shape{1, 1, 64, 256}},
		{"resnet50d", "layer2.0.downsample.1.weight", core.Shape{1, 1, 256, 512}},
		{"resnet50d", "layer2.0.downsample.2.bias", core.Shape{512}},
		{"resnet50d", "layer2.0.downsample.0.weight", nil}, // the average pool
		{"seresnet50", "layer1.0.se.fc1.weight", core.Shape{1, 1, 256, 16}},
		{"seresnet50", "layer1.0.se.fc1.bias", core.Shape{16}},
		{"seresnet50", "layer4.2.se.fc2.weight", core.Shape{1, 1, 128, 2048}},
		{"seresnet50", "layer4.2.se.fc2.bias", core.Shape{2048}},
		{"densenet121", "features.conv0.weight", core.Shape{7, 7, 3, 64}},
		{"densenet121", "features.denseblock1.denselayer1.conv1.weight", core.Shape{1, 1, 64, 128}},
		{"densenet121", "features.denseblock1.denselayer6.norm1.weight", core.Shape{64 + 5*32}},
		{"densenet121", "features.denseblock4.denselayer16.conv2.weight", core.Shape{3, 3, 128, 32}},
		{"densenet121", "features.transition1.conv.weight", core.Shape{1, 1, 256, 128}},
		{"densenet121", "features.transition3.conv.weight", core.Shape{1, 1, 1024, 512}},
		{"densenet121", "features.norm5.running_mean", core.Shape{1024}},
		{"densenet121", "classifier.weight", core.Shape{1024, 1000}},
		{"densenet169", "features.denseblock4.denselayer32.norm1.weight", core.Shape{640 + 31*32}},
		{"densenet169", "classifier.weight", core.Shape{1664, 1000}},
		{"convnext_tiny", "features.0.0.weight", core.Shape{4, 4, 3, 96}},
		{"convnext_tiny", "features.0.1.bias", core.Shape{96}},
		{"convnext_tiny", "features.1.0.block.0.weight", core.Shape{7, 7, 1, 96}},
		{"convnext_tiny", "features.1.0.block.2.weight", core.Shape{96}},
		{"convnext_tiny", "features.1.0.block.3.weight", core.Shape{1, 1, 96, 384}},
		{"convnext_tiny", "features.1.0.block.5.bias", core.Shape{96}},
		{"convnext_tiny", "features.1.0.layer_scale", core.Shape{96}},
		{"convnext_tiny", "features.2.0.weight", core.Shape{96}},
		{"convnext_tiny", "features.6.1.weight", core.Shape{2, 2, 384, 768}},
		{"convnext_tiny", "features.5.8.layer_scale", core.Shape{384}},
		{"convnext_tiny", "classifier.0.weight", core.Shape{768}},
		{"convnext_tiny", "classifier.2.weight", core.Shape{768, 1000}},
	} {
		_, m := residualShapes(t, tc.id)
		p, ok := nn.Lookup(m)[tc.name]
		switch {
		case tc.want == nil && ok:
			t.Errorf("%s: %s exists (%v), want none", tc.id, tc.name, p.T.Shape())
		case tc.want != nil && !ok:
			t.Errorf("%s: no tensor %s, want %v", tc.id, tc.name, tc.want)
		case ok && !p.T.Shape().Equal(tc.want):
			t.Errorf("%s: %s is %v, want %v", tc.id, tc.name, p.T.Shape(), tc.want)
		}
	}
	// torchvision's resnet50 state_dict has 320 entries: 53 convs (stem,
	// 16 blocks x 3, 4 downsamples), 53 batch norms x 5 (weight, bias,
	// running_mean, running_var, num_batches_tracked) and fc's 2. We keep
	// no num_batches_tracked: 53 + 53*4 + 2 = 267.
	if _, m := residualShapes(t, "resnet50"); len(m.Params()) != 267 {
		t.Errorf("resnet50: %d tensors, want 267", len(m.Params()))
	}
}

// TestResNetDCeilPool plans ResNet-D where the shortcut's 2x2/2 average
// pool meets odd maps (200 -> 100 -> 50 -> 25 -> 13): only ceil mode
// gives the 13 of the stride-2 3x3 conv beside it.
func TestResNetDCeilPool(t *testing.T) {
	_, m := residualShapes(t, "resnet50d")
	_, rows, err := nn.PlanOf(m, core.Shape{1, 200, 200, 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Name == "layer4.0.downsample.0" && !r.Out.Equal(core.Shape{1, 7, 7, 1024}) {
			t.Errorf("layer4.0.downsample.0 gives %v, want [1 7 7 1024]", r.Out)
		}
	}
}

// TestResNetDShortcutPool checks the values of the 2x2/2 pool on a 3x3
// map: ceil mode keeps the cut windows on the right and bottom, and
// count_include_pad=False averages them over what they cover.
func TestResNetDShortcutPool(t *testing.T) {
	b := cpu.New()
	x, err := core.FromData(b, core.Shape{1, 3, 3, 1}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	if err != nil {
		t.Fatal(err)
	}
	y, err := avgDown(2).Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := y.Data()
	// (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1.
	want := []float32{3, 4.5, 7.5, 9}
	if !y.Shape().Equal(core.Shape{1, 2, 2, 1}) || len(got) != len(want) {
		t.Fatalf("avg pool of a 3x3 map: %v %v, want [1 2 2 1] %v", y.Shape(), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("avg pool of a 3x3 map: %v, want %v", got, want)
			break
		}
	}
	if _, ok := avgDown(1).(nn.Identity); !ok {
		t.Errorf("avgDown(1) is %T, want nn.Identity", avgDown(1))
	}
}

// TestConvNeXtStochasticDepth checks the linear rule of torchvision:
// block b of 18 drops with 0.1 * b / 17.
func TestConvNeXtStochasticDepth(t *testing.T) {
	_, m := residualShapes(t, "convnext_tiny")
	_, rows, err := nn.PlanOf(m, in224)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"features.1.0.stochastic_depth": "Dropout 0",
		"features.3.0.stochastic_depth": "Dropout 0.018", // 0.1 * 3/17
		"features.7.2.stochastic_depth": "Dropout 0.1",
	}
	for _, r := range rows {
		if k, ok := want[r.Name]; ok {
			if r.Kind != k {
				t.Errorf("%s: %s, want %s", r.Name, r.Kind, k)
			}
			delete(want, r.Name)
		}
	}
	for name := range want {
		t.Errorf("no row %s", name)
	}
}

// TestDenseLayerOrder checks torchvision's concatenation order: a dense
// layer's output starts with its input's channels, unchanged.
func TestDenseLayerOrder(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 4)
	l := denseLayer(bd, 8, 4, 4)
	if err := bd.Err(); err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 5*5*8)
	for i := range in {
		in[i] = float32(i%13) - 6
	}
	x, err := core.FromData(b, core.Shape{1, 5, 5, 8}, in)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	if !y.Shape().Equal(core.Shape{1, 5, 5, 12}) {
		t.Fatalf("dense layer 8 -> %v, want [1 5 5 12]", y.Shape())
	}
	out, _ := y.Data()
	for p := 0; p < 25; p++ {
		for c := 0; c < 8; c++ {
			if got, want := out[p*12+c], in[p*8+c]; got != want {
				t.Fatalf("pixel %d channel %d: %v, want the input's %v", p, c, got, want)
			}
		}
	}
}

// TestResidualFamiliesForward runs one model per family on the CPU at
// 64x64 (their global pools accept any size) and checks Plan's shape and
// finite, class-dependent logits.
func TestResidualFamiliesForward(t *testing.T) {
	if testing.Short() {
		t.Skip("forward passes of full models")
	}
	in := core.Shape{1, 64, 64, 3}
	for _, id := range []string{"resnet18", "resnet50d", "seresnet50", "densenet121", "convnext_tiny"} {
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
			want, _, err := nn.PlanOf(m, in)
			if err != nil {
				t.Fatalf("%s: plan %v: %v", id, in, err)
			}
			x, err := core.FromData(b, in, residualRamp(in.Size()))
			if err != nil {
				t.Fatal(err)
			}
			y, err := m.Forward(nn.Eval, x)
			if err != nil {
				t.Fatalf("%s: forward: %v", id, err)
			}
			if !y.Shape().Equal(want) || !want.Equal(core.Shape{1, 1000}) {
				t.Errorf("%s: forward %v, plan %v, want [1 1000]", id, y.Shape(), want)
			}
			logits, _ := y.Data()
			lo, hi := logits[0], logits[0]
			for i, v := range logits {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s: logit %d is %v", id, i, v)
				}
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo == hi {
				t.Errorf("%s: every logit is %v", id, lo)
			}
		})
	}
}

// residualRamp is a deterministic input in [-1, 1].
func residualRamp(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i%17)/8 - 1
	}
	return d
}
