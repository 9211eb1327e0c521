package optim_test

import (
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/optim"
)

var be = cpu.New()

func tensor(t *testing.T, s core.Shape, v ...float32) *core.Tensor {
	t.Helper()
	x, err := core.FromData(be, s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// grads returns a gradient collection holding g for p.
func grads(t *testing.T, p *core.Tensor, g ...float32) *nn.Grads {
	t.Helper()
	gs := nn.NewGrads()
	if err := gs.Add(p, tensor(t, p.Shape(), g...)); err != nil {
		t.Fatal(err)
	}
	return gs
}

func near(t *testing.T, what string, x *core.Tensor, want ...float64) {
	t.Helper()
	got, _ := x.Data()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 2e-6*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

// TestSGD: w = [1, -2] (a [1, 2] weight), g = [0.5, 1] at both steps,
// LR 0.1, momentum 0.9, weight decay 0.01.
func TestSGD(t *testing.T) {
	// Plain momentum. Step 1: d = g + 0.01w = [0.51, 0.98], v = d,
	// w = [1 - 0.051, -2 - 0.098] = [0.949, -2.098]. Step 2: d = [0.5 +
	// 0.00949, 1 - 0.02098] = [0.50949, 0.97902], v = 0.9*[0.51, 0.98] + d =
	// [0.96849, 1.86102], w = [0.949 - 0.096849, -2.098 - 0.186102] =
	// [0.852151, -2.284102].
	//
	// Nesterov. Step 1: v = d = [0.51, 0.98], w -= 0.1*(d + 0.9v) = 0.1*1.9d:
	// w = [0.9031, -2.1862]. Step 2: d = [0.509031, 0.978138], v =
	// [0.459 + 0.509031, 0.882 + 0.978138] = [0.968031, 1.860138],
	// d + 0.9v = [1.3802589, 2.6522622], w = [0.76507411, -2.45142622].
	for _, tc := range []struct {
		nesterov     bool
		step1, step2 []float64
	}{
		{false, []float64{0.949, -2.098}, []float64{0.852151, -2.284102}},
		{true, []float64{0.9031, -2.1862}, []float64{0.76507411, -2.45142622}},
	} {
		w := tensor(t, core.Shape{1, 2}, 1, -2)
		ps := []nn.Param{{Name: "w", T: w}}
		opt := &optim.SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: tc.nesterov}
		if err := opt.Step(ps, grads(t, w, 0.5, 1)); err != nil {
			t.Fatal(err)
		}
		near(t, "step 1", w, tc.step1...)
		if err := opt.Step(ps, grads(t, w, 0.5, 1)); err != nil {
			t.Fatal(err)
		}
		near(t, "step 2", w, tc.step2...)
	}
}

// TestSGDExcludeAndFrozen: with Exclude = NoDecay a bias b = 1 with
// gradient 1 and decay 0.5 moves by LR*1 only (0.9), a weight by LR*(1 +
// 0.5*1) (0.85); a parameter without a gradient (frozen) and a buffer do
// not move, decay or not.
func TestSGDExcludeAndFrozen(t *testing.T) {
	b := tensor(t, core.Shape{1}, 1)
	w := tensor(t, core.Shape{1, 1}, 1)
	frozen := tensor(t, core.Shape{1, 1}, 1)
	buf := tensor(t, core.Shape{1, 1}, 1)
	g := grads(t, b, 1)
	if err := g.Add(w, tensor(t, core.Shape{1, 1}, 1)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(buf, tensor(t, core.Shape{1, 1}, 1)); err != nil {
		t.Fatal(err)
	}
	opt := &optim.SGD{LR: 0.1, WeightDecay: 0.5, Exclude: optim.NoDecay}
	ps := []nn.Param{{Name: "b", T: b}, {Name: "w", T: w}, {Name: "frozen", T: frozen}, {Name: "buf", T: buf, Buffer: true}}
	if err := opt.Step(ps, g); err != nil {
		t.Fatal(err)
	}
	near(t, "bias", b, 0.9)
	near(t, "weight", w, 0.85)
	near(t, "frozen", frozen, 1)
	near(t, "buffer", buf, 1)
}

// TestAdamW: w = [1, -2], a constant gradient g = [0.5, -1], LR 0.1, decay
// 0.01. Bias correction makes m_hat = g and v_hat = g^2 exactly at every
// step when g is constant (m = (1-0.9^t) g, v = (1-0.999^t) g^2), so each
// step is w = w*(1 - 0.001) - 0.1*g/(|g| + 1e-8) = w*0.999 - 0.1*sign(g):
// step 1: [0.999 - 0.1, -1.998 + 0.1] = [0.899, -1.898];
// step 2: [0.898101 - 0.1, -1.896102 + 0.1] = [0.798101, -1.796102].
func TestAdamW(t *testing.T) {
	w := tensor(t, core.Shape{2, 1}, 1, -2)
	ps := []nn.Param{{Name: "w", T: w}}
	opt := &optim.AdamW{LR: 0.1, WeightDecay: 0.01}
	for _, want := range [][]float64{{0.899, -1.898}, {0.798101, -1.796102}} {
		if err := opt.Step(ps, grads(t, w, 0.5, -1)); err != nil {
			t.Fatal(err)
		}
		near(t, "w", w, want...)
	}
	// A changing gradient: step 3 with g = [1, 0]: m = 0.9*[0.095, -0.19] +
	// 0.1*[1, 0] = [0.1855, -0.171], v = 0.999*[0.00049975, 0.001999] +
	// 0.001*[1, 0] = [0.00149925025, 0.001997001]; bc1 = 1 - 0.729 = 0.271,
	// bc2 = 1 - 0.999^3 = 0.002997001; m_hat = [0.684501845, -0.630996310],
	// sqrt(v_hat) = [sqrt(0.500250...), sqrt(0.666333...)] = [0.707283,
	// 0.816292]; w = [0.798101*0.999 - 0.1*0.967793, -1.796102*0.999 +
	// 0.1*0.773003] = [0.70060510, -1.71059020] (float64 arithmetic).
	if err := opt.Step(ps, grads(t, w, 1, 0)); err != nil {
		t.Fatal(err)
	}
	near(t, "step 3", w, adamRef()...)
}

// adamRef replays the three AdamW steps of TestAdamW in float64.
func adamRef() []float64 {
	w := []float64{1, -2}
	gs := [][]float64{{0.5, -1}, {0.5, -1}, {1, 0}}
	m, v := make([]float64, 2), make([]float64, 2)
	for t, g := range gs {
		bc1, bc2 := 1-math.Pow(0.9, float64(t+1)), 1-math.Pow(0.999, float64(t+1))
		for i := range w {
			w[i] *= 1 - 0.1*0.01
			m[i] = 0.9*m[i] + 0.1*g[i]
			v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
			w[i] -= 0.1 / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + 1e-8)
		}
	}
	return w
}

// TestClipGradNorm: gradients [3, 4] and [12] have global norm
// sqrt(9 + 16 + 144) = 13; clipped to 6.5 they halve, clipped to 20 they
// stay.
func TestClipGradNorm(t *testing.T) {
	for _, tc := range []struct {
		max   float32
		scale float64
	}{{6.5, 6.5 / (13 + 1e-6)}, {20, 1}} {
		a, b := tensor(t, core.Shape{2}, 0, 0), tensor(t, core.Shape{1, 1}, 0)
		g := grads(t, a, 3, 4)
		if err := g.Add(b, tensor(t, core.Shape{1, 1}, 12)); err != nil {
			t.Fatal(err)
		}
		n, err := optim.ClipGradNorm([]nn.Param{{Name: "a", T: a}, {Name: "b", T: b}}, g, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		if n != 13 {
			t.Errorf("norm %v, want 13", n)
		}
		near(t, "a", g.Of(a), 3*tc.scale, 4*tc.scale)
		near(t, "b", g.Of(b), 12*tc.scale)
	}
}

func TestSchedules(t *testing.T) {
	st := optim.StepDecay{Base: 0.1, Gamma: 0.1, Every: 30}
	cos := optim.Cosine{Base: 1, Min: 0, Warmup: 2, Total: 10}
	for _, tc := range []struct {
		name string
		got  float32
		want float64
	}{
		{"step 29", st.At(29), 0.1}, {"step 30", st.At(30), 0.01}, {"step 65", st.At(65), 0.001},
		{"cosine warm-up 0: 1*(0+1)/2", cos.At(0), 0.5}, {"cosine warm-up 1", cos.At(1), 1}, {"cosine start", cos.At(2), 1},
		// step 4: f = 2/8, (1 + cos(pi/4))/2 = 0.8535534; step 6: f = 1/2, 0.5.
		{"cosine 4", cos.At(4), 0.85355339}, {"cosine 6", cos.At(6), 0.5}, {"cosine end", cos.At(10), 0}, {"cosine after", cos.At(12), 0},
	} {
		if math.Abs(float64(tc.got)-tc.want) > 1e-6 {
			t.Errorf("%s: lr %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Plateau with patience 2 on a loss: 1.0 (best), 0.9 (best), then
	// three evaluations without a relative improvement of 1e-4 (0.89995 is
	// not below 0.9*(1 - 1e-4) = 0.89991): the third
	// makes more than 2 bad ones and divides the rate by 10; 0.85 is a new
	// best and keeps it.
	p := &optim.Plateau{LR: 0.01, Patience: 2}
	for i, tc := range []struct{ metric, lr float32 }{{1, 0.01}, {0.9, 0.01}, {0.95, 0.01}, {0.91, 0.01}, {0.89995, 0.001}, {0.85, 0.001}} {
		if got := p.Observe(tc.metric); math.Abs(float64(got-tc.lr)) > 1e-9 {
			t.Errorf("plateau evaluation %d (%v): lr %v, want %v", i, tc.metric, got, tc.lr)
		}
	}
	// Maximizing an accuracy with patience 1 and cooldown 1: 0.9, 0.9
	// (bad 1), 0.9 (bad 2 > 1: lr 0.1 -> 0.01, cooldown), 0.9 (cooldown:
	// not counted), 0.9 (bad 1), 0.9 (bad 2: 0.001, but MinLR 0.005 holds).
	q := &optim.Plateau{LR: 0.1, Patience: 1, Maximize: true, Cooldown: 1, MinLR: 0.005}
	for i, want := range []float32{0.1, 0.1, 0.01, 0.01, 0.01, 0.005} {
		if got := q.Observe(0.9); math.Abs(float64(got-want)) > 1e-9 {
			t.Errorf("plateau (max) evaluation %d: lr %v, want %v", i, got, want)
		}
	}
}

// TestEMA: decay 0.9 from w = [1, 2], then w = [2, 4] and an update:
// shadow = 0.9*[1, 2] + 0.1*[2, 4] = [1.1, 2.2]. Swap exchanges, swap back
// restores.
func TestEMA(t *testing.T) {
	w := tensor(t, core.Shape{2}, 1, 2)
	ps := []nn.Param{{Name: "w", T: w}}
	e, err := optim.NewEMA(ps, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Write(w.Buffer(), 0, []float32{2, 4}); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(); err != nil {
		t.Fatal(err)
	}
	if err := e.Swap(); err != nil {
		t.Fatal(err)
	}
	near(t, "averaged w", w, 1.1, 2.2)
	if err := e.Swap(); err != nil {
		t.Fatal(err)
	}
	near(t, "live w", w, 2, 4)
}
