package main

import (
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/models"
	"webcnn/models/pretrained"
)

// lenet classifies 28x28 gray frames with the trained LeNet-5.
func lenet(t *testing.T) func(pix []uint8) int {
	t.Helper()
	wm, err := pretrained.Load(pretrained.LeNet5MNIST)
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	net, err := models.Build(b, wm)
	if err != nil {
		t.Fatal(err)
	}
	return func(pix []uint8) int {
		img := data.NewImage(28, 28, 1)
		for i, p := range pix {
			img.Pix[i] = float32(p)
		}
		x, err := models.Preprocess(img, wm.Manifest.Input)
		if err != nil {
			t.Fatal(err)
		}
		in, err := core.FromData(b, core.Shape(wm.Manifest.Input.Shape), x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := net.Forward(nn.Eval, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		return models.Top(out, wm.Manifest.Output != "probabilities", nil, 1)[0].Index
	}
}

// TestFrameMNIST blows MNIST test digits up tenfold, as if drawn on the
// 280x280 pad, frames them again, and checks LeNet-5 still reads them.
func TestFrameMNIST(t *testing.T) {
	dir, err := data.MNISTDir()
	if err != nil {
		t.Skip("no MNIST (go mod download): ", err)
	}
	set, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	classify := lenet(t)
	const n, k = 200, 10
	right := 0
	for i := range n {
		ink := make([]float64, 280*280)
		for y := range 280 {
			for x := range 280 {
				ink[y*280+x] = float64(set.Pix[i*784+(y/k)*28+x/k]) / 255
			}
		}
		f, ok := frameDigit(ink, 280, 280)
		if !ok {
			t.Fatalf("digit %d: nothing drawn", i)
		}
		if classify(f[:]) == int(set.Labels[i]) {
			right++
		}
	}
	t.Logf("%d/%d framed test digits read right", right, n)
	if right < n*97/100 {
		t.Errorf("%d/%d framed test digits read right, want 97%%", right, n)
	}
}

// TestFrameStroke frames strokes drawn as the pad draws them (18 pixels
// wide, round caps, on 280x280) and checks LeNet-5 reads the digits; the
// 7 is the stroke the end-to-end test draws with the mouse.
func TestFrameStroke(t *testing.T) {
	classify := lenet(t)
	for _, c := range []struct {
		digit int
		pts   [][2]float64
	}{
		{7, [][2]float64{{0.25, 0.25}, {0.5, 0.25}, {0.75, 0.25}, {0.65, 0.45}, {0.55, 0.65}, {0.45, 0.85}}},
		{1, [][2]float64{{0.5, 0.15}, {0.5, 0.85}}},
		{4, [][2]float64{{0.55, 0.15}, {0.25, 0.6}, {0.75, 0.6}, {0.62, 0.6}, {0.62, 0.4}, {0.62, 0.88}}},
	} {
		ink := make([]float64, 280*280)
		for i := 1; i < len(c.pts); i++ {
			stroke(ink, 280, c.pts[i-1][0]*280, c.pts[i-1][1]*280, c.pts[i][0]*280, c.pts[i][1]*280, 9)
		}
		f, ok := frameDigit(ink, 280, 280)
		if !ok {
			t.Fatal("nothing drawn")
		}
		if got := classify(f[:]); got != c.digit {
			t.Errorf("a drawn %d reads as %d", c.digit, got)
		}
	}
	if _, ok := frameDigit(make([]float64, 100), 10, 10); ok {
		t.Error("an empty pad framed a digit")
	}
}

// stroke inks a segment r pixels around, antialiased over a pixel.
func stroke(ink []float64, side int, x0, y0, x1, y1, r float64) {
	for y := range side {
		for x := range side {
			px, py := float64(x)+0.5, float64(y)+0.5
			dx, dy := x1-x0, y1-y0
			u := math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/(dx*dx+dy*dy)))
			d := math.Hypot(px-(x0+u*dx), py-(y0+u*dy))
			ink[y*side+x] = math.Max(ink[y*side+x], math.Max(0, math.Min(1, r+0.5-d)))
		}
	}
}
