package models_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"webcnn/models"
)

// The lecture's VGG16 slide: ~15 M activations (~60 MB), 138 M parameters
// (~552 MB), ~612 MB for one forward pass, more than 1.1 GB with backprop.
func TestSummaryVGG16Lecture(t *testing.T) {
	spec, err := models.Lookup("vgg16")
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.Summarize(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Activations: the input 224*224*3 = 150,528; 13 conv outputs (ReLU in
	// place) 224²*64*2 + 112²*128*2 + 56²*256*3 + 28²*512*3 + 14²*512*3 =
	// 13,547,520; 5 pools 112²*64 + 56²*128 + 28²*256 + 14²*512 + 7²*512 =
	// 1,530,368; 3 FC outputs 4096+4096+1000 = 9,192: 15,237,608 in all.
	if s.Activations != 15_237_608 {
		t.Errorf("activations %d, want 15,237,608 (the lecture's ~15 M)", s.Activations)
	}
	if mb := float64(s.ParamBytes()) / 1e6; mb < 550 || mb > 556 {
		t.Errorf("parameter memory %.1f MB, the lecture says ~552 MB", mb)
	}
	if fw := float64(s.ForwardBytes()) / 1e6; fw < 600 || fw > 625 {
		t.Errorf("forward memory %.1f MB, the lecture says ~612 MB", fw)
	}
	if s.BackpropBytes() <= 1_100_000_000 {
		t.Errorf("backprop estimate %d bytes, the lecture says > 1.1 GB", s.BackpropBytes())
	}
	last := s.Rows[len(s.Rows)-1]
	var pool5 *struct{ size, jump int }
	for _, r := range s.Rows {
		if strings.HasPrefix(r.Kind, "MaxPool") {
			pool5 = &struct{ size, jump int }{r.Field.Size, r.Field.Jump}
		}
	}
	// Receptive field after pool5: 13 3x3 convs and 5 2x2/2 pools give
	// 1 -> 3,5 | 6 | 10,14 | 16 | 24,32,40 | 44 | 60,76,92 | 100 | 132,164,196 | 212, jump 32.
	if pool5 == nil || pool5.size != 212 || pool5.jump != 32 {
		t.Errorf("pool5 receptive field %+v, want size 212 jump 32", pool5)
	}
	if !last.Out.Equal([]int{1, 1000}) {
		t.Errorf("last row %v, want [1 1000]", last.Out)
	}
}

// AlexNet (torchvision): 11/4 -> 11, pool 3/2 -> 19, 5x5 -> 51, pool -> 67,
// three 3x3 -> 99, 131, 163, pool -> 195, jump 32; output sizes 55, 27,
// 27, 13, 13, 13, 13, 6 as on the lecture's slides.
func TestSummaryAlexNet(t *testing.T) {
	spec, err := models.Lookup("alexnet")
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.Summarize(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	field := 0
	for _, r := range s.Rows {
		if r.Out.Rank() == 4 && !r.InPlace {
			sizes = append(sizes, r.Out[1])
			field = r.Field.Size
		}
	}
	want := []int{55, 27, 27, 13, 13, 13, 13, 6}
	if len(sizes) != len(want) || field != 195 {
		t.Fatalf("spatial sizes %v field %d, want %v and 195", sizes, field, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Errorf("layer %d size %d, want %d", i, sizes[i], want[i])
		}
	}
}

func TestSummaryJSONAndText(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	s, err := models.Summarize(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Params          int64             `json:"params"`
		MACs            int64             `json:"macs"`
		ActivationBytes int64             `json:"activation_bytes"`
		Layers          []json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// LeNet-5 MACs by hand: conv1 24*24*6*25 = 86,400; conv2 8*8*16*150 =
	// 153,600; fc 256*120 + 120*84 + 84*10 = 41,640; total 281,640.
	if got.Params != 44426 || got.MACs != 281640 || len(got.Layers) != 8 {
		t.Errorf("json params %d macs %d layers %d, want 44426, 281640, 8", got.Params, got.MACs, len(got.Layers))
	}
	// Activations: input 784 + 3456 + 864 + 1024 + 256 + 120 + 84 + 10 = 6,598 values.
	if got.ActivationBytes != 4*6598 {
		t.Errorf("activation bytes %d, want %d", got.ActivationBytes, 4*6598)
	}
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "conv2") || !strings.Contains(buf.String(), "44426") {
		t.Errorf("text summary lacks rows or totals:\n%s", buf.String())
	}
}
