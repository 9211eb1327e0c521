package main

import (
	"errors"
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/data"
)

// TestHeadsMC: an ensemble of two heads answers the mean and the
// population variance of their probabilities (computed here from each
// head's answer); MC-dropout reports every pass; a run cancelled after 3
// passes stops with ErrAborted; a zoo model refuses to train its blocks.
func TestHeadsMC(t *testing.T) {
	m := load(t, "lenet5")
	defer m.dispose()
	g := core.NewRNG(3)
	var imgs []*data.Image
	var labels []int
	for i := 0; i < 8; i++ {
		imgs, labels = append(imgs, bar(i%2, g)), append(labels, i%2)
	}
	classes := []string{"vertical", "horizontal"}
	h1, _, err := m.finetune(imgs, labels, classes, FinetuneOptions{Steps: 10, Seed: 1, Dropout: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	h2, _, err := m.finetune(imgs, labels, classes, FinetuneOptions{Steps: 10, Seed: 2, Dropout: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	img := bar(0, g)
	probs := func(f *fineTuned) []float32 {
		ps, err := f.classify(img, ClassifyOptions{TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 2)
		for _, p := range ps {
			out[p.Index] = p.Prob
		}
		return out
	}
	p1, p2 := probs(h1), probs(h2)
	ens, err := headsClassify([]*fineTuned{h1, h2}, img, ClassifyOptions{TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ens {
		c := p.Index
		mean := (float64(p1[c]) + float64(p2[c])) / 2
		v := (math.Pow(float64(p1[c])-mean, 2) + math.Pow(float64(p2[c])-mean, 2)) / 2
		if !p.Stats || math.Abs(float64(p.Mean)-mean) > 1e-6 || math.Abs(float64(p.Var)-v) > 1e-7 {
			t.Errorf("class %d: ensemble mean %v variance %v, members %v and %v give %v and %v", c, p.Mean, p.Var, p1[c], p2[c], mean, v)
		}
	}
	var passes [][2]int
	mc, err := h1.classify(img, ClassifyOptions{TopK: 2, MC: 12, Seed: 5, Run: &Run{OnPass: func(d, n int) { passes = append(passes, [2]int{d, n}) }}})
	if err != nil {
		t.Fatal(err)
	}
	if len(passes) != 12 || passes[11] != [2]int{12, 12} || !mc[0].Stats || !(mc[0].Var > 0) {
		t.Errorf("MC over 12 passes: progress %v, answer %+v", passes, mc[0])
	}
	done := 0
	_, err = headsClassify([]*fineTuned{h1, h2}, img, ClassifyOptions{MC: 50, Run: &Run{OnPass: func(d, _ int) { done = d }, Canceled: func() bool { return done >= 3 }}})
	if !errors.Is(err, ErrAborted) || done != 3 || Kind(err) != "aborted" {
		t.Errorf("cancelled after 3 passes: %v (kind %q) after %d passes", err, Kind(err), done)
	}
	if _, _, err := m.finetune(imgs, labels, classes, FinetuneOptions{Steps: 1, Unfreeze: 1}); !errors.Is(err, ErrBadInput) {
		t.Errorf("a zoo model's blocks: %v, want ErrBadInput", err)
	}
	h1.dispose()
	h2.dispose()
}
