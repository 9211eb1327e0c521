// Package textstrip draws text-like strips without a font, for the text
// orientation classifier (PaddleOCR's, converted as paddleocr-cls): a line
// of lowercase-like letters built from strokes, stems, bowls and bars on a
// baseline, with ascenders (b, d, h, l, t) and descenders (p, q), in
// English-like frequencies, black on white, as tall as a tight text-line
// crop. Such a line is not symmetric under a half turn, so the classifier
// tells "0" (upright) from "180" (upside down).
//
// The generator is the one tools/convert/onnximport's PaddleOCR test uses
// (16 strips of 16 flip class under a half turn there). The page (site/app)
// paints the same rectangles on a canvas; the end-to-end test renders them
// into a PNG file and classifies it natively.
package textstrip

import (
	"image"
	"image/color"
	"math/rand/v2"
)

// H and W are a strip's size in pixels: the classifier's 48x192 input.
const H, W = 48, 192

// Ink and Paper are the gray levels of the strokes and the background.
const Ink, Paper = 20, 255

// Rect is an inked rectangle: columns [X0, X1), rows [Y0, Y1), clipped to
// the strip.
type Rect struct{ X0, Y0, X1, Y1 int }

// Letters draws a line of letters with a generator seeded by seed.
func Letters(seed uint64) []Rect {
	return letters(rand.New(rand.NewPCG(seed, 2)))
}

func letters(rng *rand.Rand) []Rect {
	const (
		A, X, B, D = 2, 14, 36, 46 // ascender top, x-height top, baseline, descender bottom
		S          = 4             // stroke
		M          = (X + B) / 2   // middle bar
	)
	// Rectangles: columns as fractions of the letter width (0 the left
	// stem, 1 the right one), rows in pixels.
	type rect struct {
		x0, x1 float64
		y0, y1 int
	}
	shapes := map[byte][]rect{
		'l': {{0, 0, A, B}},
		'i': {{0, 0, X, B}, {0, 0, A + 1, A + 1 + S}},
		'n': {{0, 0, X, B}, {0, 1, X, X + S}, {1, 1, X, B}},
		'm': {{0, 0, X, B}, {0, 1, X, X + S}, {0.5, 0.5, X, B}, {1, 1, X, B}},
		'h': {{0, 0, A, B}, {0, 1, X, X + S}, {1, 1, X, B}},
		'u': {{0, 0, X, B}, {0, 1, B - S, B}, {1, 1, X, B}},
		'o': {{0, 0, X, B}, {0, 1, X, X + S}, {0, 1, B - S, B}, {1, 1, X, B}},
		'b': {{0, 0, A, B}, {0, 1, X, X + S}, {0, 1, B - S, B}, {1, 1, X, B}},
		'd': {{0, 0, X, B}, {0, 1, X, X + S}, {0, 1, B - S, B}, {1, 1, A, B}},
		'p': {{0, 0, X, D}, {0, 1, X, X + S}, {0, 1, B - S, B}, {1, 1, X, B}},
		'q': {{0, 0, X, B}, {0, 1, X, X + S}, {0, 1, B - S, B}, {1, 1, X, D}},
		't': {{0, 0, A + 4, B}, {-0.4, 0.6, X, X + S}, {0, 0.6, B - S, B}},
		'r': {{0, 0, X, B}, {0, 0.7, X, X + S}},
		'c': {{0, 0, X, B}, {0, 1, X, X + S}, {0, 1, B - S, B}},
		'e': {{0, 0, X, B}, {0, 1, X, X + S}, {0, 1, M, M + S}, {0, 1, B - S, B}, {1, 1, X, M}},
		'a': {{1, 1, X, B}, {0, 1, X, X + S}, {0, 1, M, M + S}, {0, 1, B - S, B}, {0, 0, M, B}},
		's': {{0, 1, X, X + S}, {0, 0, X, M}, {0, 1, M, M + S}, {1, 1, M, B}, {0, 1, B - S, B}},
	}
	const text = "eeeeetttaaaooonnniiisssrrrhhhllddcuumpb q"
	var out []Rect
	x := 3 + rng.IntN(6)
	for {
		ch := text[rng.IntN(len(text))]
		if ch == ' ' {
			x += 8
			continue
		}
		w := 9 + rng.IntN(3)
		switch ch {
		case 'm':
			w += 6
		case 'l', 'i':
			w = S
		}
		if x+w >= W-2 {
			return out
		}
		for _, r := range shapes[ch] {
			c := Rect{X0: x + int(r.x0*float64(w-S)), X1: x + int(r.x1*float64(w-S)) + S, Y0: r.y0, Y1: r.y1}
			c.X0, c.Y0, c.X1, c.Y1 = max(c.X0, 0), max(c.Y0, 0), min(c.X1, W), min(c.Y1, H)
			if c.X0 < c.X1 && c.Y0 < c.Y1 {
				out = append(out, c)
			}
		}
		x += w + 3
	}
}

// Turn returns the rectangles of the strip turned upside down (a half turn).
func Turn(rs []Rect) []Rect {
	out := make([]Rect, len(rs))
	for i, r := range rs {
		out[i] = Rect{X0: W - r.X1, Y0: H - r.Y1, X1: W - r.X0, Y1: H - r.Y0}
	}
	return out
}

// Image renders a strip: Ink rectangles on Paper, RGB.
func Image(rs []Rect) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	paper, ink := color.RGBA{Paper, Paper, Paper, 255}, color.RGBA{Ink, Ink, Ink, 255}
	for y := range H {
		for x := range W {
			img.SetRGBA(x, y, paper)
		}
	}
	for _, r := range rs {
		for y := r.Y0; y < r.Y1; y++ {
			for x := r.X0; x < r.X1; x++ {
				img.SetRGBA(x, y, ink)
			}
		}
	}
	return img
}
