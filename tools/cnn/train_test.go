package main

import (
	"context"
	"io"
	"os"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// TestTrainSmoke trains LeNet-5 for one epoch on 2,000 MNIST images: the
// loss of the last batches is well below that of the first (near ln 10 =
// 2.30 for ten classes), the test accuracy is far above
// chance (10%), and the written manifest loads into the zoo model and
// reproduces its training run's predictions.
func TestTrainSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir, err := data.MNISTDir()
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	out := t.TempDir() + "/lenet5"
	stats, err := runTrain(trainConfig{Model: "lenet5", Data: "mnist", Dir: dir, Out: out, Epochs: 1, Batch: 32, LR: 0.05,
		Momentum: 0.9, Decay: 5e-4, Augment: 1, Limit: 2000, TestLimit: 1000, Seed: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	bl := stats[0].BatchLosses
	first, last := bl[0], mean(bl[len(bl)-8:])
	if first < 1.9 || last > 0.5*first {
		t.Errorf("loss of the first batch %.3f, of the last 8 %.3f: want about 2.3 falling below half of it", first, last)
	}
	if acc := stats[0].TestAcc; acc < 0.6 {
		t.Errorf("test accuracy after one epoch on 2,000 images: %.1f%%, want > 60%%", 100*acc)
	}
	m, err := weights.Load(context.Background(), os.DirFS(out), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest.Arch.ID != "lenet5" || len(m.Manifest.Labels) != 10 || m.Manifest.Labels[7] != "7" || m.Manifest.Memory.ParamBytes != 4*44426 {
		t.Errorf("manifest %+v", m.Manifest)
	}
	b := cpu.New()
	net, err := models.Build(b, m)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	// The loaded model scores what the run reported on the same images,
	// preprocessing each through the manifest's input spec.
	hits := 0
	for k := 0; k < 1000; k++ {
		x, err := models.Preprocess(te.Image(k), m.Manifest.Input)
		if err != nil {
			t.Fatal(err)
		}
		xt, _ := core.FromData(b, core.Shape{1, 28, 28, 1}, x)
		y, err := net.Forward(nn.Eval, xt)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := correct(y, []int{int(te.Labels[k])}); n == 1 {
			hits++
		}
	}
	if got := float64(hits) / 1000; got != stats[0].TestAcc {
		t.Errorf("loaded model: accuracy %.3f, the run reported %.3f", got, stats[0].TestAcc)
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
