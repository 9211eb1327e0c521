package models

import (
	"math"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// classicIDs are the zoo entries of alexnet.go, vgg.go, googlenet.go,
// inception3.go and squeezenet.go; their published figures are in Zoo.
var classicIDs = []string{"alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
	"googlenet", "inception_v3", "squeezenet1_0"}

// planClassic builds a zoo model on the shape-only backend and plans it.
func planClassic(t *testing.T, id string) (Spec, nn.Layer, core.Shape, []nn.Row) {
	t.Helper()
	spec, err := Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.New(&nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	out, rows, err := nn.PlanOf(m, spec.Input)
	if err != nil {
		t.Fatalf("%s: plan %v: %v", id, spec.Input, err)
	}
	return spec, m, out, rows
}

// TestClassicCounts holds every model to its published figures: the
// parameter count exactly, the multiply-adds (convolutions and fully
// connected layers, summed over the plan's rows) within 2% of the
// published figure (torchvision's _ops, in G to three decimals).
func TestClassicCounts(t *testing.T) {
	for _, id := range classicIDs {
		spec, m, out, rows := planClassic(t, id)
		if got := nn.Count(m); got != spec.Params {
			t.Errorf("%s: %d parameters, want %d (%s)", id, got, spec.Params, spec.Source)
		}
		var macs int64
		for _, r := range rows {
			macs += r.MACs
		}
		if d := math.Abs(float64(macs-spec.MACs)) / float64(spec.MACs); d > 0.02 {
			t.Errorf("%s: %d multiply-adds, want %d within 2%% (%s), off by %.2f%%", id, macs, spec.MACs, spec.Source, 100*d)
		}
		if want := (core.Shape{1, spec.Classes}); !out.Equal(want) {
			t.Errorf("%s: output %v, want %v", id, out, want)
		}
		t.Logf("%-14s params %11d (published %11d)  MACs %14d (published %14d, %+.2f%%)", id,
			nn.Count(m), spec.Params, macs, spec.MACs, 100*float64(macs-spec.MACs)/float64(spec.MACs))
	}
}

// TestClassicNames spot-checks torchvision state_dict names and our
// layouts (conv weights HWIO [KH, KW, Cin, Cout], linear [In, Out]) and
// counts the tensors: torchvision's state_dict keys less the batch norms'
// num_batches_tracked. The expected names and index arithmetic are in the
// constructors' doc comments.
func TestClassicNames(t *testing.T) {
	type tensor struct {
		name  string
		shape core.Shape
	}
	tests := []struct {
		id      string
		tensors int // convs and linears x 2; BasicConv2d x 5 (conv.weight, bn x 4)
		want    []tensor
	}{
		{"alexnet", 8 * 2, []tensor{
			{"features.0.weight", core.Shape{11, 11, 3, 64}}, {"features.0.bias", core.Shape{64}},
			{"features.3.weight", core.Shape{5, 5, 64, 192}}, {"features.6.weight", core.Shape{3, 3, 192, 384}},
			{"features.8.weight", core.Shape{3, 3, 384, 256}}, {"features.10.weight", core.Shape{3, 3, 256, 256}},
			{"classifier.1.weight", core.Shape{9216, 4096}}, {"classifier.4.weight", core.Shape{4096, 4096}},
			{"classifier.6.weight", core.Shape{4096, 1000}}, {"classifier.6.bias", core.Shape{1000}},
		}},
		{"vgg11", 11 * 2, []tensor{
			{"features.0.weight", core.Shape{3, 3, 3, 64}}, {"features.3.weight", core.Shape{3, 3, 64, 128}},
			{"features.18.weight", core.Shape{3, 3, 512, 512}}, {"classifier.0.weight", core.Shape{25088, 4096}},
		}},
		{"vgg11_bn", 11*2 + 8*4, []tensor{
			{"features.1.running_var", core.Shape{64}}, {"features.25.weight", core.Shape{3, 3, 512, 512}},
			{"features.26.running_mean", core.Shape{512}}, {"classifier.6.bias", core.Shape{1000}},
		}},
		{"vgg16", 16 * 2, []tensor{
			{"features.0.weight", core.Shape{3, 3, 3, 64}}, {"features.0.bias", core.Shape{64}},
			{"features.28.weight", core.Shape{3, 3, 512, 512}}, {"classifier.0.weight", core.Shape{25088, 4096}},
			{"classifier.3.weight", core.Shape{4096, 4096}}, {"classifier.6.bias", core.Shape{1000}},
		}},
		{"vgg16_bn", 16*2 + 13*4, []tensor{
			{"features.0.bias", core.Shape{64}}, {"features.1.weight", core.Shape{64}}, {"features.1.running_mean", core.Shape{64}},
			{"features.40.weight", core.Shape{3, 3, 512, 512}}, {"features.41.running_var", core.Shape{512}},
			{"classifier.0.weight", core.Shape{25088, 4096}},
		}},
		{"vgg19", 19 * 2, []tensor{
			{"features.34.weight", core.Shape{3, 3, 512, 512}}, {"classifier.6.weight", core.Shape{4096, 1000}},
		}},
		{"vgg19_bn", 19*2 + 16*4, []tensor{
			{"features.49.weight", core.Shape{3, 3, 512, 512}}, {"features.50.bias", core.Shape{512}},
		}},
		{"googlenet", 57*5 + 2, []tensor{
			{"conv1.conv.weight", core.Shape{7, 7, 3, 64}}, {"conv1.bn.running_var", core.Shape{64}},
			{"conv3.conv.weight", core.Shape{3, 3, 64, 192}},
			{"inception3a.branch1.conv.weight", core.Shape{1, 1, 192, 64}},
			{"inception3a.branch2.0.conv.weight", core.Shape{1, 1, 192, 96}},
			{"inception3a.branch2.1.conv.weight", core.Shape{3, 3, 96, 128}},
			{"inception3a.branch3.1.conv.weight", core.Shape{3, 3, 16, 32}}, // 3x3, torchvision's "5x5"
			{"inception3a.branch4.1.conv.weight", core.Shape{1, 1, 192, 32}},
			{"inception5b.branch4.1.bn.bias", core.Shape{128}},
			{"fc.weight", core.Shape{1024, 1000}}, {"fc.bias", core.Shape{1000}},
		}},
		// 5 stem convs, 3 x 7 (A), 4 (B), 4 x 10 (C), 6 (D), 2 x 9 (E).
		{"inception_v3", 94*5 + 2, []tensor{
			{"Conv2d_1a_3x3.conv.weight", core.Shape{3, 3, 3, 32}}, {"Conv2d_4a_3x3.bn.running_mean", core.Shape{192}},
			{"Mixed_5b.branch5x5_2.conv.weight", core.Shape{5, 5, 48, 64}},
			{"Mixed_5b.branch_pool.conv.weight", core.Shape{1, 1, 192, 32}},
			{"Mixed_6a.branch3x3.conv.weight", core.Shape{3, 3, 288, 384}},
			{"Mixed_6b.branch7x7_2.conv.weight", core.Shape{1, 7, 128, 128}},
			{"Mixed_6b.branch7x7_3.conv.weight", core.Shape{7, 1, 128, 192}},
			{"Mixed_6e.branch7x7dbl_5.conv.weight", core.Shape{1, 7, 192, 192}},
			{"Mixed_7a.branch7x7x3_4.conv.weight", core.Shape{3, 3, 192, 192}},
			{"Mixed_7b.branch3x3_2b.conv.weight", core.Shape{3, 1, 384, 384}},
			{"Mixed_7c.branch3x3dbl_3a.bn.running_var", core.Shape{384}},
			{"fc.weight", core.Shape{2048, 1000}},
		}},
		{"squeezenet1_0", (1 + 8*3 + 1) * 2, []tensor{
			{"features.0.weight", core.Shape{7, 7, 3, 96}}, {"features.3.squeeze.weight", core.Shape{1, 1, 96, 16}},
			{"features.3.expand1x1.weight", core.Shape{1, 1, 16, 64}}, {"features.3.expand3x3.weight", core.Shape{3, 3, 16, 64}},
			{"features.12.expand3x3.bias", core.Shape{256}}, {"classifier.1.weight", core.Shape{1, 1, 512, 1000}},
			{"classifier.1.bias", core.Shape{1000}},
		}},
	}
	for _, tt := range tests {
		_, m, _, _ := planClassic(t, tt.id)
		ps, byName := m.Params(), nn.Lookup(m)
		if len(ps) != tt.tensors || len(byName) != tt.tensors {
			t.Errorf("%s: %d tensors (%d distinct names), want %d", tt.id, len(ps), len(byName), tt.tensors)
		}
		for _, w := range tt.want {
			p, ok := byName[w.name]
			if !ok {
				t.Errorf("%s: no tensor %q", tt.id, w.name)
				continue
			}
			if !p.T.Shape().Equal(w.shape) {
				t.Errorf("%s: %s is %v, want %v", tt.id, w.name, p.T.Shape(), w.shape)
			}
		}
	}
}

// TestClassicForward runs models on the CPU backend and checks that
// Forward gives the shape Plan promised, with finite logits that are not
// all equal. Under -short only the small ones run; the others build
// He-initialized weights of 100 to 575 MB and take seconds each natively
// (VGG-11 with batch norm: about 6 s). The other VGGs come from the same
// constructor and are only planned (TestClassicCounts).
func TestClassicForward(t *testing.T) {
	tests := []struct {
		id    string
		short bool // runs under -short
	}{
		{"squeezenet1_0", true}, {"googlenet", true},
		{"alexnet", false}, {"vgg11_bn", false}, {"inception_v3", false},
	}
	for _, tt := range tests {
		if testing.Short() && !tt.short {
			t.Logf("%s: forward skipped in short mode", tt.id)
			continue
		}
		spec, _, want, _ := planClassic(t, tt.id)
		start := time.Now()
		bd := nn.NewBuilder(cpu.New(), 1)
		m, err := spec.New(bd)
		if err != nil {
			t.Fatal(err)
		}
		x, err := core.FromData(bd.B, spec.Input, classicInput(spec.Input.Size()))
		if err != nil {
			t.Fatal(err)
		}
		y, err := m.Forward(nn.Eval, x)
		if err != nil {
			t.Fatalf("%s: forward: %v", tt.id, err)
		}
		if !y.Shape().Equal(want) {
			t.Fatalf("%s: forward gives %v, plan %v", tt.id, y.Shape(), want)
		}
		v, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := v[0], v[0]
		for i, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				t.Fatalf("%s: logit %d is %v", tt.id, i, f)
			}
			lo, hi = min(lo, f), max(hi, f)
		}
		if lo == hi {
			t.Errorf("%s: every logit is %v", tt.id, lo)
		}
		t.Logf("%s: built and ran in %v", tt.id, time.Since(start).Round(time.Millisecond))
	}
}

func classicInput(n int) []float32 {
	g := core.NewRNG(7)
	v := make([]float32, n)
	for i := range v {
		v[i] = g.NormFloat32()
	}
	return v
}

// TestClassicBranchOrder checks that the modules concatenate their branches
// in torchvision's order, which pretrained weights depend on: with the
// convolutions of some branches set to 0.01 and all others to 0, an input
// of ones gives positive outputs exactly on those branches' channels (and
// on a max-pool branch's, which passes the ones through). The channel
// ranges are torchvision's torch.cat orders with the module arguments
// below (e.g. InceptionA(192, 32): 64 + 64 + 96 + 32).
func TestClassicBranchOrder(t *testing.T) {
	type branch struct {
		on     []string // name prefixes of the convolutions set to 0.01
		ranges [][2]int // the channels that must be positive
	}
	bd := nn.NewBuilder(cpu.New(), 1)
	tests := []struct {
		name     string
		m        nn.Layer
		cin      int
		branches []branch
	}{
		{"googlenet inception3a", googLeNetInception(bd, 192, 64, 96, 128, 16, 32, 32), 192, []branch{
			{[]string{"branch1."}, [][2]int{{0, 64}}}, {[]string{"branch2."}, [][2]int{{64, 192}}},
			{[]string{"branch3."}, [][2]int{{192, 224}}}, {[]string{"branch4."}, [][2]int{{224, 256}}},
		}},
		{"InceptionA(192, 32)", inceptionA(bd, 192, 32), 192, []branch{
			{[]string{"branch1x1."}, [][2]int{{0, 64}}}, {[]string{"branch5x5_"}, [][2]int{{64, 128}}},
			{[]string{"branch3x3dbl_"}, [][2]int{{128, 224}}}, {[]string{"branch_pool."}, [][2]int{{224, 256}}},
		}},
		{"InceptionB(288)", inceptionB(bd, 288), 288, []branch{
			{nil, [][2]int{{480, 768}}}, {[]string{"branch3x3."}, [][2]int{{0, 384}, {480, 768}}},
			{[]string{"branch3x3dbl_"}, [][2]int{{384, 480}, {480, 768}}},
		}},
		{"InceptionC(768, 128)", inceptionC(bd, 768, 128), 768, []branch{
			{[]string{"branch1x1."}, [][2]int{{0, 192}}}, {[]string{"branch7x7_"}, [][2]int{{192, 384}}},
			{[]string{"branch7x7dbl_"}, [][2]int{{384, 576}}}, {[]string{"branch_pool."}, [][2]int{{576, 768}}},
		}},
		{"InceptionD(768)", inceptionD(bd, 768), 768, []branch{
			{nil, [][2]int{{512, 1280}}}, {[]string{"branch3x3_"}, [][2]int{{0, 320}, {512, 1280}}},
			{[]string{"branch7x7x3_"}, [][2]int{{320, 512}, {512, 1280}}},
		}},
		{"InceptionE(1280)", inceptionE(bd, 1280), 1280, []branch{
			{[]string{"branch1x1."}, [][2]int{{0, 320}}},
			{[]string{"branch3x3_1.", "branch3x3_2a."}, [][2]int{{320, 704}}},
			{[]string{"branch3x3_1.", "branch3x3_2b."}, [][2]int{{704, 1088}}},
			{[]string{"branch3x3dbl_1.", "branch3x3dbl_2.", "branch3x3dbl_3a."}, [][2]int{{1088, 1472}}},
			{[]string{"branch3x3dbl_1.", "branch3x3dbl_2.", "branch3x3dbl_3b."}, [][2]int{{1472, 1856}}},
			{[]string{"branch_pool."}, [][2]int{{1856, 2048}}},
		}},
		{"Fire(96, 16, 64, 64)", fire(bd, 96, 16, 64, 64), 96, []branch{
			{[]string{"squeeze.", "expand1x1."}, [][2]int{{0, 64}}}, {[]string{"squeeze.", "expand3x3."}, [][2]int{{64, 128}}},
		}},
	}
	if err := bd.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		ones := make([]float32, 7*7*tt.cin)
		for i := range ones {
			ones[i] = 1
		}
		x, err := core.FromData(bd.B, core.Shape{1, 7, 7, tt.cin}, ones)
		if err != nil {
			t.Fatal(err)
		}
		for _, br := range tt.branches {
			for _, p := range tt.m.Params() {
				if p.T.Shape().Rank() != 4 {
					continue // batch norm
				}
				v := make([]float32, p.T.Size())
				for _, pre := range br.on {
					if strings.HasPrefix(p.Name, pre) {
						for i := range v {
							v[i] = 0.01
						}
					}
				}
				if err := bd.B.Write(p.T.Buffer(), 0, v); err != nil {
					t.Fatal(err)
				}
			}
			y, err := tt.m.Forward(nn.Eval, x)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			v, err := y.Data()
			if err != nil {
				t.Fatal(err)
			}
			c := y.Shape()[3]
			for ch := 0; ch < c; ch++ {
				want := false
				for _, r := range br.ranges {
					want = want || (ch >= r[0] && ch < r[1])
				}
				if got := v[ch] > 0; got != want { // pixel (0, 0)
					t.Errorf("%s with %v on: channel %d of %d is %v, want positive: %v", tt.name, br.on, ch, c, v[ch], want)
					break
				}
			}
		}
	}
}

// TestInceptionConvEps checks BasicConv2d's batch norm eps of 0.001
// (torchvision's, not PyTorch's default 1e-5): a 1x1 conv of weight 1 on
// an input of 1, with running variance 0.001, gives 1/sqrt(0.001 + 0.001).
func TestInceptionConvEps(t *testing.T) {
	bd := nn.NewBuilder(cpu.New(), 1)
	m := inceptionConv(bd, 1, 1, 1, 1, 1, 0)
	if err := bd.Err(); err != nil {
		t.Fatal(err)
	}
	err := nn.Load(m, map[string][]float32{"conv.weight": {1}, "bn.weight": {1}, "bn.bias": {0},
		"bn.running_mean": {0}, "bn.running_var": {0.001}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := core.FromData(bd.B, core.Shape{1, 1, 1, 1}, []float32{1})
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	v, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / math.Sqrt(0.002); math.Abs(float64(v[0])-want) > 1e-4*want {
		t.Errorf("BasicConv2d(1 -> 1) of 1 with running_var 0.001: got %v, want %v", v[0], want)
	}
}
