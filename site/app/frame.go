package main

import "math"

// digitSide is the side of an MNIST digit's frame, digitBox the side of the
// box its ink is scaled into.
const digitSide, digitBox = 28, 20

// frameDigit frames a white-on-black drawing (ink 0..1, w by h, row by row)
// the way MNIST's digits were: the ink's bounding box scaled, aspect kept,
// so that its longer side is 20 pixels, then placed in a 28x28 frame so
// that its center of mass falls on the frame's center (LeCun et al.). Each
// output pixel is the mean of the drawing over the area it covers, so thin
// strokes become gray anti-aliased ones as in MNIST. ok is false when
// nothing is drawn.
func frameDigit(ink []float64, w, h int) (out [digitSide * digitSide]uint8, ok bool) {
	const threshold = 0.1
	x0, y0, x1, y1 := w, h, -1, -1
	var mass, mx, my float64
	for y := range h {
		for x := range w {
			v := ink[y*w+x]
			if v <= threshold {
				continue
			}
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			mass += v
			mx += v * (float64(x) + 0.5)
			my += v * (float64(y) + 0.5)
		}
	}
	if x1 < 0 {
		return out, false
	}
	bw, bh := float64(x1-x0+1), float64(y1-y0+1)
	s := digitBox / math.Max(bw, bh) // output pixels per input pixel
	cx, cy := mx/mass, my/mass
	// Output coordinate u maps to input x = cx + (u - 14)/s.
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return ink[y*w+x]
	}
	for v := range digitSide {
		for u := range digitSide {
			// The input rectangle this output pixel covers.
			ax0 := cx + (float64(u)-digitSide/2)/s
			ax1 := ax0 + 1/s
			ay0 := cy + (float64(v)-digitSide/2)/s
			ay1 := ay0 + 1/s
			var sum float64
			for y := int(math.Floor(ay0)); float64(y) < ay1; y++ {
				oy := math.Min(ay1, float64(y+1)) - math.Max(ay0, float64(y))
				if oy <= 0 {
					continue
				}
				for x := int(math.Floor(ax0)); float64(x) < ax1; x++ {
					ox := math.Min(ax1, float64(x+1)) - math.Max(ax0, float64(x))
					if ox > 0 {
						sum += ox * oy * at(x, y)
					}
				}
			}
			mean := sum * s * s // the covered area is 1/s²
			out[v*digitSide+u] = uint8(math.Round(255 * math.Min(1, math.Max(0, mean))))
		}
	}
	return out, true
}
