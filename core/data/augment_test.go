package data

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

func img(h, w, c int, v ...float32) *Image { return &Image{H: h, W: w, C: c, Pix: v} }

func approx(t *testing.T, what string, got *Image, want ...float32) {
	t.Helper()
	if len(got.Pix) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got.Pix), len(want))
	}
	for i := range want {
		if math.Abs(float64(got.Pix[i]-want[i])) > 1e-4 {
			t.Errorf("%s = %v, want %v", what, got.Pix, want)
			return
		}
	}
}

// ramp3 is the 3x3 image 1..9 row by row.
var ramp3 = img(3, 3, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9)

func TestGeometric(t *testing.T) {
	// Rotating by 90 degrees counter-clockwise maps pixel centres onto
	// pixel centres (numpy's rot90): the right column becomes the top row.
	approx(t, "rotate 90", Rotate(ramp3, 90, 0), 3, 6, 9, 2, 5, 8, 1, 4, 7)
	approx(t, "rotate -90", Rotate(ramp3, -90, 0), 7, 4, 1, 8, 5, 2, 9, 6, 3)
	approx(t, "hflip", HFlip(img(1, 3, 2, 1, 2, 3, 4, 5, 6)), 5, 6, 3, 4, 1, 2)
	// One pixel right and one down, fill 0.
	approx(t, "translate (1, 1)", Translate(ramp3, 1, 1, 0), 0, 0, 0, 0, 1, 2, 0, 4, 5)
	// Half a pixel right: each sample averages itself and its left
	// neighbour; the first column blends with the fill 10: (10+1)/2.
	approx(t, "translate 0.5", Translate(img(1, 3, 1, 2, 4, 6), 0.5, 0, 10), 6, 3, 5)
	// Scale 2 about the centre (1.5, 1.5): output centre (0.5, 0.5) reads
	// the source at (1, 1), the midpoint of pixels 1, 2, 4, 5: 3.
	approx(t, "scale 2", img(1, 1, 1, Affine{Scale: 2}.Apply(ramp3, 0).Pix[0]), 3)
	// Shear by 45 degrees along x maps (dx, dy) to (dx + dy, dy) about the
	// centre: the centre row (dy = 0) stays, the top row (dy = -1) reads
	// one pixel to its right (fill beyond), the bottom row one to its left.
	sh := Affine{ShearX: 45}.Apply(ramp3, 0)
	approx(t, "shear x 45", sh, 2, 3, 0, 4, 5, 6, 0, 7, 8)
}

func TestLens(t *testing.T) {
	// A horizontal ramp (value = column) samples exactly under bilinear
	// interpolation. 5x5, centre (2.5, 2.5), corners at radius^2 12.5. The
	// pixel of row 2, column 4 (centre (4.5, 2.5)) has r^2 = 4/12.5 = 0.32;
	// with k = -0.5 it reads x = 2.5 + 2*(1 - 0.16) = 4.18, column 3.68.
	r := NewImage(5, 5, 1)
	for i := range r.Pix {
		r.Pix[i] = float32(i % 5)
	}
	out := Lens(r, -0.5, 0)
	if got := out.Pix[2*5+4]; math.Abs(float64(got)-3.68) > 1e-5 {
		t.Errorf("lens(-0.5) at (4, 2) = %v, want 3.68", got)
	}
	if got := out.Pix[2*5+2]; got != 2 {
		t.Errorf("lens at the centre pixel (2, 2) = %v, want 2 (its centre is the image centre)", got)
	}
	approx(t, "lens k=0", Lens(ramp3, 0, 0), ramp3.Pix...)
}

func TestColor(t *testing.T) {
	g2 := img(1, 2, 1, 100, 200)
	approx(t, "brightness 0.5", Brightness(g2, 0.5), 50, 100)
	approx(t, "brightness 2 (clipped)", Brightness(g2, 2), 200, 255)
	// Mean 150: 150 + 2*(100-150), 150 + 2*(200-150).
	approx(t, "contrast 2", Contrast(g2, 2), 50, 250)
	approx(t, "contrast 0", Contrast(g2, 0), 150, 150)
	// Luma of (100, 150, 200) = 29.9 + 88.05 + 22.8 = 140.75.
	rgb := img(1, 1, 3, 100, 150, 200)
	approx(t, "saturation 0", Saturation(rgb, 0), 140.75, 140.75, 140.75)
	approx(t, "saturation 2", Saturation(rgb, 2), 59.25, 159.25, 255)
	approx(t, "saturation of gray", Saturation(g2, 0), 100, 200)
}

func TestRandAugmentOps(t *testing.T) {
	approx(t, "solarize 128", Solarize(img(1, 3, 1, 10, 128, 250), 128), 10, 127, 5)
	// 3 bits: multiples of 32.
	approx(t, "posterize 3", Posterize(img(1, 3, 1, 31, 32, 255), 3), 0, 32, 224)
	approx(t, "autocontrast", AutoContrast(img(1, 3, 1, 50, 100, 150)), 0, 127.5, 255)
	// 4 samples at levels 0, 0, 100, 200: total 4, last level's count 1,
	// step = 3/255 = 0: unchanged. With 256 samples of 0 and 256 of 255:
	// step = 256/255 = 1, lut[0] = 0, lut[255] = (0 + 256)/1 -> 255.
	e := img(1, 4, 1, 0, 0, 100, 200)
	approx(t, "equalize step 0", Equalize(e), 0, 0, 100, 200)
	big := NewImage(2, 256, 1)
	for i := 256; i < 512; i++ {
		big.Pix[i] = 255
	}
	if q := Equalize(big); q.Pix[0] != 0 || q.Pix[300] != 255 {
		t.Errorf("equalize of two levels: %v, %v, want 0, 255", q.Pix[0], q.Pix[300])
	}
	// A ramp 0..255 over 256 pixels, twice: step = (512-2)/255 = 2, lut[l]
	// = (1 + 2l)/2 = l: a flat histogram is already equal.
	flat := NewImage(2, 256, 1)
	for i := range flat.Pix {
		flat.Pix[i] = float32(i % 256)
	}
	approx(t, "equalize flat", Equalize(flat), flat.Pix...)
	// Sharpness of a 3x3 image: only the centre changes; smooth = (45 -
	// 5 + 25)/13 = 5 for the ramp, so any factor keeps 5; on an image with
	// a bright centre 13 (others 0) smooth = 5, f = 2 gives 5 + 2*8 = 21.
	dot := img(3, 3, 1, 0, 0, 0, 0, 13, 0, 0, 0, 0)
	approx(t, "sharpness 2", Sharpness(dot, 2), 0, 0, 0, 0, 21, 0, 0, 0, 0)
	approx(t, "sharpness 0", Sharpness(dot, 0), 0, 0, 0, 0, 5, 0, 0, 0, 0)
}

func TestRandomAugmentationsReproducible(t *testing.T) {
	src := NewImage(8, 8, 3)
	for i := range src.Pix {
		src.Pix[i] = float32((i * 37) % 256)
	}
	run := func(seed uint64) string {
		g := core.NewRNG(seed)
		a := RandomAffine{Degrees: 10, Translate: 2, ScaleMin: 0.9, ScaleMax: 1.1, Shear: 5}.Apply(src, g)
		b := ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4}.Apply(a, g)
		c, err := RandomResizedCrop{H: 6, W: 6}.Apply(b, g)
		if err != nil {
			t.Fatal(err)
		}
		d := RandomLens(RandomHFlip(c, 0.5, g), 0.3, 0, g)
		e, names := RandAugment{N: 2, M: 9}.Apply(d, g)
		return fmt.Sprint(e.Pix, names)
	}
	if run(1) != run(1) {
		t.Error("the same seed gave different augmentations")
	}
	if run(1) == run(2) {
		t.Error("different seeds gave the same augmentations")
	}
}

// TestRandomResizedCropWhole: with scale and ratio fixed at 1 on a square
// image the crop is the whole image, and resizing to the same size is
// exact.
func TestRandomResizedCropWhole(t *testing.T) {
	out, err := RandomResizedCrop{H: 3, W: 3, ScaleMin: 1, ScaleMax: 1, RatioMin: 1, RatioMax: 1}.Apply(ramp3, core.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	approx(t, "whole crop", out, ramp3.Pix...)
	// Half the area, ratio 1: a 2x2 window (round(sqrt(4.5)) = 2) of the
	// 3x3 ramp, resized to 1x1 by bilinear at the window's centre: the mean
	// of its four pixels.
	out, err = RandomResizedCrop{H: 1, W: 1, ScaleMin: 0.5, ScaleMax: 0.5, RatioMin: 1, RatioMax: 1}.Apply(ramp3, core.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, m := range []float32{3, 4, 6, 7} { // (1+2+4+5)/4, (2+3+5+6)/4, ...
		ok = ok || out.Pix[0] == m
	}
	if !ok {
		t.Errorf("half-area crop resized to 1x1 = %v, want the mean of a 2x2 window (3, 4, 6 or 7)", out.Pix[0])
	}
}
