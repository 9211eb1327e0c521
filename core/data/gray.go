package data

// ITU-R BT.601 luma weights, the ones PIL's convert("L") and
// torchvision's rgb_to_grayscale use.
const (
	lumaR = 0.299
	lumaG = 0.587
	lumaB = 0.114
)

// Gray returns the one-channel luma image of m; it is ToGray(m).
func (m *Image) Gray() *Image { return ToGray(m) }

// ToGray returns a one-channel copy of img: the BT.601 luma
// 0.299 R + 0.587 G + 0.114 B of the first three channels when img has at
// least three, otherwise channel 0 (a gray or gray+alpha image).
func ToGray(img *Image) *Image {
	out := NewImage(img.H, img.W, 1)
	for i := range out.Pix {
		p := img.Pix[i*img.C:]
		if img.C >= 3 {
			out.Pix[i] = float32(lumaR*float64(p[0]) + lumaG*float64(p[1]) + lumaB*float64(p[2]))
		} else {
			out.Pix[i] = p[0]
		}
	}
	return out
}

// ToRGB returns a three-channel copy of img: the first three channels when
// img has at least three (so RGBA loses alpha), otherwise channel 0 repeated
// three times (gray to RGB, as PIL's convert("RGB") does).
func ToRGB(img *Image) *Image {
	out := NewImage(img.H, img.W, 3)
	for i := 0; i < img.H*img.W; i++ {
		p, q := img.Pix[i*img.C:], out.Pix[i*3:i*3+3]
		if img.C >= 3 {
			copy(q, p[:3])
		} else {
			q[0], q[1], q[2] = p[0], p[0], p[0]
		}
	}
	return out
}
