package data

import (
	"fmt"
	"math"

	"webcnn/core"
)

// Random augmentations draw their parameters from a *core.RNG, so a seed
// reproduces a whole training run's inputs on every platform.

// uniform returns a value uniform in [lo, hi).
func uniform(g *core.RNG, lo, hi float64) float64 { return lo + (hi-lo)*float64(g.Float32()) }

// RandomAffine draws one Affine per image: rotation uniform in
// [-Degrees, Degrees], translation uniform in [-Translate, Translate]
// pixels on each axis, scale uniform in [ScaleMin, ScaleMax] (0 0: no
// scaling) and horizontal shear uniform in [-Shear, Shear] degrees.
type RandomAffine struct {
	Degrees, Translate, ScaleMin, ScaleMax, Shear float64
	Fill                                          float32
}

// Draw returns the transform for the next image.
func (r RandomAffine) Draw(g *core.RNG) Affine {
	a := Affine{Scale: 1}
	a.Rotate = uniform(g, -r.Degrees, r.Degrees)
	a.TX = uniform(g, -r.Translate, r.Translate)
	a.TY = uniform(g, -r.Translate, r.Translate)
	if r.ScaleMax > 0 {
		a.Scale = uniform(g, r.ScaleMin, r.ScaleMax)
	}
	a.ShearX = uniform(g, -r.Shear, r.Shear)
	return a
}

// Apply transforms img by a freshly drawn Affine.
func (r RandomAffine) Apply(img *Image, g *core.RNG) *Image { return r.Draw(g).Apply(img, r.Fill) }

// RandomHFlip mirrors img with probability p (a copy either way).
func RandomHFlip(img *Image, p float64, g *core.RNG) *Image {
	if float64(g.Float32()) < p {
		return HFlip(img)
	}
	return img.Clone()
}

// RandomLens applies Lens with k uniform in [-k, k].
func RandomLens(img *Image, k float64, fill float32, g *core.RNG) *Image {
	return Lens(img, uniform(g, -k, k), fill)
}

// ColorJitter changes brightness, contrast and saturation by factors
// drawn uniformly in [1-x, 1+x] (x = 0: that change is skipped), applied
// in a random order, as torchvision's ColorJitter without hue.
type ColorJitter struct{ Brightness, Contrast, Saturation float64 }

// Apply returns the jittered image.
func (j ColorJitter) Apply(img *Image, g *core.RNG) *Image {
	ops := []struct {
		x float64
		f func(*Image, float64) *Image
	}{{j.Brightness, Brightness}, {j.Contrast, Contrast}, {j.Saturation, Saturation}}
	for i := len(ops) - 1; i > 0; i-- { // Fisher-Yates
		k := g.IntN(i + 1)
		ops[i], ops[k] = ops[k], ops[i]
	}
	out := img
	for _, o := range ops {
		if o.x > 0 {
			out = o.f(out, uniform(g, 1-o.x, 1+o.x))
		}
	}
	if out == img {
		return img.Clone()
	}
	return out
}

// Crop returns the h x w window of img whose top-left pixel is (top, left).
func Crop(img *Image, top, left, h, w int) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, fmt.Errorf("data: crop: %w", err)
	}
	if h <= 0 || w <= 0 || top < 0 || left < 0 || top+h > img.H || left+w > img.W {
		return nil, fmt.Errorf("data: crop %dx%d at (%d, %d) out of image %s", h, w, top, left, img.size())
	}
	out := NewImage(h, w, img.C)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w*img.C:][:w*img.C], img.Pix[((top+y)*img.W+left)*img.C:])
	}
	return out, nil
}

// RandomResizedCrop is the Inception crop (torchvision's
// RandomResizedCrop): a window of a random area fraction in
// [ScaleMin, ScaleMax] of the image and a random aspect ratio (log-uniform
// in [RatioMin, RatioMax]), resized bilinearly to H x W. After ten draws
// that do not fit it falls back to the largest centred window with a ratio
// in range. Zero fields take torchvision's defaults (0.08-1, 3/4-4/3).
type RandomResizedCrop struct {
	H, W                                   int
	ScaleMin, ScaleMax, RatioMin, RatioMax float64
}

// Apply crops and resizes img.
func (c RandomResizedCrop) Apply(img *Image, g *core.RNG) (*Image, error) {
	if c.ScaleMax == 0 {
		c.ScaleMin, c.ScaleMax = 0.08, 1
	}
	if c.RatioMax == 0 {
		c.RatioMin, c.RatioMax = 3.0/4, 4.0/3
	}
	area := float64(img.H * img.W)
	for range 10 {
		target := area * uniform(g, c.ScaleMin, c.ScaleMax)
		ratio := math.Exp(uniform(g, math.Log(c.RatioMin), math.Log(c.RatioMax)))
		w := int(math.Round(math.Sqrt(target * ratio)))
		h := int(math.Round(math.Sqrt(target / ratio)))
		if w > 0 && h > 0 && w <= img.W && h <= img.H {
			top, left := g.IntN(img.H-h+1), g.IntN(img.W-w+1)
			cr, err := Crop(img, top, left, h, w)
			if err != nil {
				return nil, err
			}
			return Resize(cr, c.H, c.W, Bilinear)
		}
	}
	h, w := img.H, img.W
	if r := float64(w) / float64(h); r < c.RatioMin {
		h = int(math.Round(float64(w) / c.RatioMin))
	} else if r > c.RatioMax {
		w = int(math.Round(float64(h) * c.RatioMax))
	}
	cr, err := CenterCrop(img, h, w)
	if err != nil {
		return nil, err
	}
	return Resize(cr, c.H, c.W, Bilinear)
}
