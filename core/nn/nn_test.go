package nn_test

import (
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// basicBlock is torchvision's ResNet BasicBlock with a downsampling shortcut.
func basicBlock(bd *nn.Builder, cin, cout, stride int) *nn.Residual {
	return &nn.Residual{
		Body: nn.Sequential{
			nn.N("conv1", bd.Conv2D(cin, cout, 3, nn.ConvOpt{Stride: stride, Pad: 1})), nn.N("bn1", bd.BatchNorm(cout)), nn.N("", nn.Act(core.ReLU)),
			nn.N("conv2", bd.Conv2D(cout, cout, 3, nn.ConvOpt{Pad: 1})), nn.N("bn2", bd.BatchNorm(cout)),
		},
		Shortcut:     nn.Seq(bd.Conv2D(cin, cout, 1, nn.ConvOpt{Stride: stride}), bd.BatchNorm(cout)),
		ShortcutName: "downsample",
		Post:         core.Act(core.ReLU),
	}
}

func TestBlockNamesCountsAndForward(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 1)
	net := nn.Sequential{
		nn.N("layer1", nn.Seq(basicBlock(bd, 3, 8, 2))),
		nn.N("mix", nn.Concat{nn.N("", nn.Identity{}), nn.N("branch", bd.Conv2D(8, 4, 1, nn.ConvOpt{Bias: true}))}),
		nn.N("pool", nn.GlobalAvgPool{}), nn.N("flat", nn.Flatten{}),
		nn.N("fc", bd.Linear(12, 5, core.Identity)),
	}
	if err := bd.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range net.Params() {
		names = append(names, p.Name)
	}
	// torchvision's state_dict names for a BasicBlock with downsample.
	want := "layer1.0.conv1.weight layer1.0.bn1.weight layer1.0.bn1.bias layer1.0.bn1.running_mean layer1.0.bn1.running_var " +
		"layer1.0.conv2.weight layer1.0.bn2.weight layer1.0.bn2.bias layer1.0.bn2.running_mean layer1.0.bn2.running_var " +
		"layer1.0.downsample.0.weight layer1.0.downsample.1.weight layer1.0.downsample.1.bias layer1.0.downsample.1.running_mean " +
		"layer1.0.downsample.1.running_var mix.branch.weight mix.branch.bias fc.weight fc.bias"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("names:\n got %s\nwant %s", got, want)
	}
	// Exact count: conv1 3*3*3*8 + bn1 16 + conv2 3*3*8*8 + bn2 16 + down 8*3 + bn 16
	// + branch 8*4+4 + fc 12*5+5 = 216+16+576+16+24+16+36+65 = 965.
	if got := nn.Count(net); got != 965 {
		t.Errorf("Count = %d, want 965", got)
	}
	x, _ := core.New(b, core.Shape{2, 9, 9, 3})
	out, rows, err := nn.PlanOf(net, x.Shape())
	if err != nil {
		t.Fatal(err)
	}
	y, err := net.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(y.Shape()) || !out.Equal(core.Shape{2, 5}) {
		t.Errorf("plan %v, forward %v, want [2 5]", out, y.Shape())
	}
	var sum int64
	for _, r := range rows {
		sum += r.Params
	}
	if sum != 965 {
		t.Errorf("rows add to %d params, want 965", sum)
	}
	// conv1 on 9x9 stride 2 pad 1 -> 5x5: MACs = 2*5*5*8 * 3*3*3 = 10800.
	if rows[0].Name != "layer1.0.conv1" || rows[0].MACs != 10800 || rows[0].Field != (nn.Field{Size: 3, Jump: 2}) {
		t.Errorf("first row %+v, want layer1.0.conv1 with 10800 MACs, field {3 2}", rows[0])
	}
}

func TestForwardMatchesOps(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 2)
	conv := bd.Conv2D(2, 3, 3, nn.ConvOpt{Pad: 1, Bias: true})
	bn := bd.BatchNorm(3)
	_ = nn.Load(nn.Sequential{nn.N("c", conv), nn.N("bn", bn)}, map[string][]float32{
		"c.weight": ramp(3 * 3 * 2 * 3), "c.bias": {1, -1, 0.5},
		"bn.weight": {1, 2, 3}, "bn.bias": {0, 1, 0}, "bn.running_mean": {0.5, 0, -1}, "bn.running_var": {1, 4, 0.25},
	})
	net := nn.Sequential{nn.N("c", conv), nn.N("bn", bn), nn.N("", nn.Act(core.ReLU))}
	x, _ := core.FromData(b, core.Shape{1, 4, 4, 2}, ramp(32))
	y, err := net.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := core.Convolve(x, conv.W, conv.B, conv.P)
	n, _ := core.BatchNorm(c, bn.Gamma, bn.Beta, bn.Mean, bn.Var, 1e-5)
	r, _ := core.Apply(n, core.Act(core.ReLU))
	got, _ := y.Data()
	want, _ := r.Data()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("forward[%d] = %v, composition of ops gives %v", i, got[i], want[i])
		}
	}
}

func TestLoadErrors(t *testing.T) {
	bd := nn.NewBuilder(cpu.New(), 3)
	net := nn.Sequential{nn.N("fc", bd.Linear(2, 2, core.Identity))}
	for _, tc := range []struct {
		values map[string][]float32
		want   string
	}{
		{map[string][]float32{"fc.weight": {1, 2, 3, 4}}, `missing tensor "fc.bias"`},
		{map[string][]float32{"fc.weight": {1, 2, 3, 4}, "fc.bias": {1, 2}, "fc.extra": {1}}, `unexpected tensor "fc.extra"`},
		{map[string][]float32{"fc.weight": {1, 2, 3}, "fc.bias": {1, 2}}, `"fc.weight" has 3 values, want [2 2]`},
	} {
		err := nn.Load(net, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load: error %v, want it to contain %s", err, tc.want)
		}
	}
}

func ramp(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i%7) - 3
	}
	return d
}
