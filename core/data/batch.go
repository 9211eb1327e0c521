package data

import "webcnn/core"

// Batch stacks equally sized images into one NHWC buffer of shape
// [N, H, W, C], image k occupying samples [k*H*W*C, (k+1)*H*W*C).
func Batch(imgs []*Image) (core.Shape, []float32, error) {
	if err := sameSize("batch", imgs); err != nil {
		return nil, nil, err
	}
	first := imgs[0]
	buf := make([]float32, 0, len(imgs)*len(first.Pix))
	for _, img := range imgs {
		buf = append(buf, img.Pix...)
	}
	return core.Shape{len(imgs), first.H, first.W, first.C}, buf, nil
}
