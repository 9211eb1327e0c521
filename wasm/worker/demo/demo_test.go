package demo

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"golang.org/x/image/webp"
)

// TestWebPRoundTrip decodes EncodeWebP's output with x/image/webp and
// compares every pixel: the encoding is lossless.
func TestWebPRoundTrip(t *testing.T) {
	for name, pic := range Pictures() {
		var b bytes.Buffer
		if err := EncodeWebP(&b, pic); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := webp.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if got.Bounds() != pic.Bounds() {
			t.Fatalf("%s: bounds %v, want %v", name, got.Bounds(), pic.Bounds())
		}
		for y := 0; y < pic.Bounds().Dy(); y++ {
			for x := 0; x < pic.Bounds().Dx(); x++ {
				g := color.NRGBAModel.Convert(got.At(x, y))
				w := color.NRGBAModel.Convert(pic.At(x, y))
				if g != w {
					t.Fatalf("%s: pixel (%d,%d) = %v, want %v", name, x, y, g, w)
				}
			}
		}
	}
}

// TestSamplesDecode checks that every sample decodes to its picture's size
// with the standard decoders the Worker registers.
func TestSamplesDecode(t *testing.T) {
	ss, err := Samples()
	if err != nil {
		t.Fatal(err)
	}
	pics := Pictures()
	for _, s := range ss {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(s.Body))
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		name := s.Name[:bytes.IndexByte([]byte(s.Name), '.')]
		if b := pics[name].Bounds(); cfg.Width != b.Dx() || cfg.Height != b.Dy() {
			t.Errorf("%s: %dx%d, want %dx%d", s.Name, cfg.Width, cfg.Height, b.Dx(), b.Dy())
		}
	}
}
