package site

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/tools/convert/tfjs"
)

func importFull(pkg string) (*weights.Manifest, []weights.Tensor, error) {
	return tfjs.ImportNSFWJS(pkg, "mobilenet_v2")
}

// TestBackbone converts nsfwjs's MobileNetV2 and cuts it before its head:
// no tensor of the head is written, the output is 1280 features, and
// nsfwjs's own head (dense_1 to dense_3 and the softmax, applied here by
// hand to the cut graph's features of a generated picture) gives the full
// model's probabilities, natively on the CPU: the cut is exactly at the
// head's input. The f16 copy the page downloads stays within 1e-2 of them.
func TestBackbone(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(root, NSFWJSDir)
	if _, err := os.Stat(pkg); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package nsfwjs is missing (npm install --ignore-scripts): ", err)
	}
	m, ts, err := BackboneManifest(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Output != "features" || len(m.Labels) != 0 {
		t.Errorf("output %q, labels %v", m.Output, m.Labels)
	}
	for _, tn := range ts {
		if strings.HasPrefix(tn.Name, "dense") {
			t.Errorf("the head's tensor %s is written", tn.Name)
		}
	}
	full, fts, err := importFull(pkg)
	if err != nil {
		t.Fatal(err)
	}
	// A picture: coloured discs on a gradient, 224x224, in 0..1 as nsfwjs scales.
	x := make([]float32, 224*224*3)
	for y := 0; y < 224; y++ {
		for i := 0; i < 224; i++ {
			d := math.Hypot(float64(i-80), float64(y-120))
			for c := 0; c < 3; c++ {
				v := float64(i+c*40) / 400
				if d < 50 {
					v = float64(c) / 2
				}
				x[(y*224+i)*3+c] = float32(v)
			}
		}
	}
	b := cpu.New()
	run := func(raw []byte, tensors []weights.Tensor) []float32 {
		t.Helper()
		g, err := graph.New(b, raw, tensors)
		if err != nil {
			t.Fatal(err)
		}
		out, err := nn.Infer(b, g, core.Shape{1, 224, 224, 3}, x)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := run(full.Graph, fts)
	feat := run(m.Graph, ts)
	if len(feat) != 1280 {
		t.Fatalf("%d features, want 1280", len(feat))
	}
	byName := map[string]weights.Tensor{}
	for _, tn := range fts {
		byName[tn.Name] = tn
	}
	got := feat
	for _, l := range []string{"dense_1", "dense_2", "dense_3"} {
		w, bias := byName[l+"/kernel"], byName[l+"/bias"]
		in, out := w.Shape[0], w.Shape[1]
		if len(got) != in {
			t.Fatalf("%s takes %d inputs, the features are %d", l, in, len(got))
		}
		next := make([]float32, out)
		for o := 0; o < out; o++ {
			s := float64(bias.Data[o])
			for i := 0; i < in; i++ {
				s += float64(got[i]) * float64(w.Data[i*out+o])
			}
			if l != "dense_3" {
				s = math.Max(s, 0)
			}
			next[o] = float32(s)
		}
		got = next
	}
	probs := softmax(got)
	for i := range want {
		if d := math.Abs(float64(probs[i] - want[i])); d > 1e-5 {
			t.Errorf("class %d: head on the cut features %.6f, full model %.6f", i, probs[i], want[i])
		}
	}
	// The f16 files the page downloads.
	out := t.TempDir()
	if err := WriteBackbone(root, out); err != nil {
		t.Fatal(err)
	}
	wm, err := weights.Load(context.Background(), os.DirFS(out), "models/"+Backbone, weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lts []weights.Tensor
	for _, e := range wm.Manifest.Tensors {
		lts = append(lts, weights.Tensor{Name: e.Name, Shape: e.Shape, Data: wm.Tensors[e.Name]})
	}
	f16 := run(wm.Manifest.Graph, lts)
	var worst float64
	for i := range feat {
		worst = math.Max(worst, math.Abs(float64(f16[i]-feat[i]))/(1+math.Abs(float64(feat[i]))))
	}
	var size int64
	for _, c := range wm.Manifest.Chunks {
		size += c.Size
	}
	t.Logf("%d tensors, %d chunks, %.1f MB; full-model probabilities %v; f16 features within %.2g (relative) of f32", len(ts), len(wm.Manifest.Chunks), float64(size)/1e6, want, worst)
	if worst > 2e-2 {
		t.Errorf("f16 features differ from f32 by %.3g", worst)
	}
}

func softmax(v []float32) []float32 {
	top := v[0]
	for _, x := range v {
		top = max(top, x)
	}
	var s float64
	out := make([]float32, len(v))
	for i, x := range v {
		e := math.Exp(float64(x - top))
		out[i] = float32(e)
		s += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / s)
	}
	return out
}
