package webgpu

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/optim"
	"webcnn/models"
)

// Training on the GPU against the CPU: the same zoo model built with the
// same seed on both backends, one training step (ForwardGrad in training
// mode, softmax cross-entropy on fixed labels, Backward, an optimizer
// step) and then the loss of a second forward pass. The tolerances:
//
//   - every parameter gradient: max |gpu - cpu| <= 1e-4 * max |cpu grad|
//     of that tensor (the error relative to the tensor's gradient scale);
//   - every parameter and buffer after the step: max |gpu - cpu| <= 1e-5 *
//     max |cpu value| of that tensor (1e-4 for a tensor initialized to
//     zero, whose value after the step is LR times a gradient);
//   - running statistics: those of batch norms trained (training mode)
//     change, identically to 1e-5 on both; those of frozen ones (inference
//     mode) stay bit for bit, as every frozen parameter does;
//   - the losses of both steps: |gpu - cpu| <= 1e-5 * |cpu loss| (+1e-6).
//
// The optimizer is SGD with momentum (and weight decay), whose update is
// linear in the gradient, so a gradient within tolerance gives weights
// within tolerance; LeNet-5 also runs AdamW, with a large Eps (see
// TestTrainLeNet5) because Adam's first step (about LR * sign(g))
// magnifies the rounding of gradients near zero.

// trainRun is what one backend computed.
type trainRun struct {
	loss1, loss2 float32
	grads        map[string][]float32 // by parameter name
	before       map[string][]float32 // parameters and buffers before the step
	after        map[string][]float32 // and after it
	order        []string             // parameter and buffer names in model order
	buffer       map[string]bool
	step         time.Duration // forward, loss, backward and update of step 1
}

// trainCase is one model and its batch.
type trainCase struct {
	name   string
	build  func(b core.Backend) (nn.Layer, error)
	input  core.Shape
	labels []int
	opt    func() optim.Optimizer
	// trained reports whether a parameter (by name) is trained; nil: all.
	trained func(name string) bool
	// zero maps the parameters whose gradient is zero in exact arithmetic
	// to a reference parameter: the bias (beta) of a batch norm whose
	// output reaches the loss only through a training-mode batch norm
	// (after a 1x1 conv) sums its gradient over the batch, which that
	// batch norm makes zero per channel. What both backends compute there
	// is rounding noise, so it is held to 1e-4 of the reference's
	// gradient scale (and the weights after the step to 1e-5 of the
	// reference's scale) instead of its own.
	zero map[string]string
}

// hostData reads t back.
func hostData(t *testing.T, x *core.Tensor) []float32 {
	t.Helper()
	v, err := x.Data()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// run runs two training steps of c on be.
func (c trainCase) run(t *testing.T, be core.Backend) *trainRun {
	t.Helper()
	net, err := c.build(be)
	if err != nil {
		t.Fatal(err)
	}
	ps := net.Params()
	defer func() {
		for _, p := range ps {
			p.T.Free()
		}
	}()
	r := &trainRun{grads: map[string][]float32{}, before: map[string][]float32{}, after: map[string][]float32{}, buffer: map[string]bool{}}
	for _, p := range ps {
		r.order = append(r.order, p.Name)
		r.buffer[p.Name] = p.Buffer
		r.before[p.Name] = hostData(t, p.T)
	}
	in := make([]float32, c.input.Size())
	rng := core.NewRNG(11)
	for i := range in {
		in[i] = rng.NormFloat32()
	}
	x, err := core.FromData(be, c.input, in)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Free()
	opt := c.opt()
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(5)}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	y, pb, err := nn.ForwardGrad(ctx, net, x, false)
	if err != nil {
		t.Fatalf("%s forward on %s: %v", c.name, be.Name(), err)
	}
	loss, dy, err := autograd.SoftmaxCrossEntropy(y, c.labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := nn.Backward(pb, dy)
	if err != nil {
		t.Fatalf("%s backward on %s: %v", c.name, be.Name(), err)
	}
	dy.Free()
	y.Free()
	for _, p := range ps {
		if d := g.Of(p.T); d != nil {
			r.grads[p.Name] = hostData(t, d)
		}
	}
	if err := opt.Step(ps, g); err != nil {
		t.Fatalf("%s optimizer step on %s: %v", c.name, be.Name(), err)
	}
	g.Free()
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	r.step = time.Since(start)
	r.loss1 = loss
	for _, p := range ps {
		r.after[p.Name] = hostData(t, p.T)
	}
	// The second step's loss, in training mode as the first.
	y2, _, err := nn.ForwardGrad(ctx, net, x, false)
	if err != nil {
		t.Fatalf("%s second forward on %s: %v", c.name, be.Name(), err)
	}
	r.loss2, dy, err = autograd.SoftmaxCrossEntropy(y2, c.labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	dy.Free()
	y2.Free()
	return r
}

// relErr returns max |got - want| and max |want| (got nil: 0 and max |want|).
func relErr(got, want []float32) (maxErr, scale float64) {
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		if got == nil {
			continue
		}
		e := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		maxErr = math.Max(maxErr, e)
	}
	return maxErr, scale
}

// equal reports whether a and b hold the same values.
func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compareTrain checks the GPU run against the CPU run.
func compareTrain(t *testing.T, c trainCase, want, got *trainRun) {
	t.Helper()
	t.Logf("%s: loss cpu %.6f -> %.6f, gpu %.6f -> %.6f; step 1 cpu %v, gpu %v", c.name,
		want.loss1, want.loss2, got.loss1, got.loss2, want.step.Round(time.Millisecond), got.step.Round(time.Millisecond))
	for i, l := range [][2]float32{{want.loss1, got.loss1}, {want.loss2, got.loss2}} {
		if d := math.Abs(float64(l[1] - l[0])); !(d <= 1e-5*math.Abs(float64(l[0]))+1e-6) {
			t.Errorf("%s: step %d loss gpu %v, cpu %v (differ by %.3g)", c.name, i+1, l[1], l[0], d)
		}
	}
	// Which parameters have gradients: the trained ones, on both.
	nGrad, worstGrad, worstGradName := 0, 0.0, ""
	worstW, worstWName := 0.0, ""
	bufMoved, bufKept := 0, 0 // batch norm running statistics updated (training mode) and kept (frozen, inference mode)
	for _, name := range want.order {
		buf := want.buffer[name]
		trained := !buf && (c.trained == nil || c.trained(name))
		wg, okW := want.grads[name]
		gg, okG := got.grads[name]
		if okW != trained || okG != trained {
			t.Errorf("%s: %s: gradient on cpu %v, on gpu %v; want %v", c.name, name, okW, okG, trained)
			continue
		}
		ref, isZero := c.zero[name]
		if trained && isZero {
			nGrad++
			_, s := relErr(nil, want.grads[ref])
			_, ng := relErr(nil, gg)
			_, nw := relErr(nil, wg)
			t.Logf("%s: %s: gradient zero in exact arithmetic: max |cpu| %.3g, max |gpu| %.3g, %.3g and %.3g of %s's gradient scale %.3g (limit 1e-4)",
				c.name, name, nw, ng, nw/s, ng/s, ref, s)
			if !(ng <= 1e-4*s && nw <= 1e-4*s) {
				t.Errorf("%s: %s: gradient (zero in exact arithmetic) cpu %.3g, gpu %.3g, over 1e-4 of %s's %.3g", c.name, name, nw, ng, ref, s)
			}
		} else if trained {
			nGrad++
			e, s := relErr(gg, wg)
			if s == 0 {
				t.Errorf("%s: %s: the cpu gradient is all zero", c.name, name)
			}
			if rel := e / s; !(rel <= worstGrad) {
				worstGrad, worstGradName = rel, name
			}
			if !(e <= 1e-4*s) {
				t.Errorf("%s: gradient of %s: max |gpu - cpu| %.3g, %.3g of its scale %.3g (limit 1e-4)", c.name, name, e, e/s, s)
			}
		}
		if !equal(want.before[name], got.before[name]) {
			t.Errorf("%s: %s differs before training (the seeded initialization)", c.name, name)
		}
		e, s := relErr(got.after[name], want.after[name])
		limit := 1e-5
		if isZero {
			_, s = relErr(nil, want.after[ref])
		} else if _, s0 := relErr(nil, want.before[name]); s0 == 0 {
			// Initialized to zero (a bias, a batch norm's beta): after
			// one step it is -LR times the (momentum) gradient, so its
			// relative error is the gradient's, held to 1e-4.
			limit = 1e-4
		}
		if rel := e / math.Max(s, 1e-30); !(rel <= worstW) {
			worstW, worstWName = rel, name
		}
		if !(e <= limit*s) {
			t.Errorf("%s: %s after the step: max |gpu - cpu| %.3g, %.3g of its scale %.3g (limit %g)", c.name, name, e, e/s, s, limit)
		}
		// What moves: trained parameters, and the running statistics of
		// batch norms trained in training mode; a frozen part's batch
		// norms run in inference mode and keep theirs.
		movedCPU := !equal(want.before[name], want.after[name])
		movedGPU := !equal(got.before[name], got.after[name])
		moves := trained || (buf && (c.trained == nil || c.trained(name)))
		if !isZero && (movedCPU != moves || movedGPU != moves) {
			t.Errorf("%s: %s changed on cpu %v, on gpu %v; want %v", c.name, name, movedCPU, movedGPU, moves)
		}
		if buf && moves {
			bufMoved++
		} else if buf {
			bufKept++
		}
	}
	t.Logf("%s: %d of %d tensors trained; worst gradient error %.3g of scale (%s), worst weight error %.3g of scale (%s); running statistics: %d buffers updated, %d kept",
		c.name, nGrad, len(want.order), worstGrad, worstGradName, worstW, worstWName, bufMoved, bufKept)
}

// TestTrainLeNet5 trains LeNet-5 fully for one step on both backends,
// with SGD (Nesterov momentum, weight decay) and with AdamW. AdamW's first
// step is about LR * g/(|g| + Eps) per weight, which turns the rounding of
// a gradient near zero into a change of up to LR: Eps 1e-3 (not 1e-8)
// bounds that by LR/Eps times the gradient error, so that the 1e-5 of the
// weights' scale tests the optimizer's ops rather than that amplification.
func TestTrainLeNet5(t *testing.T) {
	b := gpu(t)
	spec, err := models.Lookup("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		name string
		opt  func() optim.Optimizer
	}{
		{"sgd", func() optim.Optimizer {
			return &optim.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, Exclude: optim.NoDecay}
		}},
		{"adamw", func() optim.Optimizer {
			return &optim.AdamW{LR: 1e-3, Eps: 1e-3, WeightDecay: 0.01, Exclude: optim.NoDecay}
		}},
	} {
		t.Run(o.name, func(t *testing.T) {
			c := trainCase{
				name: "lenet5 " + o.name,
				build: func(be core.Backend) (nn.Layer, error) {
					return spec.New(nn.NewBuilder(be, 3))
				},
				input:  core.Shape{8, 28, 28, 1},
				labels: []int{0, 1, 2, 3, 4, 5, 6, 7},
				opt:    o.opt,
			}
			start := time.Now()
			want := c.run(t, cpu.New())
			got := c.run(t, b)
			compareTrain(t, c, want, got)
			if !(want.loss2 < want.loss1) {
				t.Errorf("%s: the loss did not decrease: %v -> %v", c.name, want.loss1, want.loss2)
			}
			t.Logf("%s: %v in all", c.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestTrainFineTune fine-tunes mobilenet_v3_small at 64x64: the backbone
// frozen (inference mode, running statistics kept) except its last two
// feature blocks, features.11 (an inverted residual with depthwise conv,
// squeeze-and-excitation and batch norms, trained in training mode) and
// features.12 (1x1 conv, BN, hard-swish), and the classifier (with its
// dropout, whose mask the same RNG draws on both backends).
func TestTrainFineTune(t *testing.T) {
	b := gpu(t)
	spec, err := models.Lookup("mobilenet_v3_small")
	if err != nil {
		t.Fatal(err)
	}
	trainedPrefixes := []string{"features.11.", "features.12.", "classifier."}
	c := trainCase{
		name: "mobilenet_v3_small",
		build: func(be core.Backend) (nn.Layer, error) {
			l, err := spec.New(nn.NewBuilder(be, 3))
			if err != nil {
				return nil, err
			}
			net, ok := l.(nn.Sequential)
			if !ok || net[0].Name != "features" {
				return nil, fmt.Errorf("mobilenet_v3_small is %T, want a Sequential starting with features", l)
			}
			features, ok := net[0].Layer.(nn.Sequential)
			if !ok || len(features) != 13 {
				return nil, fmt.Errorf("mobilenet_v3_small's features are %T (%d), want a Sequential of 13", net[0].Layer, len(features))
			}
			out := append(nn.Sequential(nil), net...)
			out[0].Layer = nn.TrainLast(features, 2)
			return out, nil
		},
		input:  core.Shape{4, 64, 64, 3},
		labels: []int{1, 7, 500, 999},
		zero:   map[string]string{"features.11.block.3.1.bias": "features.11.block.3.1.weight"},
		opt: func() optim.Optimizer {
			return &optim.SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4, Exclude: optim.NoDecay}
		},
		trained: func(name string) bool {
			for _, p := range trainedPrefixes {
				if strings.HasPrefix(name, p) {
					return true
				}
			}
			return false
		},
	}
	start := time.Now()
	want := c.run(t, cpu.New())
	got := c.run(t, b)
	compareTrain(t, c, want, got)
	t.Logf("mobilenet_v3_small: %v in all", time.Since(start).Round(time.Millisecond))
}
