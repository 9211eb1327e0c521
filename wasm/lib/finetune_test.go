package main

import (
	"testing"

	"webcnn/core"
	"webcnn/core/data"
)

// bar is a 28x28 picture with a bright vertical (class 0) or horizontal
// (class 1) bar at a position drawn from g.
func bar(class int, g *core.RNG) *data.Image {
	img := data.NewImage(28, 28, 3)
	at := 6 + int(g.Float32()*14)
	for i := 0; i < 28; i++ {
		for w := 0; w < 4; w++ {
			y, x := i, at+w
			if class == 1 {
				y, x = at+w, i
			}
			for c := 0; c < 3; c++ {
				img.Pix[(y*28+x)*3+c] = 255
			}
		}
	}
	return img
}

// TestFinetune trains a head on the random LeNet-5's features to tell
// vertical from horizontal bars: the loss falls, held-out bars are read
// right, and a saved and reloaded head answers the same probabilities.
func TestFinetune(t *testing.T) {
	m := load(t, "lenet5")
	g := core.NewRNG(3)
	var imgs []*data.Image
	var labels []int
	for i := 0; i < 12; i++ {
		imgs, labels = append(imgs, bar(i%2, g)), append(labels, i%2)
	}
	var losses []float64
	ft, res, err := m.finetune(imgs, labels, []string{"vertical", "horizontal"}, FinetuneOptions{
		Steps: 30, LR: 0.02, Augment: true, Copies: 2, Seed: 7,
		OnStep: func(step, steps int, loss, acc float64) { losses = append(losses, loss) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, loss %.3f -> %.3f", res, losses[0], losses[len(losses)-1])
	if len(losses) != 30 || losses[len(losses)-1] >= losses[0] {
		t.Errorf("losses %v: want 30 steps, decreasing", losses)
	}
	if res.Features != 84 || res.Examples != 36 {
		t.Errorf("features %d, examples %d: want 84 and 36", res.Features, res.Examples)
	}
	hits := 0
	for i := 0; i < 20; i++ {
		p, err := ft.classify(bar(i%2, g), ClassifyOptions{TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p[0].Index == i%2 {
			hits++
		}
	}
	if hits < 16 {
		t.Errorf("%d of 20 held-out bars right", hits)
	}
	raw, err := ft.save()
	if err != nil {
		t.Fatal(err)
	}
	ft2, err := m.loadDelta(raw)
	if err != nil {
		t.Fatal(err)
	}
	img := bar(1, g)
	a, _ := ft.classify(img, ClassifyOptions{TopK: 2})
	b, _ := ft2.classify(img, ClassifyOptions{TopK: 2})
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("reloaded head: %+v, want %+v", b[i], a[i])
		}
	}
	mc, err := ft2.classify(img, ClassifyOptions{TopK: 2, MC: 10, Seed: 1})
	if err != nil || !mc[0].Stats {
		t.Errorf("MC-dropout: %+v, %v", mc, err)
	}
	raw[len(raw)/2] ^= 1
	if _, err := m.loadDelta(raw); err == nil {
		t.Error("a corrupted delta loaded")
	}
	ft.dispose()
	ft2.dispose()
	m.dispose()
}
