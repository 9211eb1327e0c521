package data

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	// One pixel per row, three channels; (v - mean) / std by hand:
	// (0.5-0.5)/0.25 = 0, (0.25-0.5)/0.5 = -0.5, (1-0.5)/0.5 = 1;
	// (1-0.5)/0.25 = 2, (0-0.5)/0.5 = -1, (0.75-0.5)/0.5 = 0.5.
	img := &Image{H: 2, W: 1, C: 3, Pix: []float32{0.5, 0.25, 1, 1, 0, 0.75}}
	if err := Normalize(img, []float32{0.5, 0.5, 0.5}, []float32{0.25, 0.5, 0.5}); err != nil {
		t.Fatal(err)
	}
	want := []float32{0, -0.5, 1, 2, -1, 0.5}
	for i := range want {
		if img.Pix[i] != want[i] {
			t.Fatalf("Normalize = %v, want %v", img.Pix, want)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	img := NewImage(1, 1, 3)
	for _, tc := range []struct {
		mean, std []float32
		want      string
	}{
		{[]float32{0, 0}, []float32{1, 1, 1}, "2 means and 3 stds for 3 channels"},
		{[]float32{0, 0, 0}, []float32{1, 0, 1}, "std of channel 1 is 0"},
	} {
		err := Normalize(img, tc.mean, tc.std)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Normalize(%v, %v) error %v, want one containing %q", tc.mean, tc.std, err, tc.want)
		}
	}
}

func TestScale(t *testing.T) {
	// 8-bit values 0, 127.5, 255 mapped to [0, 1] and to [-1, 1]:
	// v/255 gives 0, 0.5, 1; 2v/255 - 1 gives -1, 0, 1 (float32 rounding
	// of 1/255 and 2/255 allows an error of a few ulps).
	for _, tc := range []struct {
		mul, add float32
		want     []float32
	}{
		{1.0 / 255, 0, []float32{0, 0.5, 1}},
		{2.0 / 255, -1, []float32{-1, 0, 1}},
	} {
		img := &Image{H: 1, W: 3, C: 1, Pix: []float32{0, 127.5, 255}}
		Scale(img, tc.mul, tc.add)
		for i := range tc.want {
			if math.Abs(float64(img.Pix[i]-tc.want[i])) > 1e-6 {
				t.Errorf("Scale(%v, %v) = %v, want %v", tc.mul, tc.add, img.Pix, tc.want)
				break
			}
		}
	}
}

func TestChannelMeans(t *testing.T) {
	// Images of different sizes, two channels: channel 0 holds 1, 3, 5 and
	// channel 1 holds 10, 20, 30 over the three pixels, so the means are
	// (1+3+5)/3 = 3 and (10+20+30)/3 = 20.
	a := &Image{H: 1, W: 1, C: 2, Pix: []float32{1, 10}}
	b := &Image{H: 1, W: 2, C: 2, Pix: []float32{3, 20, 5, 30}}
	got, err := ChannelMeans([]*Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 20 {
		t.Errorf("ChannelMeans = %v, want [3 20]", got)
	}
	_, err = ChannelMeans([]*Image{a, NewImage(1, 1, 3)})
	if err == nil || !strings.Contains(err.Error(), "image 1 has 3 channels, want 2") {
		t.Errorf("ChannelMeans of mixed channels: error %v", err)
	}
	if _, err := ChannelMeans(nil); err == nil {
		t.Error("ChannelMeans(nil): no error")
	}
}

func ExampleNormalize() {
	// One RGB pixel in [0, 255], scaled to [0, 1] and normalized with a
	// mean of 0.5 and a std of 0.25 per channel.
	img := &Image{H: 1, W: 1, C: 3, Pix: []float32{0, 127.5, 255}}
	Scale(img, 1.0/255, 0)
	if err := Normalize(img, []float32{0.5, 0.5, 0.5}, []float32{0.25, 0.25, 0.25}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.Pix)
	// Output:
	// [-2 0 2]
}
