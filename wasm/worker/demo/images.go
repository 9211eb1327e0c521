package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
)

// Sample is an encoded test image.
type Sample struct {
	Name        string // "rings.png"
	ContentType string // "image/png"
	Body        []byte
}

// Pictures are generated test pictures: smooth, so that lossy and
// palette encodings keep their content. Sizes differ from the models'
// inputs, so every request resizes.
func Pictures() map[string]image.Image {
	return map[string]image.Image{
		"gradient": draw(64, 48, func(x, y float64) (r, g, b float64) { return x, y, 1 - x }),
		"rings": draw(80, 80, func(x, y float64) (r, g, b float64) {
			d := math.Hypot(x-0.5, y-0.5)
			return 0.5 + 0.5*math.Sin(d*30), 0.5 + 0.5*math.Cos(d*20), d
		}),
		"checker": draw(56, 56, func(x, y float64) (r, g, b float64) {
			v := 0.5 + 0.5*math.Sin(x*6*math.Pi)*math.Sin(y*6*math.Pi)
			return v, 1 - v, 0.5
		}),
		"bar": draw(28, 28, func(x, y float64) (r, g, b float64) { // a stroke like a "1"
			v := math.Exp(-math.Pow((x-0.5)/0.08, 2))
			return v, v, v
		}),
	}
}

// draw makes a w x h picture from f, which maps coordinates in [0, 1] to
// channels in [0, 1].
func draw(w, h int, f func(x, y float64) (r, g, b float64)) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	q := func(v float64) uint8 { return uint8(math.Round(255 * math.Max(0, math.Min(1, v)))) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := f(float64(x)/float64(w-1), float64(y)/float64(h-1))
			img.SetNRGBA(x, y, color.NRGBA{q(r), q(g), q(b), 255})
		}
	}
	return img
}

// Formats are the encoders of the content types the Worker accepts.
var Formats = []struct {
	Ext, ContentType string
	Encode           func(*bytes.Buffer, image.Image) error
}{
	{"png", "image/png", func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }},
	{"jpg", "image/jpeg", func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 92}) }},
	{"gif", "image/gif", func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }},
	{"webp", "image/webp", func(b *bytes.Buffer, m image.Image) error { return EncodeWebP(b, m) }},
}

// Samples encodes every picture in every format, in a stable order.
func Samples() ([]Sample, error) {
	pics := Pictures()
	var out []Sample
	for _, name := range []string{"bar", "checker", "gradient", "rings"} {
		for _, f := range Formats {
			var b bytes.Buffer
			if err := f.Encode(&b, pics[name]); err != nil {
				return nil, fmt.Errorf("demo: %s.%s: %w", name, f.Ext, err)
			}
			out = append(out, Sample{Name: name + "." + f.Ext, ContentType: f.ContentType, Body: b.Bytes()})
		}
	}
	return out, nil
}
