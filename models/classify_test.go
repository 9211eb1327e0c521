package models_test

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/models"
)

// TestTop: softmax of logits (0, ln 2, ln 3) is (1/6, 2/6, 3/6) exactly;
// ties keep the lower index first; k is clamped to the classes.
func TestTop(t *testing.T) {
	got := models.Top([]float32{0, float32(math.Log(2)), float32(math.Log(3))}, true, []string{"a", "b", "c"}, 2)
	want := []models.Class{{"c", 2, 0.5}, {"b", 1, 1.0 / 3}}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Label != want[i].Label || got[i].Index != want[i].Index || math.Abs(float64(got[i].Prob-want[i].Prob)) > 1e-7 {
			t.Errorf("top[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	got = models.Top([]float32{0.3, 0.4, 0.3}, false, nil, 9)
	if fmt.Sprint(got) != "[{1 1 0.4} {0 0 0.3} {2 2 0.3}]" {
		t.Errorf("probabilities, k > classes: %v", got)
	}
	if got := models.Top(nil, true, nil, 3); got != nil {
		t.Errorf("no outputs: %v", got)
	}
}

// TestPreprocess: one pixel (255, 0, 51) scaled by 1/255 is (1, 0, 0.2);
// mean 0.5 and std 0.5 make it (1, -1, -0.6), reversed for BGR.
func TestPreprocess(t *testing.T) {
	px := func() *data.Image { return &data.Image{H: 1, W: 1, C: 3, Pix: []float32{255, 0, 51}} }
	in := weights.Input{Shape: []int{1, 1, 1, 3}, ChannelOrder: "RGB", Scale: 1.0 / 255,
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}}
	for _, tt := range []struct {
		order string
		want  []float32
	}{{"RGB", []float32{1, -1, -0.6}}, {"BGR", []float32{-0.6, -1, 1}}} {
		in.ChannelOrder = tt.order
		got, err := models.Preprocess(px(), in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tt.want {
			if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
				t.Errorf("%s: got %v, want %v", tt.order, got, tt.want)
				break
			}
		}
	}
	// A 2x2 image resized to the input's 1x1 averages it (bilinear).
	img := &data.Image{H: 2, W: 2, C: 1, Pix: []float32{0, 100, 200, 100}}
	got, err := models.Preprocess(img, weights.Input{Shape: []int{1, 1, 1, 1}, ChannelOrder: "GRAY"})
	if err != nil || len(got) != 1 || math.Abs(float64(got[0]-100)) > 1e-4 {
		t.Errorf("resize: %v %v, want [100]", got, err)
	}
	for _, shape := range [][]int{{1, 1, 1}, {2, 1, 1, 3}, {1, 1, 1, 4}} {
		if _, err := models.Preprocess(px(), weights.Input{Shape: shape}); err == nil {
			t.Errorf("input shape %v: no error", shape)
		}
	}
}

func ExampleTop() {
	logits := []float32{1, 3, 2}
	for _, c := range models.Top(logits, true, []string{"cat", "dog", "fox"}, 2) {
		fmt.Printf("%s %d %.3f\n", c.Label, c.Index, c.Prob)
	}
	// Output:
	// dog 1 0.665
	// fox 2 0.245
}
