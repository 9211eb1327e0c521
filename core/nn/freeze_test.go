package nn_test

import (
	"fmt"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/optim"
)

// TestFreezeFirst trains only the head of conv -> bn -> tanh -> flatten ->
// linear: the frozen batch norm keeps its running statistics and runs on
// them in training mode, the frozen parameters get no gradient and do not
// move under SGD with weight decay, and the head's gradient is that of a
// linear layer on the eval-mode features.
func TestFreezeFirst(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 1)
	full := nn.Seq(bd.Conv2D(2, 3, 3, nn.ConvOpt{Bias: true}), bd.BatchNorm(3), nn.Act(core.Tanh), nn.Flatten{}, bd.Linear(3*2*2, 4, core.Identity))
	setParams(t, full, 3)
	net := nn.TrainLast(full, 1)
	names := fmt.Sprint(paramNames(net))
	if want := fmt.Sprint(paramNames(full)); names != want {
		t.Errorf("frozen names %s, want %s", names, want)
	}
	before := snapshot(t, net)
	x := newTensor(t, b, core.Shape{2, 4, 4, 2}, randn(core.NewRNG(4), 64, 1))
	y, pb, err := nn.ForwardGrad(train(), net, x, false)
	if err != nil {
		t.Fatal(err)
	}
	feat, err := nn.Seq(full[0].Layer, full[1].Layer, full[2].Layer, full[3].Layer).Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := full[4].Layer.Forward(nn.Eval, feat)
	if err != nil {
		t.Fatal(err)
	}
	yv, _ := y.Data()
	wv, _ := want.Data()
	if fmt.Sprint(yv) != fmt.Sprint(wv) {
		t.Errorf("frozen backbone in training mode gives %v, eval-mode features give %v", yv, wv)
	}
	_, dy, err := autograd.SoftmaxCrossEntropy(y, []int{1, 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := nn.Backward(pb, dy)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 {
		t.Errorf("%d gradients, want 2 (the head's weight and bias)", g.Len())
	}
	if err := (&optim.SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1}).Step(net.Params(), g); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, net)
	for name, v := range before {
		moved := fmt.Sprint(v) != fmt.Sprint(after[name])
		head := name == "4.weight" || name == "4.bias"
		if moved != head {
			t.Errorf("%s moved: %v, want %v", name, moved, head)
		}
	}
	// Everything frozen: nothing to train.
	if _, pb, err := nn.ForwardGrad(train(), nn.FreezeFirst(full, 5), x, false); err != nil || pb != nil {
		t.Errorf("fully frozen network: pullback %v, error %v; want none", pb != nil, err)
	}
}

// TestFrozenMiddle: gradients flow through a frozen layer to the trained
// one before it (checked against central differences), and the frozen
// layer collects none.
func TestFrozenMiddle(t *testing.T) {
	b := cpu.New()
	bd := nn.NewBuilder(b, 2)
	l1, l2, l3 := bd.Linear(3, 4, core.Tanh), bd.Linear(4, 4, core.Sigmoid), bd.Linear(4, 2, core.Identity)
	net := nn.Sequential{nn.N("a", l1), nn.N("b", nn.Frozen{Layer: l2}), nn.N("c", l3)}
	setParams(t, net, 5)
	x := newTensor(t, b, core.Shape{3, 3}, randn(core.NewRNG(6), 9, 1))
	y, pb, err := nn.ForwardGrad(train(), net, x, false)
	if err != nil {
		t.Fatal(err)
	}
	r := randn(core.NewRNG(7), y.Size(), 1)
	g, err := nn.Backward(pb, newTensor(t, b, y.Shape(), r))
	if err != nil {
		t.Fatal(err)
	}
	if g.Of(l2.W) != nil || g.Of(l2.B) != nil || g.Len() != 4 {
		t.Errorf("gradients: %d (frozen weight %v), want 4 and none for the frozen layer", g.Len(), g.Of(l2.W) != nil)
	}
	num, err := autograd.NumericGrad(l1.W, eps, func() (float64, error) {
		y, err := net.Forward(train(), x)
		if err != nil {
			return 0, err
		}
		return autograd.Dot(y, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := g.Of(l1.W).Data()
	if err := autograd.Close(got, num, tol, floor, atol); err != nil {
		t.Errorf("gradient through the frozen layer: %v", err)
	}
}

func paramNames(l nn.Layer) []string {
	var s []string
	for _, p := range l.Params() {
		s = append(s, p.Name)
	}
	return s
}

func snapshot(t *testing.T, l nn.Layer) map[string][]float32 {
	m := map[string][]float32{}
	for _, p := range l.Params() {
		v, err := p.T.Data()
		if err != nil {
			t.Fatal(err)
		}
		m[p.Name] = v
	}
	return m
}

// TestMeanVar: outputs [1, 2] and [3, 6] average to [2, 4] with variances
// ((1-2)^2 + (3-2)^2)/2 = 1 and ((2-4)^2 + (6-4)^2)/2 = 4.
func TestMeanVar(t *testing.T) {
	b := cpu.New()
	s, err := nn.MeanVar([]*core.Tensor{newTensor(t, b, core.Shape{1, 2}, []float32{1, 2}), newTensor(t, b, core.Shape{1, 2}, []float32{3, 6})})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Mean.Data()
	v, _ := s.Var.Data()
	if fmt.Sprint(m, v) != "[2 4] [1 4]" {
		t.Errorf("mean %v var %v, want [2 4] [1 4]", m, v)
	}
}

// TestMCDropout: batch norm (running statistics: x*2 + 1 with mean 0, var
// 0.25, gamma 1, beta 1 gives (x - 0)/0.5 + 1) then dropout 0.5; ones in,
// so each pass gives 3 * mask with masks of {0, 2}: the mean and variance
// of M = 8 passes are those of the masks drawn from the same seed.
func TestMCDropout(t *testing.T) {
	b := cpu.New()
	bn := nn.NewBuilder(b, 1).BatchNorm(4)
	_ = b.Write(bn.Var.Buffer(), 0, []float32{0.25, 0.25, 0.25, 0.25})
	_ = b.Write(bn.Beta.Buffer(), 0, []float32{1, 1, 1, 1})
	bn.Eps = 0
	net := nn.Seq(bn, &nn.Dropout{P: 0.5})
	x := newTensor(t, b, core.Shape{1, 4}, []float32{1, 1, 1, 1})
	const m = 8
	s, err := nn.MCDropout(net, x, m, core.NewRNG(42), false)
	if err != nil {
		t.Fatal(err)
	}
	g := core.NewRNG(42)
	var sum, sq [4]float64
	var ys [m][4]float64
	for k := 0; k < m; k++ {
		for i, v := range g.Mask(4, 0.5) {
			ys[k][i] = 3 * float64(v)
			sum[i] += ys[k][i]
		}
	}
	for k := 0; k < m; k++ {
		for i := range sq {
			d := ys[k][i] - sum[i]/m
			sq[i] += d * d
		}
	}
	mean, _ := s.Mean.Data()
	variance, _ := s.Var.Data()
	for i := range mean {
		if float64(mean[i]) != sum[i]/m || float64(variance[i]) != sq[i]/m {
			t.Fatalf("mc dropout: mean %v var %v, want means %v and variances %v (/%d)", mean, variance, sum, sq, m)
		}
	}
	if variance[0]+variance[1]+variance[2]+variance[3] == 0 {
		t.Error("dropout never changed between passes")
	}
	// The running statistics are untouched (not training mode).
	if v, _ := bn.Mean.Data(); fmt.Sprint(v) != "[0 0 0 0]" {
		t.Errorf("running mean moved to %v", v)
	}
}

// TestVoteAndEnsemble: three models' logits for two samples rank classes
// [0, 1], [0, 2], [1, 2] first: the vote is 0 and 2, each by 2 of 3.
// Two models that disagree tie, and the smaller class wins.
func TestVoteAndEnsemble(t *testing.T) {
	b := cpu.New()
	out := func(v ...float32) *core.Tensor { return newTensor(t, b, core.Shape{len(v) / 3, 3}, v) }
	cls, agree, err := nn.Vote([]*core.Tensor{out(5, 1, 0, 0, 3, 1), out(2, 1, 0, 0, 1, 4), out(0, 1, 0, 1, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cls, agree) != "[0 2] [0.6666667 0.6666667]" {
		t.Errorf("vote %v %v, want [0 2] [0.6666667 0.6666667]", cls, agree)
	}
	cls, agree, _ = nn.Vote([]*core.Tensor{out(0, 1, 0), out(1, 0, 0)})
	if fmt.Sprint(cls, agree) != "[0] [0.5]" {
		t.Errorf("tied vote %v %v, want [0] [0.5]", cls, agree)
	}
	// Ensemble of two linear models y = x*w on x = [1]: outputs [1, 3] and
	// [3, 1]: mean [2, 2], variance [1, 1]; their softmax probabilities
	// p = [s, 1-s], [1-s, s] with s = 1/(1+e^2) average to [0.5, 0.5].
	lin := func(a, c float32) nn.Layer {
		return &nn.Linear{W: newTensor(t, b, core.Shape{1, 2}, []float32{a, c})}
	}
	x := newTensor(t, b, core.Shape{1, 1}, []float32{1})
	s, err := nn.EnsembleStats([]nn.Layer{lin(1, 3), lin(3, 1)}, x, false)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Mean.Data()
	v, _ := s.Var.Data()
	if fmt.Sprint(m, v) != "[2 2] [1 1]" {
		t.Errorf("ensemble mean %v var %v, want [2 2] [1 1]", m, v)
	}
	s, _ = nn.EnsembleStats([]nn.Layer{lin(1, 3), lin(3, 1)}, x, true)
	if m, _ := s.Mean.Data(); m[0] < 0.4999999 || m[0] > 0.5000001 {
		t.Errorf("ensemble mean probability %v, want 0.5", m)
	}
}
