package main

import (
	"context"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/site"
)

// shapes draws n 224x224 pictures of a filled circle or square of a
// random colour, size and place on a plain background.
func shapes(kind string, n int, seed uint64) []*data.Image {
	r := rand.New(rand.NewPCG(seed, 17))
	out := make([]*data.Image, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 224, 224))
		bg := color.RGBA{uint8(150 + r.IntN(100)), uint8(150 + r.IntN(100)), uint8(150 + r.IntN(100)), 255}
		fg := []color.RGBA{{200, 30, 30, 255}, {30, 120, 220, 255}, {20, 150, 60, 255}, {120, 40, 160, 255}, {30, 30, 30, 255}, {230, 140, 0, 255}}[r.IntN(6)]
		half := 25 + r.IntN(50)
		cx, cy := half+r.IntN(224-2*half), half+r.IntN(224-2*half)
		for y := 0; y < 224; y++ {
			for x := 0; x < 224; x++ {
				dx, dy := x-cx, y-cy
				in := dx*dx+dy*dy <= half*half
				if kind == "square" {
					in = dx >= -half && dx < half && dy >= -half && dy < half
				}
				if in {
					img.SetRGBA(x, y, fg)
				} else {
					img.SetRGBA(x, y, bg)
				}
			}
		}
		out[i] = data.FromImage(img)
	}
	return out
}

// backbone loads the page's MobileNetV2 backbone (converted from nsfwjs
// into a temporary directory) on the CPU.
func backbone(t *testing.T) *model {
	t.Helper()
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, site.NSFWJSDir)); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package nsfwjs is missing: ", err)
	}
	dir := t.TempDir()
	if err := site.WriteBackbone(root, dir); err != nil {
		t.Fatal(err)
	}
	wm, err := weights.Load(context.Background(), os.DirFS(dir), "models/"+site.Backbone, weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBackends()
	l, err := bs.acquire("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel(site.Backbone, wm, l, bs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFinetuneTail trains the MobileNetV2 backbone's last two blocks with
// a new head on 5 circles and 5 squares: the plan counts the trained
// parameters, the loss falls, the trained blocks moved away from the
// backbone's weights, held-out pictures are read right, and the saved
// delta (which holds the blocks) loads back to bit-identical
// probabilities; the head-only head refuses nothing of that.
func TestFinetuneTail(t *testing.T) {
	if testing.Short() {
		t.Skip("MobileNetV2 passes")
	}
	m := backbone(t)
	defer m.dispose()
	if n := m.tailBlocks(); n < 3 {
		t.Fatalf("%d trainable blocks, want at least 3", n)
	}
	if err := m.classes(); err == nil {
		t.Error("the backbone classifies: want it refused (no classes)")
	}
	plan, err := m.finetunePlan(2, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	// block_16 (160->960->320: 153600+8640+307200 weights, 960+960+320 biases)
	// and Conv_1 (320x1280 + 1280), and the head (1280x2 + 2).
	want := int64(153600 + 960 + 8640 + 960 + 307200 + 320 + 409600 + 1280 + 2562)
	if plan.TrainableParams != want || plan.At != "block_15_add" {
		t.Errorf("plan: %d trainable parameters after %q, want %d after block_15_add", plan.TrainableParams, plan.At, want)
	}
	t.Logf("plan for 2 blocks, 10 examples: %+v, %.1f MB", plan, float64(plan.Total())/1e6)
	var imgs []*data.Image
	var labels []int
	for c, k := range []string{"circle", "square"} {
		for _, im := range shapes(k, 5, uint64(c+1)) {
			imgs, labels = append(imgs, im), append(labels, c)
		}
	}
	var losses []float64
	ft, res, err := m.finetune(imgs, labels, []string{"circle", "square"}, FinetuneOptions{Steps: 8, Seed: 3, Unfreeze: 2, Dropout: 0.2, Smoothing: 0.1, Decay: 0.01,
		OnStep: func(_, _ int, loss, _ float64) { losses = append(losses, loss) }})
	if err != nil {
		t.Fatal(err)
	}
	defer ft.dispose()
	if !(losses[len(losses)-1] < losses[0]) {
		t.Errorf("losses %v: want them to fall", losses)
	}
	st := m.stems[2]
	orig := map[string][]float32{}
	for _, tn := range st.tail {
		orig[tn.Name] = tn.Data
	}
	moved := 0
	for _, p := range trainable(ft.tail) {
		v, _ := p.T.Data()
		for _, tn := range st.tail {
			if len(tn.Data) == len(v) {
				for i := range v {
					if v[i] != tn.Data[i] {
						moved++
						break
					}
				}
			}
		}
	}
	if moved == 0 {
		t.Error("the trained blocks' weights did not change")
	}
	hits := 0
	tests := append(shapes("circle", 5, 3), shapes("square", 5, 4)...)
	var probs [][]float32
	for i, im := range tests {
		p, err := ft.classify(im, ClassifyOptions{TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p[0].Index == i/5 {
			hits++
		}
		probs = append(probs, []float32{p[0].Prob, p[1].Prob})
	}
	t.Logf("%+v; losses %.3f -> %.3f; %d of 10 held-out right", res, losses[0], losses[len(losses)-1], hits)
	if hits < 8 {
		t.Errorf("%d of 10 held-out pictures right, want at least 8", hits)
	}
	raw, err := ft.save()
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.loadDelta(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer again.dispose()
	if again.blocks != 2 || len(trainable(again.tail)) != len(trainable(ft.tail)) {
		t.Fatalf("reloaded: %d blocks, %d tail parameters", again.blocks, len(trainable(again.tail)))
	}
	for i, p := range trainable(again.tail) {
		a, _ := p.T.Data()
		b, _ := trainable(ft.tail)[i].T.Data()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("reloaded %s[%d] = %v, trained %v", p.Name, j, a[j], b[j])
			}
		}
	}
	for i, im := range tests {
		p, err := again.classify(im, ClassifyOptions{TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p[0].Prob != probs[i][0] || p[1].Prob != probs[i][1] {
			t.Errorf("picture %d: reloaded %v %v, trained %v", i, p[0].Prob, p[1].Prob, probs[i])
		}
	}
	t.Logf("delta with 2 blocks: %d bytes", len(raw))
}
