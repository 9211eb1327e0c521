package data

import (
	"fmt"
	"math"
)

// CenterCrop returns the h x w window in the middle of img. Like
// torchvision's center_crop, the top and left offsets are
// round((H-h)/2) and round((W-w)/2) with ties to even (Python's round).
// A window larger than the image is an error (torchvision would pad).
func CenterCrop(img *Image, h, w int) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, fmt.Errorf("data: center crop: %w", err)
	}
	if h <= 0 || w <= 0 || h > img.H || w > img.W {
		return nil, fmt.Errorf("data: center crop %dx%d out of image %s", h, w, img.size())
	}
	top := int(math.RoundToEven(float64(img.H-h) / 2))
	left := int(math.RoundToEven(float64(img.W-w) / 2))
	out := NewImage(h, w, img.C)
	for y := 0; y < h; y++ {
		src := img.Pix[((top+y)*img.W+left)*img.C:][:w*img.C]
		copy(out.Pix[y*w*img.C:], src)
	}
	return out, nil
}

// ResizeShorter scales img so that its shorter side is side pixels, keeping
// the aspect ratio: the longer side becomes floor(side*long/short), as in
// torchvision's Resize(side). The ImageNet evaluation recipe is
// ResizeShorter(img, 256, Bilinear) followed by CenterCrop(img, 224, 224).
func ResizeShorter(img *Image, side int, method Method) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, fmt.Errorf("data: resize shorter: %w", err)
	}
	if side <= 0 {
		return nil, fmt.Errorf("data: resize shorter side of %s to %d: non-positive size", img.size(), side)
	}
	h, w := side, side*img.W/img.H
	if img.W <= img.H {
		h, w = side*img.H/img.W, side
	}
	return Resize(img, h, w, method)
}
