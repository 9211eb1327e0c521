package data

import (
	"strings"
	"testing"
)

func TestMeanImage(t *testing.T) {
	// Three 1x2x1 images; sample-wise means (0+3+9)/3 = 4 and
	// (6+6+9)/3 = 7.
	imgs := []*Image{
		{H: 1, W: 2, C: 1, Pix: []float32{0, 6}},
		{H: 1, W: 2, C: 1, Pix: []float32{3, 6}},
		{H: 1, W: 2, C: 1, Pix: []float32{9, 9}},
	}
	mean, err := MeanImage(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if mean.H != 1 || mean.W != 2 || mean.C != 1 || mean.Pix[0] != 4 || mean.Pix[1] != 7 {
		t.Fatalf("MeanImage = %s %v, want 1x2x1 [4 7]", mean.size(), mean.Pix)
	}
	// 9 - 4 = 5, 9 - 7 = 2.
	if err := SubtractMean(imgs[2], mean); err != nil {
		t.Fatal(err)
	}
	if imgs[2].Pix[0] != 5 || imgs[2].Pix[1] != 2 {
		t.Errorf("SubtractMean = %v, want [5 2]", imgs[2].Pix)
	}
}

func TestMeanImageErrors(t *testing.T) {
	a, b := NewImage(2, 2, 3), NewImage(4, 4, 3)
	if _, err := MeanImage([]*Image{a, b}); err == nil || !strings.Contains(err.Error(), "mean image: image 1 is 4x4x3, want 2x2x3") {
		t.Errorf("MeanImage of mixed sizes: error %v", err)
	}
	if _, err := MeanImage(nil); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("MeanImage(nil): error %v", err)
	}
	if err := SubtractMean(b, a); err == nil || !strings.Contains(err.Error(), "image is 4x4x3, mean is 2x2x3") {
		t.Errorf("SubtractMean of mismatched sizes: error %v", err)
	}
}
