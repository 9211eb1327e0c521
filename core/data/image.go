package data

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"

	"webcnn/core"
)

// Image is one picture as float32 samples in HWC order: the sample of row y,
// column x and channel c is Pix[(y*W+x)*C+c]. Decode and FromImage give
// C = 3 (RGB) with values in [0, 255]; Normalize and Scale rescale in place.
type Image struct {
	H, W, C int
	Pix     []float32
}

// NewImage returns a zeroed image of h rows, w columns and c channels.
func NewImage(h, w, c int) *Image {
	return &Image{H: h, W: w, C: c, Pix: make([]float32, h*w*c)}
}

// Shape is the image as an NHWC batch of one: [1, H, W, C].
func (m *Image) Shape() core.Shape { return core.Shape{1, m.H, m.W, m.C} }

// Clone returns a copy that does not share Pix with m.
func (m *Image) Clone() *Image {
	c := *m
	c.Pix = append([]float32(nil), m.Pix...)
	return &c
}

// size formats the extents for error messages, e.g. "2x3x1" for H=2, W=3, C=1.
func (m *Image) size() string { return fmt.Sprintf("%dx%dx%d", m.H, m.W, m.C) }

// check reports an error when the extents are not positive or Pix does not
// hold exactly H*W*C samples.
func (m *Image) check() error {
	if m == nil {
		return errors.New("nil image")
	}
	if m.H <= 0 || m.W <= 0 || m.C <= 0 {
		return fmt.Errorf("image %s has a non-positive extent", m.size())
	}
	if len(m.Pix) != m.H*m.W*m.C {
		return fmt.Errorf("image %s has %d samples, want %d", m.size(), len(m.Pix), m.H*m.W*m.C)
	}
	return nil
}

// Decode reads a PNG, JPEG, GIF or WebP picture and returns it as RGB
// (C = 3, values in [0, 255], alpha dropped) together with the format name
// ("png", "jpeg", "gif", "webp"). An unknown format gives an error wrapping
// image.ErrFormat.
func Decode(r io.Reader) (*Image, string, error) {
	m, format, err := image.Decode(r)
	if err != nil {
		return nil, format, fmt.Errorf("data: decode image: %w", err)
	}
	return FromImage(m), format, nil
}

// FromImage converts a Go image to RGB float32 samples in [0, 255]. Alpha is
// dropped, not composited: a translucent pixel keeps its straight
// (non-premultiplied) color, as PIL's convert("RGB") does. 8-bit sources give
// whole numbers; 16-bit sources keep their precision as v/257.
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	m := NewImage(b.Dy(), b.Dx(), 3)
	at := pixel(src)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = at(x, y)
			i += 3
		}
	}
	return m
}

// pixel returns a function giving the straight color at (x, y). The common
// decoder outputs (NRGBA from PNG and lossless WebP, opaque RGBA from PNG,
// YCbCr from JPEG and lossy WebP) are read without boxing each pixel in a
// color.Color; the results equal rgb(src.At(x, y)).
func pixel(src image.Image) func(x, y int) (r, g, b float32) {
	switch s := src.(type) {
	case *image.NRGBA:
		return func(x, y int) (r, g, b float32) {
			p := s.Pix[s.PixOffset(x, y):]
			return float32(p[0]), float32(p[1]), float32(p[2])
		}
	case *image.RGBA:
		return func(x, y int) (r, g, b float32) {
			p := s.Pix[s.PixOffset(x, y):]
			if p[3] != 0xff {
				return rgb(s.RGBAAt(x, y))
			}
			return float32(p[0]), float32(p[1]), float32(p[2])
		}
	case *image.YCbCr:
		return func(x, y int) (r, g, b float32) { return ycc(s.YCbCrAt(x, y)) }
	}
	return func(x, y int) (r, g, b float32) { return rgb(src.At(x, y)) }
}

// rgb returns the straight color of c in [0, 255].
func rgb(c color.Color) (r, g, b float32) {
	switch c := c.(type) {
	case color.NRGBA:
		return float32(c.R), float32(c.G), float32(c.B)
	case color.YCbCr:
		return ycc(c)
	case color.NYCbCrA:
		return ycc(c.YCbCr)
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return float32(n.R) / 257, float32(n.G) / 257, float32(n.B) / 257
}

// ycc converts with the standard library's 8-bit JFIF formula, so JPEG and
// lossy WebP pixels are whole numbers like a libjpeg decoder's.
func ycc(c color.YCbCr) (r, g, b float32) {
	r8, g8, b8 := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	return float32(r8), float32(g8), float32(b8)
}
