package data

import (
	"image"
	"math"
	"testing"

	"golang.org/x/image/draw"
)

// TestResizeMatchesXImageDraw cross-checks upscaling against an independent
// implementation: golang.org/x/image/draw's BiLinear and CatmullRom (Keys'
// cubic with a = -0.5) use the same half-pixel centres. They drop and
// renormalize taps outside the image instead of repeating the edge, and
// clamp to [0, 255], so only outputs whose taps all lie inside the image and
// whose values lie in [0, 255] are compared; draw rounds to 16 bits, hence
// the tolerance of one 16-bit level (1/257) plus slack.
func TestResizeMatchesXImageDraw(t *testing.T) {
	const n, m = 8, 21
	src := image.NewGray(image.Rect(0, 0, n, n))
	img := NewImage(n, n, 1)
	for i := range src.Pix {
		src.Pix[i] = uint8((i*i*37 + 11*i) % 256) // deterministic, irregular
		img.Pix[i] = float32(src.Pix[i])
	}
	for _, tc := range []struct {
		method    Method
		kernel    *draw.Kernel
		lo, hi    int // taps of an output are floor(src)+lo .. floor(src)+hi
		compared  int
		tolerance float64
	}{
		{Bilinear, draw.BiLinear, 0, 1, 0, 0.01},
		{Bicubic, draw.CatmullRom, -1, 2, 0, 0.01},
	} {
		dst := image.NewRGBA64(image.Rect(0, 0, m, m))
		tc.kernel.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		got, err := Resize(img, m, m, tc.method)
		if err != nil {
			t.Fatal(err)
		}
		inside := func(d int) bool {
			f := int(math.Floor((float64(d)+0.5)*n/m - 0.5))
			return f+tc.lo >= 0 && f+tc.hi <= n-1
		}
		for y := 0; y < m; y++ {
			for x := 0; x < m; x++ {
				v := float64(got.Pix[y*m+x])
				if !inside(y) || !inside(x) || v < 0 || v > 255 {
					continue
				}
				want := float64(dst.RGBA64At(x, y).R) / 257
				if math.Abs(v-want) > tc.tolerance {
					t.Errorf("%v (%d,%d): got %v, x/image/draw %v", tc.method, x, y, v, want)
				}
				tc.compared++
			}
		}
		if tc.compared < 100 {
			t.Errorf("%v: only %d outputs compared", tc.method, tc.compared)
		}
	}
}
