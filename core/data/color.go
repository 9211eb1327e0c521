package data

import "math"

// Photometric augmentations on [0, 255] samples: each result is clipped
// to [0, 255], as PIL's ImageEnhance and torchvision's adjust_* do.

func clip255(v float64) float32 { return float32(math.Min(math.Max(v, 0), 255)) }

// Brightness returns img*f (f = 1: unchanged, 0: black).
func Brightness(img *Image, f float64) *Image {
	out := NewImage(img.H, img.W, img.C)
	for i, v := range img.Pix {
		out.Pix[i] = clip255(float64(v) * f)
	}
	return out
}

// Contrast blends img with its mean gray level m (the mean of its luma):
// m + f*(x - m) (f = 1: unchanged, 0: uniform gray).
func Contrast(img *Image, f float64) *Image {
	var m float64
	for _, v := range ToGray(img).Pix {
		m += float64(v)
	}
	m /= float64(img.H * img.W)
	out := NewImage(img.H, img.W, img.C)
	for i, v := range img.Pix {
		out.Pix[i] = clip255(m + f*(float64(v)-m))
	}
	return out
}

// Saturation blends each pixel with its own luma g: g + f*(x - g)
// (f = 1: unchanged, 0: grayscale). A gray image is unchanged.
func Saturation(img *Image, f float64) *Image {
	if img.C < 3 {
		return img.Clone()
	}
	g := ToGray(img)
	out := NewImage(img.H, img.W, img.C)
	for i, v := range img.Pix {
		l := float64(g.Pix[i/img.C])
		if i%img.C >= 3 { // alpha
			out.Pix[i] = v
			continue
		}
		out.Pix[i] = clip255(l + f*(float64(v)-l))
	}
	return out
}
