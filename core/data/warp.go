package data

import "math"

// Geometric augmentations. Coordinates are continuous with pixel (x, y)
// covering [x, x+1) x [y, y+1), so its centre is (x+0.5, y+0.5) and the
// image centre is (W/2, H/2). Resampling is bilinear between pixel
// centres; a neighbour outside the image reads the fill value, so edges
// blend into it (torchvision's affine and grid_sample with zero padding).

// Warp returns an image of img's size whose pixel centred at p is img
// sampled at src(p): the inverse map of a geometric transform.
func Warp(img *Image, fill float32, src func(x, y float64) (float64, float64)) *Image {
	out := NewImage(img.H, img.W, img.C)
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			sx, sy := src(float64(x)+0.5, float64(y)+0.5)
			sample(img, sx-0.5, sy-0.5, fill, out.Pix[(y*img.W+x)*img.C:][:img.C])
		}
	}
	return out
}

// sample writes into o the bilinear interpolation of img at pixel-index
// coordinates (u, v) (pixel centres at integers).
func sample(img *Image, u, v float64, fill float32, o []float32) {
	x0, y0 := math.Floor(u), math.Floor(v)
	fx, fy := u-x0, v-y0
	ix, iy := int(x0), int(y0)
	for c := range o {
		var s float64
		for _, t := range [4]struct {
			dx, dy int
			w      float64
		}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
			if t.w == 0 {
				continue
			}
			px, py := ix+t.dx, iy+t.dy
			v := fill
			if px >= 0 && px < img.W && py >= 0 && py < img.H {
				v = img.Pix[(py*img.W+px)*img.C+c]
			}
			s += t.w * float64(v)
		}
		o[c] = float32(s)
	}
}

// Affine is a geometric transform about the image centre: scale, then
// shear, then rotate, then translate (torchvision's RandomAffine order).
// Rotate is in degrees, counter-clockwise as displayed (y points down);
// ShearX and ShearY are angles in degrees; TX and TY are in pixels
// (positive: right and down); Scale 0 means 1.
type Affine struct {
	Rotate, Scale, ShearX, ShearY, TX, TY float64
}

// matrix is the forward linear part M = R * Sh * S.
func (a Affine) matrix() [4]float64 {
	s := a.Scale
	if s == 0 {
		s = 1
	}
	th := a.Rotate * math.Pi / 180
	cos, sin := math.Cos(th), math.Sin(th)
	shx, shy := math.Tan(a.ShearX*math.Pi/180), math.Tan(a.ShearY*math.Pi/180)
	// Counter-clockwise on screen with y down: (1, 0) -> (cos, -sin).
	r := [4]float64{cos, sin, -sin, cos}
	sh := [4]float64{1, shx, shy, 1}
	m := mul2(r, sh)
	return [4]float64{m[0] * s, m[1] * s, m[2] * s, m[3] * s}
}

func mul2(a, b [4]float64) [4]float64 {
	return [4]float64{a[0]*b[0] + a[1]*b[2], a[0]*b[1] + a[1]*b[3], a[2]*b[0] + a[3]*b[2], a[2]*b[1] + a[3]*b[3]}
}

// Apply returns img transformed, with fill where the source is outside.
func (a Affine) Apply(img *Image, fill float32) *Image {
	m := a.matrix()
	det := m[0]*m[3] - m[1]*m[2]
	inv := [4]float64{m[3] / det, -m[1] / det, -m[2] / det, m[0] / det}
	cx, cy := float64(img.W)/2, float64(img.H)/2
	return Warp(img, fill, func(x, y float64) (float64, float64) {
		dx, dy := x-cx-a.TX, y-cy-a.TY
		return cx + inv[0]*dx + inv[1]*dy, cy + inv[2]*dx + inv[3]*dy
	})
}

// Rotate turns img by deg degrees counter-clockwise about its centre.
func Rotate(img *Image, deg float64, fill float32) *Image {
	return Affine{Rotate: deg}.Apply(img, fill)
}

// Translate shifts img by tx pixels right and ty down.
func Translate(img *Image, tx, ty float64, fill float32) *Image {
	return Affine{TX: tx, TY: ty}.Apply(img, fill)
}

// HFlip mirrors img left to right.
func HFlip(img *Image) *Image {
	out := NewImage(img.H, img.W, img.C)
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			copy(out.Pix[(y*img.W+x)*img.C:][:img.C], img.Pix[(y*img.W+img.W-1-x)*img.C:][:img.C])
		}
	}
	return out
}

// Lens applies radial (lens) distortion about the centre: the output
// pixel at normalized radius r (1 at the corners) shows the input at
// radius r*(1 + k*r^2). k > 0 pulls the periphery inwards (barrel
// distortion, a fish-eye look); k < 0 pushes it out (pincushion).
func Lens(img *Image, k float64, fill float32) *Image {
	cx, cy := float64(img.W)/2, float64(img.H)/2
	r2max := cx*cx + cy*cy
	return Warp(img, fill, func(x, y float64) (float64, float64) {
		dx, dy := x-cx, y-cy
		f := 1 + k*(dx*dx+dy*dy)/r2max
		return cx + dx*f, cy + dy*f
	})
}
