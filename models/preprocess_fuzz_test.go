package models_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/models"
)

// FuzzPreprocess feeds untrusted picture bytes through what `cnn predict
// --image` and the Worker do with an upload: decode (PNG, JPEG, GIF,
// WebP), then models.Preprocess into a model's input (gray or RGB or BGR,
// each resize convention, mean/std). A bad picture is an error, never a
// panic, and a good one gives exactly the input's number of finite values.
// Pictures over a megapixel are skipped, as the Worker's decode budget
// refuses them before decoding.
func FuzzPreprocess(f *testing.F) {
	for _, b := range previewSeeds(f) {
		f.Add(b, uint8(0))
		f.Add(b, uint8(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, mode uint8) {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > 1<<20 {
			return
		}
		img, _, err := data.Decode(bytes.NewReader(raw))
		if err != nil {
			return
		}
		in := weights.Input{Shape: []int{1, 7, 5, 3}, ChannelOrder: "RGB", Scale: 1.0 / 255,
			Mean: []float32{0.5, 0.4, 0.3}, Std: []float32{0.2, 0.25, 0.3}}
		switch mode % 3 {
		case 1:
			in.ChannelOrder = "BGR"
		case 2:
			in = weights.Input{Shape: []int{1, 4, 9, 1}, ChannelOrder: "GRAY", Scale: 1}
		}
		in.Resize = []string{"", "align_corners", "asymmetric"}[mode/3%3]
		x, err := models.Preprocess(img, in)
		if err != nil {
			t.Fatalf("a decoded %dx%d picture did not preprocess: %v", img.W, img.H, err)
		}
		want := in.Shape[1] * in.Shape[2] * in.Shape[3]
		if len(x) != want {
			t.Fatalf("%d values, want %d", len(x), want)
		}
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
	})
}

// previewSeeds are small pictures of each format and depth Decode reads.
func previewSeeds(f *testing.F) [][]byte {
	rgba := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	g16 := image.NewGray16(image.Rect(0, 0, 3, 5))
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	for y := 0; y < 5; y++ {
		for x := 0; x < 6; x++ {
			rgba.Set(x, y, color.NRGBA{uint8(40 * x), uint8(60 * y), 128, uint8(255 - 30*x)})
			g16.Set(x, y, color.Gray16{uint16(9000 * (x + y))})
			pal.SetColorIndex(x, y, uint8((x+y)%2))
		}
	}
	var out [][]byte
	for _, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return png.Encode(b, rgba) },
		func(b *bytes.Buffer) error { return png.Encode(b, g16) },
		func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, nil) },
		func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}
