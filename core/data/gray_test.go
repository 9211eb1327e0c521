package data

import (
	"math"
	"testing"

	"webcnn/core"
)

func TestGray(t *testing.T) {
	img := &Image{H: 1, W: 2, C: 3, Pix: []float32{10, 20, 30, 255, 0, 0}}
	// BT.601: 0.299*10 + 0.587*20 + 0.114*30 = 2.99 + 11.74 + 3.42 = 18.15;
	// 0.299*255 = 76.245.
	want := []float32{18.15, 76.245}
	got := img.Gray()
	if got.H != 1 || got.W != 2 || got.C != 1 {
		t.Fatalf("Gray: %s image, want 1x2x1", got.size())
	}
	for i, w := range want {
		if math.Abs(float64(got.Pix[i]-w)) > 1e-5 {
			t.Errorf("Gray pixel %d = %v, want %v", i, got.Pix[i], w)
		}
	}
	// Gray of a gray image, and of gray+alpha, is channel 0.
	ga := &Image{H: 1, W: 2, C: 2, Pix: []float32{5, 255, 9, 0}}
	if g := ToGray(ga); g.Pix[0] != 5 || g.Pix[1] != 9 {
		t.Errorf("ToGray(gray+alpha) = %v, want [5 9]", g.Pix)
	}
}

func TestToRGB(t *testing.T) {
	gray := &Image{H: 1, W: 2, C: 1, Pix: []float32{3, 7}}
	rgba := &Image{H: 1, W: 1, C: 4, Pix: []float32{1, 2, 3, 4}}
	for _, tc := range []struct {
		in   *Image
		want []float32
	}{
		{gray, []float32{3, 3, 3, 7, 7, 7}}, // channel repeated
		{rgba, []float32{1, 2, 3}},          // alpha dropped
	} {
		got := ToRGB(tc.in)
		if got.C != 3 || len(got.Pix) != len(tc.want) {
			t.Fatalf("ToRGB(%s): %s image", tc.in.size(), got.size())
		}
		for i := range tc.want {
			if got.Pix[i] != tc.want[i] {
				t.Errorf("ToRGB(%s) = %v, want %v", tc.in.size(), got.Pix, tc.want)
				break
			}
		}
	}
}

func TestShape(t *testing.T) {
	if got, want := NewImage(28, 14, 1).Shape(), (core.Shape{1, 28, 14, 1}); !got.Equal(want) {
		t.Errorf("Shape() = %v, want %v", got, want)
	}
}
