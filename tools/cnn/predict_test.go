package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// predict folds the batch norms of a zoo model before running it: a
// MobileNetV3-Small with random weights and batch norms far from the
// identity (gamma in [0.5, 1.5], beta and mean in [-0.5, 0.5], var in
// [0.5, 2]), written as a manifest, gives through `cnn predict --raw` the
// logits that the network as built gives (within 1e-4 of the largest:
// float32 rounding of the folded weights).
func TestPredictFoldsBatchNorm(t *testing.T) {
	spec, err := models.Lookup("mobilenet_v3_small")
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	net, err := spec.New(nn.NewBuilder(b, 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := core.NewRNG(6)
	var tensors []weights.Tensor
	for _, p := range net.Params() {
		v, err := p.T.Data()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := float32(0), float32(0)
		switch {
		case p.T.Shape().Rank() > 1: // conv and linear weights keep their He values
		case strings.HasSuffix(p.Name, ".running_mean"), strings.HasSuffix(p.Name, ".bias"):
			lo, hi = -0.5, 0.5
		case strings.HasSuffix(p.Name, ".running_var"):
			lo, hi = 0.5, 2
		default: // batch norm gammas
			lo, hi = 0.5, 1.5
		}
		if hi > lo {
			for i := range v {
				v[i] = lo + (hi-lo)*rng.Float32()
			}
			if err := b.Write(p.T.Buffer(), 0, v); err != nil {
				t.Fatal(err)
			}
		}
		tensors = append(tensors, weights.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: v})
	}
	dir := t.TempDir()
	man := &weights.Manifest{Format: weights.Version, Model: "mobilenet_v3_small-random", Arch: &weights.Arch{ID: spec.ID},
		Input: weights.Input{Shape: spec.Input, ChannelOrder: "RGB", Scale: 1}}
	if err := weights.WriteModel(filepath.Join(dir, "model"), weights.WriterOptions{}, man, tensors, nil); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, spec.Input.Size())
	raw := make([]byte, 4*len(x))
	for i := range x {
		x[i] = rng.NormFloat32()
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x[i]))
	}
	if err := os.WriteFile(filepath.Join(dir, "x.f32"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := nn.Infer(b, net, spec.Input, x)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := predict(&out, []string{"--model", filepath.Join(dir, "model"), "--raw", filepath.Join(dir, "x.f32"), "--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Output []float32 }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Output) != len(want) {
		t.Fatalf("predict gives %d logits, want %d", len(got.Output), len(want))
	}
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got.Output[i]-want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if diff > 1e-4*scale {
		t.Errorf("predict's logits differ from the built network's by %.3g (largest %.3g), want <= 1e-4 relative", diff, scale)
	}
	if diff == 0 {
		t.Errorf("predict's logits equal the unfolded network's bit for bit: were the batch norms folded?")
	}
}

// TestPredictJSONNotFinite: outputs that are NaN or infinite (a diverged
// model, or such an input) still make valid JSON, with the strings "NaN",
// "Infinity" and "-Infinity" for those values.
func TestPredictJSONNotFinite(t *testing.T) {
	dir := t.TempDir()
	graph := []byte(`{"inputs": ["x"], "outputs": ["y"], "nodes": [{"op": "identity", "name": "id", "inputs": ["x"], "outputs": ["y"]}]}`)
	man := &weights.Manifest{Format: weights.Version, Model: "identity", Graph: graph, Input: weights.Input{Shape: []int{1, 4}}, Output: weights.Probabilities}
	if err := weights.WriteModel(filepath.Join(dir, "model"), weights.WriterOptions{}, man, nil, nil); err != nil {
		t.Fatal(err)
	}
	x := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0.5}
	raw := make([]byte, 16)
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "x.f32"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := predict(&out, []string{"--model", filepath.Join(dir, "model"), "--raw", filepath.Join(dir, "x.f32"), "--json", "--topk", "4"}); err != nil {
		t.Fatalf("predict --json of NaN and infinities: %v", err)
	}
	var got struct {
		Output []any
		Top    []struct {
			Label string
			Index int
			Prob  any
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("predict --json wrote %q: %v", out.String(), err)
	}
	want := []any{"NaN", "Infinity", "-Infinity", 0.5}
	if fmt.Sprint(got.Output) != fmt.Sprint(want) {
		t.Errorf("output %v, want %v", got.Output, want)
	}
	if len(got.Top) != 4 {
		t.Fatalf("top %+v, want 4 classes", got.Top)
	}
	for _, c := range got.Top {
		if w := want[c.Index]; fmt.Sprint(c.Prob) != fmt.Sprint(w) {
			t.Errorf("class %d: prob %v, want %v (the output is probabilities)", c.Index, c.Prob, w)
		}
	}
}
