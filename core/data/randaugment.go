package data

import (
	"math"

	"webcnn/core"
)

// RandAugmentOp is one operation of RandAugment: Apply transforms img at
// a magnitude m in [0, 1] (M/30) with a sign for the symmetric ops.
type RandAugmentOp struct {
	Name  string
	Apply func(img *Image, m float64, fill float32) *Image
	// Signed ops are applied with +m or -m at random.
	Signed bool
}

// RandAugmentOps are torchvision's fourteen RandAugment operations with
// its magnitude ranges (31 bins: m = M/30): shear up to 0.3, translation
// up to 150/331 of the size, rotation up to 30 degrees, enhancement
// factors 1 +- 0.9m, posterize to 8 - round(4m) bits, solarize above
// 255(1 - m).
var RandAugmentOps = []RandAugmentOp{
	{"Identity", func(img *Image, _ float64, _ float32) *Image { return img.Clone() }, false},
	{"ShearX", func(img *Image, m float64, fill float32) *Image {
		return Affine{ShearX: math.Atan(0.3*m) * 180 / math.Pi}.Apply(img, fill)
	}, true},
	{"ShearY", func(img *Image, m float64, fill float32) *Image {
		return Affine{ShearY: math.Atan(0.3*m) * 180 / math.Pi}.Apply(img, fill)
	}, true},
	{"TranslateX", func(img *Image, m float64, fill float32) *Image {
		return Translate(img, 150.0/331*float64(img.W)*m, 0, fill)
	}, true},
	{"TranslateY", func(img *Image, m float64, fill float32) *Image {
		return Translate(img, 0, 150.0/331*float64(img.H)*m, fill)
	}, true},
	{"Rotate", func(img *Image, m float64, fill float32) *Image { return Rotate(img, 30*m, fill) }, true},
	{"Brightness", func(img *Image, m float64, _ float32) *Image { return Brightness(img, 1+0.9*m) }, true},
	{"Color", func(img *Image, m float64, _ float32) *Image { return Saturation(img, 1+0.9*m) }, true},
	{"Contrast", func(img *Image, m float64, _ float32) *Image { return Contrast(img, 1+0.9*m) }, true},
	{"Sharpness", func(img *Image, m float64, _ float32) *Image { return Sharpness(img, 1+0.9*m) }, true},
	{"Posterize", func(img *Image, m float64, _ float32) *Image { return Posterize(img, 8-int(math.Round(4*m))) }, false},
	{"Solarize", func(img *Image, m float64, _ float32) *Image { return Solarize(img, 255*(1-m)) }, false},
	{"AutoContrast", func(img *Image, _ float64, _ float32) *Image { return AutoContrast(img) }, false},
	{"Equalize", func(img *Image, _ float64, _ float32) *Image { return Equalize(img) }, false},
}

// RandAugment (Cubuk et al. 2020; the ResNet-RS recipe) applies N
// operations drawn uniformly, with replacement, from RandAugmentOps, each
// at magnitude M out of 30.
type RandAugment struct {
	N    int
	M    float64
	Fill float32
}

// Apply returns the augmented image and the names of the operations used.
func (r RandAugment) Apply(img *Image, g *core.RNG) (*Image, []string) {
	out := img.Clone()
	var names []string
	for range r.N {
		op := RandAugmentOps[g.IntN(len(RandAugmentOps))]
		m := r.M / 30
		if op.Signed && g.IntN(2) == 1 {
			m = -m
		}
		out = op.Apply(out, m, r.Fill)
		names = append(names, op.Name)
	}
	return out, names
}

// Solarize inverts (255 - x) every sample at or above threshold.
func Solarize(img *Image, threshold float64) *Image {
	out := img.Clone()
	for i, v := range out.Pix {
		if float64(v) >= threshold {
			out.Pix[i] = 255 - v
		}
	}
	return out
}

// Posterize keeps the top bits of each sample (as an 8-bit integer):
// floor(x / 2^(8-bits)) * 2^(8-bits).
func Posterize(img *Image, bits int) *Image {
	bits = min(max(bits, 0), 8)
	q := float64(int(1) << (8 - bits))
	out := img.Clone()
	for i, v := range out.Pix {
		out.Pix[i] = float32(math.Floor(math.Min(math.Max(float64(v), 0), 255)/q) * q)
	}
	return out
}

// AutoContrast stretches each channel linearly so that its minimum maps
// to 0 and its maximum to 255 (a constant channel is unchanged).
func AutoContrast(img *Image) *Image {
	out := img.Clone()
	for c := 0; c < img.C; c++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := c; i < len(img.Pix); i += img.C {
			lo, hi = math.Min(lo, float64(img.Pix[i])), math.Max(hi, float64(img.Pix[i]))
		}
		if hi <= lo {
			continue
		}
		s := 255 / (hi - lo)
		for i := c; i < len(img.Pix); i += img.C {
			out.Pix[i] = clip255((float64(img.Pix[i]) - lo) * s)
		}
	}
	return out
}

// Equalize flattens each channel's histogram of rounded 8-bit levels with
// PIL's ImageOps.equalize table: step = (count - count of the highest
// level present) / 255 (integer division), lut[l] = (step/2 + number of
// samples below l) / step; a channel with one level or step 0 is
// unchanged.
func Equalize(img *Image) *Image {
	out := img.Clone()
	for c := 0; c < img.C; c++ {
		var h [256]int
		level := func(v float32) int { return int(math.Round(math.Min(math.Max(float64(v), 0), 255))) }
		for i := c; i < len(img.Pix); i += img.C {
			h[level(img.Pix[i])]++
		}
		total, last, levels := 0, 0, 0
		for _, n := range h {
			if n > 0 {
				total += n
				last = n
				levels++
			}
		}
		step := (total - last) / 255
		if levels <= 1 || step == 0 {
			continue
		}
		var lut [256]float32
		n := step / 2
		for l := range lut {
			lut[l] = float32(min(n/step, 255))
			n += h[l]
		}
		for i := c; i < len(img.Pix); i += img.C {
			out.Pix[i] = lut[level(img.Pix[i])]
		}
	}
	return out
}

// Sharpness blends img with a smoothed copy (PIL's ImageEnhance.Sharpness:
// the 3x3 kernel [1 1 1; 1 5 1; 1 1 1]/13 inside, the border pixels kept):
// smooth + f*(img - smooth), so f = 1 is unchanged, 0 smooth, 2 sharper.
func Sharpness(img *Image, f float64) *Image {
	out := img.Clone()
	for y := 1; y < img.H-1; y++ {
		for x := 1; x < img.W-1; x++ {
			for c := 0; c < img.C; c++ {
				var s float64
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						w := 1.0
						if dx == 0 && dy == 0 {
							w = 5
						}
						s += w * float64(img.Pix[((y+dy)*img.W+x+dx)*img.C+c])
					}
				}
				s /= 13
				i := (y*img.W+x)*img.C + c
				out.Pix[i] = clip255(s + f*(float64(img.Pix[i])-s))
			}
		}
	}
	return out
}
