package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// liveCPU is the CPU backend counting its live buffers.
type liveCPU struct {
	*cpu.Backend
	live int
}

func (c *liveCPU) Alloc(n int) (core.Buffer, error) {
	c.live++
	return c.Backend.Alloc(n)
}

func (c *liveCPU) Free(b core.Buffer) {
	c.live--
	c.Backend.Free(b)
}

func tensor(t *testing.T, b core.Backend, s core.Shape, v []float32) *core.Tensor {
	t.Helper()
	x, err := core.FromData(b, s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func data(t *testing.T, x *core.Tensor) []float32 {
	t.Helper()
	v, err := x.Data()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A 2x2 conv from 1 to 2 channels with a bias, then a batch norm and a
// ReLU, on the 3x3 input 1..9, folded by hand:
//
//	channel 0: W = [[1 0] [0 1]], b = 1;  gamma 3, beta 0.5, mean 5, var 3.75
//	channel 1: W = [[1 1] [1 1]], b = -2; gamma 2, beta -1, mean 20, var 15.75
//	eps 0.25, so sqrt(var + eps) = 2 and 4: s = 3/2 = 1.5 and 2/4 = 0.5
//	W' = [[1.5 0] [0 1.5]] and [[0.5 0.5] [0.5 0.5]]
//	b' = (1 - 5)*1.5 + 0.5 = -5.5 and (-2 - 20)*0.5 - 1 = -12
//
// The conv gives x[i][j] + x[i+1][j+1] + 1 = 7 9 13 15 on channel 0 and the
// 2x2 window sums - 2 = 10 14 22 26 on channel 1; the batch norm maps them
// to (y - 5)*1.5 + 0.5 = 3.5 6.5 12.5 15.5 and (y - 20)*0.5 - 1 = -6 -4 0 2,
// and the ReLU clips channel 1 to 0 0 0 2. Every number is exact in float32.
func TestFoldBatchNormByHand(t *testing.T) {
	b := &liveCPU{Backend: cpu.New()}
	// W is [kh, kw, cin, cout]: (0,0) [1 1], (0,1) [0 1], (1,0) [0 1], (1,1) [1 1].
	conv := &nn.Conv{W: tensor(t, b, core.Shape{2, 2, 1, 2}, []float32{1, 1, 0, 1, 0, 1, 1, 1}),
		B: tensor(t, b, core.Shape{2}, []float32{1, -2})}
	bn := &nn.BatchNorm{Gamma: tensor(t, b, core.Shape{2}, []float32{3, 2}), Beta: tensor(t, b, core.Shape{2}, []float32{0.5, -1}),
		Mean: tensor(t, b, core.Shape{2}, []float32{5, 20}), Var: tensor(t, b, core.Shape{2}, []float32{3.75, 15.75}), Eps: 0.25}
	net := nn.Sequential{nn.N("conv", conv), nn.N("bn", bn), nn.N("relu", nn.Act(core.ReLU))}
	x := tensor(t, b, core.Shape{1, 3, 3, 1}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	want := []float32{3.5, 0, 6.5, 0, 12.5, 0, 15.5, 2} // NHWC: (pixel, channel)

	y, err := net.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	if got := data(t, y); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("unfolded forward = %v, want %v", got, want)
	}
	y.Free()
	before := b.live

	l, n, err := nn.FoldBatchNorm(net)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("folded %d batch norms, want 1", n)
	}
	s, ok := l.(nn.Sequential)
	if !ok || len(s) != 1 || s[0].Name != "conv" {
		t.Fatalf("folded network %#v, want a Sequential of the conv alone", l)
	}
	fc, ok := s[0].Layer.(*nn.Conv)
	if !ok {
		t.Fatalf("folded layer is %T, want *nn.Conv", s[0].Layer)
	}
	if fc.P.Act.Op != core.ReLU {
		t.Errorf("fused activation %v, want relu", fc.P.Act.Op)
	}
	if got, want := fmt.Sprint(data(t, fc.W)), fmt.Sprint([]float32{1.5, 0.5, 0, 0.5, 0, 0.5, 1.5, 0.5}); got != want {
		t.Errorf("folded weights %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(data(t, fc.B)), fmt.Sprint([]float32{-5.5, -12}); got != want {
		t.Errorf("folded bias %s, want %s", got, want)
	}
	// The old weight, bias and the batch norm's 4 tensors are freed; the
	// new weight and bias take their place.
	if got := before - b.live; got != 4 {
		t.Errorf("fold freed %d buffers net, want 4 (6 freed, 2 made)", got)
	}
	if conv.W.Buffer() != nil || bn.Var.Buffer() != nil {
		t.Error("the unfolded conv's weights or the batch norm's statistics were not freed")
	}
	y, err = l.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	if got := data(t, y); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("folded forward = %v, want %v", got, want)
	}
	if _, rows, err := nn.PlanOf(l, x.Shape()); err != nil || len(rows) != 1 || rows[0].Kind != "Conv 2x2/1 2 relu" || rows[0].Params != 10 {
		t.Errorf("folded plan %+v (%v), want one row Conv 2x2/1 2 relu with 10 params", rows, err)
	}
}

// A linear layer 2 -> 2 without bias, then a batch norm over its 2
// features (BatchNorm1d), folded by hand: W = [[1 2] [3 4]] ([In, Out]),
// gamma [1 4], beta [0 1], mean [1 -1], var [0.75 3.75], eps 0.25, so
// s = 1/1 = 1 and 4/2 = 2: W' = [[1 4] [3 8]], b' = (0 - 1)*1 + 0 = -1 and
// (0 + 1)*2 + 1 = 3. For x = [1 1]: x W' + b' = [4 12] + [-1 3] = [3 15],
// as the batch norm of x W = [4 6]: (4 - 1)*1 + 0 = 3, (6 + 1)*2 + 1 = 15.
func TestFoldBatchNormLinear(t *testing.T) {
	b := cpu.New()
	fc := &nn.Linear{W: tensor(t, b, core.Shape{2, 2}, []float32{1, 2, 3, 4})}
	bn := &nn.BatchNorm{Gamma: tensor(t, b, core.Shape{2}, []float32{1, 4}), Beta: tensor(t, b, core.Shape{2}, []float32{0, 1}),
		Mean: tensor(t, b, core.Shape{2}, []float32{1, -1}), Var: tensor(t, b, core.Shape{2}, []float32{0.75, 3.75}), Eps: 0.25}
	l, n, err := nn.FoldBatchNorm(nn.Seq(fc, bn))
	if err != nil || n != 1 {
		t.Fatalf("FoldBatchNorm: %d folded, %v; want 1", n, err)
	}
	f := l.(nn.Sequential)[0].Layer.(*nn.Linear)
	if got := fmt.Sprint(data(t, f.W), data(t, f.B)); got != "[1 4 3 8] [-1 3]" {
		t.Errorf("folded weights and bias %s, want [1 4 3 8] [-1 3]", got)
	}
	y, err := l.Forward(nn.Eval, tensor(t, b, core.Shape{1, 2}, []float32{1, 1}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(data(t, y)); got != "[3 15]" {
		t.Errorf("folded forward %s, want [3 15]", got)
	}
}

// randomBN returns a batch norm over c channels with statistics far from
// the identity: gamma in [0.5, 1.5], beta and mean in [-0.5, 0.5], var in
// [0.5, 2].
func randomBN(bd *nn.Builder, c int, eps float32) *nn.BatchNorm {
	u := func(lo, hi float32) []float32 {
		v := make([]float32, c)
		for i := range v {
			v[i] = lo + (hi-lo)*bd.RNG.Float32()
		}
		return v
	}
	bn := bd.BatchNorm(c)
	bn.Eps = eps
	for _, p := range []struct {
		t      *core.Tensor
		lo, hi float32
	}{{bn.Gamma, 0.5, 1.5}, {bn.Beta, -0.5, 0.5}, {bn.Mean, -0.5, 0.5}, {bn.Var, 0.5, 2}} {
		_ = bd.B.Write(p.t.Buffer(), 0, u(p.lo, p.hi))
	}
	return bn
}

// randomBias gives a conv a bias in [-0.5, 0.5].
func randomBias(bd *nn.Builder, c *nn.Conv) *nn.Conv {
	v := make([]float32, c.W.Shape()[c.W.Shape().Rank()-1])
	for i := range v {
		v[i] = bd.RNG.Float32() - 0.5
	}
	c.B, _ = core.FromData(bd.B, core.Shape{len(v)}, v)
	return c
}

// Every arrangement of the walk: the folded network computes what the
// built one did (float32 rounding: 1e-5 of the largest output), folds the
// pairs it should and no others, and leaves the backend holding exactly
// the tensors of the result (nothing leaked, nothing it uses freed).
func TestFoldBatchNormStructures(t *testing.T) {
	relu := func() nn.Layer { return nn.Act(core.ReLU) }
	tests := []struct {
		name  string
		folds int
		build func(bd *nn.Builder) nn.Layer
	}{
		{"grouped dilated strided same conv, bias, relu6", 1, func(bd *nn.Builder) nn.Layer {
			c := randomBias(bd, bd.Conv2D(4, 6, 3, nn.ConvOpt{Stride: 2, Dilation: 2, Groups: 2, Same: true}))
			return nn.Seq(c, randomBN(bd, 6, 1e-3), nn.Act(core.ReLU6))
		}},
		{"depthwise without bias, hard-swish", 1, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 4, 3, nn.ConvOpt{Pad: 1, Groups: 4}), randomBN(bd, 4, 1e-5), nn.Act(core.HardSwish))
		}},
		{"asymmetric kernel and padding, no activation", 1, func(bd *nn.Builder) nn.Layer {
			c := bd.ConvKxK(4, 5, 1, 3, nn.ConvOpt{Pad: -1})
			c.P.PadBefore, c.P.PadAfter = []int{0, 0}, []int{1, 2}
			return nn.Seq(c, randomBN(bd, 5, 1e-5))
		}},
		{"separable conv (a Sequential) then batch norm", 1, func(bd *nn.Builder) nn.Layer {
			sep := nn.Sequential{nn.N("depthwise", bd.Conv2D(4, 4, 3, nn.ConvOpt{Groups: 4, Same: true})),
				nn.N("pointwise", bd.Conv2D(4, 8, 1, nn.ConvOpt{}))}
			return nn.Sequential{nn.N("sep", sep), nn.N("sep_bn", randomBN(bd, 8, 1e-3)), nn.N("act", relu())}
		}},
		{"residual block with downsample", 3, func(bd *nn.Builder) nn.Layer {
			return &nn.Residual{
				Body: nn.Sequential{nn.N("conv1", bd.Conv2D(4, 6, 3, nn.ConvOpt{Stride: 2, Pad: 1})), nn.N("bn1", randomBN(bd, 6, 1e-5)),
					nn.N("relu", relu()), nn.N("conv2", bd.Conv2D(6, 6, 3, nn.ConvOpt{Pad: 1})), nn.N("bn2", randomBN(bd, 6, 1e-5))},
				Shortcut: nn.Seq(bd.Conv2D(4, 6, 1, nn.ConvOpt{Stride: 2}), randomBN(bd, 6, 1e-5)), ShortcutName: "downsample",
				Post: core.Act(core.ReLU),
			}
		}},
		{"dense layer: norm after concat stays, conv norm folds", 1, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(
				nn.Concat{nn.N("", nn.Identity{}), nn.N("", nn.Seq(bd.Conv2D(4, 3, 1, nn.ConvOpt{}), randomBN(bd, 3, 1e-5), relu()))},
				randomBN(bd, 7, 1e-5), relu(), bd.Conv2D(7, 2, 1, nn.ConvOpt{}))
		}},
		{"pre-activation norm and norm after a fused activation stay", 0, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(randomBN(bd, 4, 1e-5), relu(), bd.Conv2D(4, 5, 3, nn.ConvOpt{Act: core.ReLU}), randomBN(bd, 5, 1e-5))
		}},
		{"norm after activation layer stays", 1, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 5, 3, nn.ConvOpt{}), randomBN(bd, 5, 1e-5), relu(), randomBN(bd, 5, 1e-5))
		}},
		{"two norms in a row fold into one conv", 2, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 5, 3, nn.ConvOpt{}), randomBN(bd, 5, 1e-5), randomBN(bd, 5, 1e-3), relu())
		}},
		{"frozen part", 1, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(nn.Frozen{Layer: nn.Seq(bd.Conv2D(4, 5, 3, nn.ConvOpt{}), randomBN(bd, 5, 1e-5))}, relu())
		}},
		{"conv used twice, folded once: its weights stay", 1, func(bd *nn.Builder) nn.Layer {
			c := bd.Conv2D(4, 4, 3, nn.ConvOpt{Pad: 1})
			return nn.Seq(c, randomBN(bd, 4, 1e-5), relu(), c)
		}},
		{"conv used twice, folded twice", 2, func(bd *nn.Builder) nn.Layer {
			c := bd.Conv2D(4, 4, 3, nn.ConvOpt{Pad: 1})
			return nn.Seq(c, randomBN(bd, 4, 1e-5), relu(), c, randomBN(bd, 4, 1e-5))
		}},
		{"conv and linear then an activation, no norm (VGG)", 0, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(bd.Conv2D(4, 5, 3, nn.ConvOpt{}), relu(), nn.Flatten{}, bd.Linear(5*5*5, 3, core.Identity), nn.Act(core.Tanh))
		}},
		{"linear then batch norm 1-d", 1, func(bd *nn.Builder) nn.Layer {
			return nn.Seq(nn.Flatten{}, bd.Linear(4*7*7, 6, core.Identity), randomBN(bd, 6, 1e-5), relu())
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &liveCPU{Backend: cpu.New()}
			bd := nn.NewBuilder(b, uint64(10+i))
			net := tt.build(bd)
			if err := bd.Err(); err != nil {
				t.Fatal(err)
			}
			xv := make([]float32, 2*7*7*4)
			for j := range xv {
				xv[j] = bd.RNG.NormFloat32()
			}
			x := tensor(t, b, core.Shape{2, 7, 7, 4}, xv)
			y, err := net.Forward(nn.Eval, x)
			if err != nil {
				t.Fatal(err)
			}
			want := data(t, y)
			y.Free()

			l, n, err := nn.FoldBatchNorm(net)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.folds {
				t.Errorf("folded %d batch norms, want %d", n, tt.folds)
			}
			distinct := map[*core.Tensor]bool{}
			for _, p := range l.Params() {
				if p.T.Buffer() == nil {
					t.Errorf("%s of the result was freed", p.Name)
				}
				distinct[p.T] = true
			}
			if got := b.live - 1; got != len(distinct) { // x is live too
				t.Errorf("backend holds %d tensors besides the input, the result has %d", got, len(distinct))
			}
			y, err = l.Forward(nn.Eval, x)
			if err != nil {
				t.Fatal(err)
			}
			got := data(t, y)
			var worst, scale float64
			for j := range want {
				worst = math.Max(worst, math.Abs(float64(got[j])-float64(want[j])))
				scale = math.Max(scale, math.Abs(float64(want[j])))
			}
			if worst > 1e-5*scale {
				t.Errorf("folded output differs by %.3g, largest |output| %.3g (want <= 1e-5 relative)", worst, scale)
			}
		})
	}
}

// A batch norm that does not match its conv is an error naming both, and
// leaves the network as it was: nothing freed, nothing made.
func TestFoldBatchNormErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(bn *nn.BatchNorm)
		want string
	}{
		{"channels", func(bn *nn.BatchNorm) { bn.Mean, _ = core.New(bn.Gamma.Backend(), core.Shape{5}) },
			"fold batch norm block.bn into conv: batch norm running_mean is [5], the weights [3 3 2 4] have 4 output channels"},
		{"variance", func(bn *nn.BatchNorm) { bn.Eps = -2 },
			"fold batch norm block.bn into conv: channel 0: running_var + eps = -1, not positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &liveCPU{Backend: cpu.New()}
			bd := nn.NewBuilder(b, 1)
			bn := bd.BatchNorm(4)
			net := nn.Sequential{nn.N("stem", nn.Seq(bd.Conv2D(2, 2, 1, nn.ConvOpt{}), bd.BatchNorm(2))),
				nn.N("block", nn.Sequential{nn.N("conv", bd.Conv2D(2, 4, 3, nn.ConvOpt{})), nn.N("bn", bn)})}
			tt.edit(bn)
			live := b.live
			l, n, err := nn.FoldBatchNorm(net)
			if err == nil || !strings.Contains(err.Error(), tt.want) || l != nil || n != 0 {
				t.Fatalf("FoldBatchNorm = %v, %d, %v; want an error containing %q", l, n, err, tt.want)
			}
			if b.live != live {
				t.Errorf("%d buffers live after the error, %d before", b.live, live)
			}
			for _, p := range net.Params() {
				if p.T.Buffer() == nil {
					t.Errorf("%s was freed", p.Name)
				}
			}
		})
	}
}

// Folding a conv and its batch norm: the scale gamma/sqrt(var + eps) =
// 4/sqrt(4) = 2 moves into the weight (3*2 = 6), the shift into the bias
// ((0 - mean)*2 + beta = -2 + 0.5 = -1.5); the ReLU after them is fused
// into the conv.
func ExampleFoldBatchNorm() {
	b := cpu.New()
	bd := nn.NewBuilder(b, 1)
	conv, bn := bd.Conv2D(1, 1, 1, nn.ConvOpt{}), bd.BatchNorm(1)
	net := nn.Sequential{nn.N("conv", conv), nn.N("bn", bn), nn.N("relu", nn.Act(core.ReLU))}
	_ = nn.Load(net, map[string][]float32{"conv.weight": {3}, "bn.weight": {4}, "bn.bias": {0.5},
		"bn.running_mean": {1}, "bn.running_var": {4 - 1e-5}})
	folded, n, _ := nn.FoldBatchNorm(net)
	for _, p := range folded.Params() {
		v, _ := p.T.Data()
		fmt.Printf("%s %.4g\n", p.Name, v)
	}
	_, rows, _ := nn.PlanOf(folded, core.Shape{1, 1, 1, 1})
	fmt.Println(n, "folded:", rows[0].Kind)
	// Output:
	// conv.weight [6]
	// conv.bias [-1.5]
	// 1 folded: Conv 1x1/1 1 relu
}

// TestFoldFusesActivation: an activation right after a conv without batch
// norm becomes the conv's fused activation, and the conv built stays as
// it was (the folded network holds a copy).
func TestFoldFusesActivation(t *testing.T) {
	bd := nn.NewBuilder(cpu.New(), 1)
	conv := bd.Conv2D(3, 4, 3, nn.ConvOpt{})
	out, n, err := nn.FoldBatchNorm(nn.Seq(conv, nn.Act(core.ReLU6)))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := out.(nn.Sequential)
	if !ok || n != 0 || len(s) != 1 {
		t.Fatalf("folded %T with %d norms, %v: want one layer and 0 norms", out, n, out)
	}
	c, ok := s[0].Layer.(*nn.Conv)
	if !ok || c.P.Act.Op != core.ReLU6 || c.W != conv.W || conv.P.Act.Op != core.Identity {
		t.Errorf("fused conv %+v (built conv act %v): want ReLU6 on a copy sharing the weights", c, conv.P.Act)
	}
}
