package nn_test

import (
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/nn"
)

// Gradient checks use the settings of core/autograd's tests (see its
// helpers_test.go): central differences with eps = 1e-2 through the real
// Forward of each layer on the CPU backend, accumulated in float64, and a
// relative tolerance of 1e-2 with components under 5% of the largest held
// to an absolute 5e-4 of it, plus 1e-4 absolute for the rounding noise
// where a gradient is exactly 0. Activations with kinks (ReLU) are checked in
// core/autograd with inputs kept away from them; here networks use smooth
// ones, so random pre-activations cannot land on a kink.
const (
	eps   = 1e-2
	tol   = 1e-2
	floor = 0.05
	atol  = 1e-4
)

func randn(g *core.RNG, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = g.NormFloat32() * scale
	}
	return v
}

func newTensor(t testing.TB, b core.Backend, s core.Shape, v []float32) *core.Tensor {
	t.Helper()
	x, err := core.FromData(b, s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// checkLayer compares the pullback of l at x (for L = <y, r>, r random)
// with central differences of l.Forward, for x and every trained
// parameter. ctx returns a fresh context for each pass (dropout redraws
// the same mask from a fresh RNG with the same seed).
func checkLayer(t *testing.T, l nn.Layer, x *core.Tensor, ctx func() *nn.Context) {
	t.Helper()
	y, pb, err := nn.ForwardGrad(ctx(), l, x, true)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := l.Forward(ctx(), x)
	if err != nil {
		t.Fatal(err)
	}
	yv, _ := y.Data()
	rv, _ := ref.Data()
	for i := range rv {
		if d := math.Abs(float64(yv[i] - rv[i])); d > 1e-5*(1+math.Abs(float64(rv[i]))) {
			t.Fatalf("ForwardGrad output[%d] = %v, Forward gives %v", i, yv[i], rv[i])
		}
	}
	g := core.NewRNG(99)
	r := randn(g, y.Size(), 1)
	dy := newTensor(t, x.Backend(), y.Shape(), r)
	grads := nn.NewGrads()
	dx, err := pb(dy, grads)
	if err != nil {
		t.Fatal(err)
	}
	loss := func() (float64, error) {
		y, err := l.Forward(ctx(), x)
		if err != nil {
			return 0, err
		}
		return autograd.Dot(y, r)
	}
	compare := func(name string, in, got *core.Tensor) {
		t.Helper()
		if got == nil {
			t.Errorf("%s: no gradient", name)
			return
		}
		num, err := autograd.NumericGrad(in, eps, loss)
		if err != nil {
			t.Fatal(err)
		}
		gv, _ := got.Data()
		if err := autograd.Close(gv, num, tol, floor, atol); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	compare("dx", x, dx)
	n := 0
	for _, p := range l.Params() {
		if p.Buffer {
			continue
		}
		n++
		compare(p.Name, p.T, grads.Of(p.T))
	}
	if grads.Len() != n {
		t.Errorf("%d gradients for %d parameters", grads.Len(), n)
	}
}

func train() *nn.Context { return &nn.Context{Mode: core.Training, RNG: core.NewRNG(1)} }
func eval() *nn.Context  { return nn.Eval }

// setParams fills every parameter (buffers too: running variance stays
// positive) with seeded values so that no gradient is trivially zero.
func setParams(t *testing.T, l nn.Layer, seed uint64) {
	g := core.NewRNG(seed)
	for _, p := range l.Params() {
		v := randn(g, p.T.Size(), 0.5)
		if p.Buffer {
			for i := range v {
				v[i] = 0.5 + float32(math.Abs(float64(v[i])))
			}
		}
		if err := p.T.Backend().Write(p.T.Buffer(), 0, v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLayerGrads(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 4)
	x4 := core.Shape{3, 6, 6, 4}
	conv := func(cin, cout, k int, o nn.ConvOpt) *nn.Conv { o.Bias = true; return bd.Conv2D(cin, cout, k, o) }
	for _, tc := range []struct {
		name string
		l    nn.Layer
		x    core.Shape
		ctx  func() *nn.Context
	}{
		{"conv tanh (fused)", conv(4, 5, 3, nn.ConvOpt{Pad: 1, Act: core.Tanh}), x4, eval},
		{"conv gelu stride 2", conv(4, 3, 3, nn.ConvOpt{Stride: 2, Act: core.GELU}), x4, eval},
		{"conv same stride 2 (asymmetric)", &nn.Conv{W: bd.Conv2D(4, 2, 3, nn.ConvOpt{}).W, P: core.Conv{Stride: []int{2, 2}}, Same: true}, x4, eval},
		{"conv depthwise dilation 2 silu", conv(4, 4, 3, nn.ConvOpt{Groups: 4, Dilation: 2, Pad: 2, Act: core.SiLU}), x4, eval},
		{"conv groups 2", conv(4, 6, 1, nn.ConvOpt{Groups: 2, Act: core.Sigmoid}), x4, eval},
		{"linear", bd.Linear(6*6*4, 5, core.Identity), x4, eval},
		{"linear tanh", bd.Linear(4, 3, core.Tanh), core.Shape{5, 4}, eval},
		{"batch norm (train)", bd.BatchNorm(4), x4, train},
		{"batch norm (eval)", bd.BatchNorm(4), x4, eval},
		{"batch norm 2-D (train)", bd.BatchNorm(5), core.Shape{6, 5}, train},
		{"layer norm", bd.LayerNorm(4), x4, eval},
		{"layer norm over H,W,C", &nn.LayerNorm{Gamma: newTensor(t, b, core.Shape{6, 6, 4}, randn(core.NewRNG(2), 144, 1)),
			Beta: newTensor(t, b, core.Shape{6, 6, 4}, randn(core.NewRNG(3), 144, 1)), Eps: 1e-5}, x4, eval},
		{"channel scale", bd.Scale(4, 0.5), x4, eval},
		{"lrn", &nn.LRN{Size: 3, Alpha: 0.5, Beta: 0.75, Bias: 1}, x4, eval},
		{"lrn size 4", &nn.LRN{Size: 4, Alpha: 1e-1, Beta: 0.75, Bias: 2}, x4, eval},
		{"activation elu", &nn.Activation{F: core.Unary{Op: core.ELU, Alpha: 1}}, x4, eval},
		{"activation gelu tanh", &nn.Activation{F: core.Act(core.GELUTanh)}, x4, eval},
		{"dropout", &nn.Dropout{P: 0.3}, x4, train},
		{"spatial dropout", &nn.Dropout{P: 0.5, Kind: nn.DropMaps}, x4, train},
		{"stochastic depth", &nn.Dropout{P: 0.5, Kind: nn.DropPaths}, x4, train},
		{"dropout (eval)", &nn.Dropout{P: 0.5}, x4, eval},
		{"avg pool", nn.AvgPool2D(3, 2, 1), x4, eval},
		{"global avg pool", nn.GlobalAvgPool{}, x4, eval},
		{"flatten", nn.Flatten{}, x4, eval},
		{"identity", nn.Identity{}, x4, eval},
		{"sequential", nn.Seq(conv(4, 4, 3, nn.ConvOpt{Pad: 1}), bd.BatchNorm(4), nn.Act(core.Tanh), nn.AvgPool2D(2, 2, 0), nn.Flatten{}, bd.Linear(36, 3, core.Identity)), x4, train},
		{"residual (identity shortcut, ELU after)", &nn.Residual{Body: nn.Seq(conv(4, 4, 3, nn.ConvOpt{Pad: 1, Act: core.Tanh}), conv(4, 4, 3, nn.ConvOpt{Pad: 1})), Post: core.Unary{Op: core.ELU, Alpha: 1}}, x4, eval},
		{"residual (conv shortcut, gelu after)", &nn.Residual{Body: nn.Seq(conv(4, 5, 3, nn.ConvOpt{Stride: 2, Pad: 1}), bd.BatchNorm(5)),
			Shortcut: nn.Seq(conv(4, 5, 1, nn.ConvOpt{Stride: 2}), bd.BatchNorm(5)), ShortcutName: "downsample", Post: core.Act(core.GELU)}, x4, train},
		{"concat with identity", nn.Concat{nn.N("", nn.Identity{}), nn.N("b1", conv(4, 3, 1, nn.ConvOpt{Act: core.Tanh})), nn.N("b2", conv(4, 2, 3, nn.ConvOpt{Pad: 1}))}, x4, eval},
		{"squeeze-excite", &nn.SqueezeExcite{FC1: conv(4, 2, 1, nn.ConvOpt{Act: core.SiLU}), FC2: conv(2, 4, 1, nn.ConvOpt{Act: core.Sigmoid}), Name1: "fc1", Name2: "fc2"}, x4, eval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := bd.Err(); err != nil {
				t.Fatal(err)
			}
			setParams(t, tc.l, 8)
			x := newTensor(t, b, tc.x, randn(core.NewRNG(6), tc.x.Size(), 1))
			checkLayer(t, tc.l, x, tc.ctx)
		})
	}
}

// TestMaxPoolLayerGrad checks the max pool layer on distinct values
// (a window's maximum stays unique under the perturbation).
func TestMaxPoolLayerGrad(t *testing.T) {
	b := cpu.New()
	s := core.Shape{2, 7, 7, 3}
	v := make([]float32, s.Size())
	for i := range v {
		v[i] = float32((i*131)%len(v)) * 0.05
	}
	checkLayer(t, nn.MaxPool2D(3, 2, 1, true), newTensor(t, b, s, v), eval)
}

// TestNetworkGrad checks a small network of every container against
// central differences of the cross-entropy loss, for every parameter.
func TestNetworkGrad(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 5)
	net := nn.Sequential{
		nn.N("conv1", bd.Conv2D(2, 4, 3, nn.ConvOpt{Pad: 1, Stride: 2})), nn.N("bn1", bd.BatchNorm(4)), nn.N("", nn.Act(core.Tanh)),
		nn.N("block", &nn.Residual{Body: nn.Sequential{nn.N("conv", bd.Conv2D(4, 4, 3, nn.ConvOpt{Pad: 1, Act: core.SiLU})),
			nn.N("se", &nn.SqueezeExcite{FC1: bd.Conv2D(4, 2, 1, nn.ConvOpt{Bias: true, Act: core.Tanh}), FC2: bd.Conv2D(2, 4, 1, nn.ConvOpt{Bias: true, Act: core.Sigmoid}), Name1: "fc1", Name2: "fc2"})},
			Post: core.Unary{Op: core.ELU, Alpha: 1}}),
		nn.N("mix", nn.Concat{nn.N("", nn.Identity{}), nn.N("b", bd.Conv2D(4, 2, 1, nn.ConvOpt{Bias: true}))}),
		nn.N("ln", bd.LayerNorm(6)),
		nn.N("pool", nn.GlobalAvgPool{}), nn.N("flat", nn.Flatten{}),
		nn.N("drop", &nn.Dropout{P: 0.25}),
		nn.N("fc", bd.Linear(6, 3, core.Identity)),
	}
	if err := bd.Err(); err != nil {
		t.Fatal(err)
	}
	g := core.NewRNG(2)
	x := newTensor(t, b, core.Shape{4, 6, 6, 2}, randn(g, 4*6*6*2, 1))
	labels := []int{0, 2, 1, 2}
	ctx := func() *nn.Context { return &nn.Context{Mode: core.Training, RNG: core.NewRNG(3)} }
	y, pb, err := nn.ForwardGrad(ctx(), net, x, false)
	if err != nil {
		t.Fatal(err)
	}
	_, dy, err := autograd.SoftmaxCrossEntropy(y, labels, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := nn.Backward(pb, dy)
	if err != nil {
		t.Fatal(err)
	}
	loss := func() (float64, error) {
		y, err := net.Forward(ctx(), x)
		if err != nil {
			return 0, err
		}
		l, d, err := autograd.SoftmaxCrossEntropy(y, labels, 0.1)
		d.Free()
		return float64(l), err
	}
	n := 0
	for _, p := range net.Params() {
		if p.Buffer {
			continue
		}
		n++
		num, err := autograd.NumericGrad(p.T, eps, loss)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := grads.Of(p.T).Data()
		if err := autograd.Close(got, num, tol, floor, atol); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	if n != grads.Len() || n != 14 {
		t.Errorf("%d parameters, %d gradients, want 14", n, grads.Len())
	}
}

// TestForwardGradNotTrainable: a layer without a gradient is accepted only
// where nothing flows back through it.
func TestForwardGradNotTrainable(t *testing.T) {
	b := cpu.New()
	x := newTensor(t, b, core.Shape{1, 2}, []float32{1, 2})
	if _, pb, err := nn.ForwardGrad(eval(), opaque{}, x, false); err != nil || pb != nil {
		t.Errorf("parameter-free opaque layer without input gradient: pullback %v, error %v", pb != nil, err)
	}
	if _, _, err := nn.ForwardGrad(eval(), opaque{}, x, true); err == nil {
		t.Error("opaque layer with input gradient: no error")
	}
}

type opaque struct{}

func (opaque) Forward(_ *nn.Context, x *core.Tensor) (*core.Tensor, error) { return x, nil }
func (opaque) Params() []nn.Param                                          { return nil }
func (opaque) Plan(_ *nn.Trace, in core.Shape, f nn.Field) (core.Shape, nn.Field, error) {
	return in, f, nil
}
