package data

import (
	"fmt"
	"math"
)

// Method is an interpolation kernel for Resize.
type Method int

const (
	// Bilinear interpolates the 2x2 nearest samples (the triangle kernel).
	Bilinear Method = iota
	// Bicubic is Keys' cubic convolution with a = -0.5 (PIL's coefficient)
	// over the 4x4 nearest samples. PyTorch's F.interpolate(mode="bicubic")
	// uses a = -0.75 and so differs slightly.
	Bicubic
)

// String names the method as PIL and torchvision do.
func (m Method) String() string {
	switch m {
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Coords says where output sample d of an axis of m outputs reads an axis
// of n inputs: how a framework maps the two grids.
type Coords int

const (
	// HalfPixel: src = (d+0.5)*n/m - 0.5, pixel centres aligned (PyTorch's
	// align_corners=False, TF's half_pixel_centers, OpenCV, PIL).
	HalfPixel Coords = iota
	// AlignCorners: src = d*(n-1)/(m-1), the corner samples aligned
	// (tf.image.resizeBilinear(x, size, true), as nsfwjs resizes;
	// PyTorch's align_corners=True); src = 0 when m is 1.
	AlignCorners
	// Asymmetric: src = d*n/m (tf.image.resizeBilinear's default).
	Asymmetric
)

// String names the mode as manifests write it.
func (c Coords) String() string {
	switch c {
	case HalfPixel:
		return "half_pixel"
	case AlignCorners:
		return "align_corners"
	case Asymmetric:
		return "asymmetric"
	}
	return fmt.Sprintf("Coords(%d)", int(c))
}

// ParseCoords reads a mode's name ("" is HalfPixel).
func ParseCoords(s string) (Coords, error) {
	for _, c := range []Coords{HalfPixel, AlignCorners, Asymmetric} {
		if s == c.String() {
			return c, nil
		}
	}
	if s == "" {
		return HalfPixel, nil
	}
	return 0, fmt.Errorf("data: resize coordinates %q: want half_pixel, align_corners or asymmetric", s)
}

// Resize returns img scaled to h rows and w columns. Output sample d along
// an axis of n inputs and m outputs reads the input at the half-pixel-centre
// coordinate src = (d+0.5)*n/m - 0.5 (PyTorch's align_corners=False); taps
// outside the image repeat the edge sample. ResizeWith takes the other
// coordinate mappings. There is no antialiasing, so a
// large reduction skips detail, like F.interpolate(antialias=False); resize
// in several halving steps or crop first when that matters. Each output is
// one weighted sum in float64, so equal sizes return the input exactly.
func Resize(img *Image, h, w int, method Method) (*Image, error) {
	return ResizeWith(img, h, w, method, HalfPixel)
}

// ResizeWith is Resize with the given coordinate mapping.
func ResizeWith(img *Image, h, w int, method Method, coords Coords) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, fmt.Errorf("data: resize: %w", err)
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("data: resize %s to %dx%d: non-positive size", img.size(), h, w)
	}
	var kernel func(float64) float64
	switch method {
	case Bilinear:
		kernel = triangle
	case Bicubic:
		kernel = keys
	default:
		return nil, fmt.Errorf("data: resize: unknown method %v", method)
	}
	if _, err := ParseCoords(coords.String()); err != nil {
		return nil, err
	}
	ty, tx := taps(img.H, h, method, coords, kernel), taps(img.W, w, method, coords, kernel)
	n := len(ty) / h // taps per output sample, the same on both axes
	out := NewImage(h, w, img.C)
	C := img.C
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := out.Pix[(y*w+x)*C:][:C]
			for c := range o {
				var sum float64
				for i := 0; i < n; i++ {
					yi := ty[y*n+i]
					row := img.Pix[yi.at*img.W*C:]
					var rs float64
					for j := 0; j < n; j++ {
						xj := tx[x*n+j]
						rs += xj.w * float64(row[xj.at*C+c])
					}
					sum += yi.w * rs
				}
				o[c] = float32(sum)
			}
		}
	}
	return out, nil
}

// tap is one input sample and its weight.
type tap struct {
	at int
	w  float64
}

// taps lists, for each of the m outputs of an axis with n inputs, the 2
// (bilinear) or 4 (bicubic) input samples it reads, clamped to [0, n-1].
func taps(n, m int, method Method, coords Coords, kernel func(float64) float64) []tap {
	k := 2
	if method == Bicubic {
		k = 4
	}
	scale := float64(n) / float64(m)
	t := make([]tap, 0, m*k)
	for d := 0; d < m; d++ {
		var src float64
		switch coords {
		case HalfPixel:
			src = (float64(d)+0.5)*scale - 0.5
		case AlignCorners:
			if m > 1 {
				src = float64(d) * float64(n-1) / float64(m-1)
			}
		case Asymmetric:
			src = float64(d) * scale
		}
		first := int(math.Floor(src)) - (k/2 - 1) // leftmost tap
		for i := first; i < first+k; i++ {
			t = append(t, tap{at: min(max(i, 0), n-1), w: kernel(src - float64(i))})
		}
	}
	return t
}

// triangle is the bilinear kernel: 1-|x| on [-1, 1].
func triangle(x float64) float64 {
	return max(0, 1-math.Abs(x))
}

// keys is the cubic convolution kernel of R. Keys (1981) with a = -0.5:
// (a+2)|x|^3 - (a+3)|x|^2 + 1 on |x| <= 1,
// a|x|^3 - 5a|x|^2 + 8a|x| - 4a on 1 < |x| < 2, and 0 beyond.
func keys(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x <= 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return 0
}
