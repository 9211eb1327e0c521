package data

import "fmt"

// MeanImage returns the sample-wise average of equally sized images: the
// mean image of AlexNet-era preprocessing, to be removed with SubtractMean.
func MeanImage(imgs []*Image) (*Image, error) {
	if err := sameSize("mean image", imgs); err != nil {
		return nil, err
	}
	sum := make([]float64, len(imgs[0].Pix))
	for _, img := range imgs {
		for i, v := range img.Pix {
			sum[i] += float64(v)
		}
	}
	mean := NewImage(imgs[0].H, imgs[0].W, imgs[0].C)
	for i, s := range sum {
		mean.Pix[i] = float32(s / float64(len(imgs)))
	}
	return mean, nil
}

// SubtractMean subtracts mean from img sample by sample, in place.
func SubtractMean(img, mean *Image) error {
	if err := img.check(); err != nil {
		return fmt.Errorf("data: subtract mean: %w", err)
	}
	if err := mean.check(); err != nil {
		return fmt.Errorf("data: subtract mean: mean %w", err)
	}
	if img.H != mean.H || img.W != mean.W || img.C != mean.C {
		return fmt.Errorf("data: subtract mean: image is %s, mean is %s", img.size(), mean.size())
	}
	for i, m := range mean.Pix {
		img.Pix[i] -= m
	}
	return nil
}

// sameSize reports an error naming op unless imgs is a non-empty list of
// valid images that all have the extents of the first.
func sameSize(op string, imgs []*Image) error {
	if len(imgs) == 0 {
		return fmt.Errorf("data: %s: no images", op)
	}
	for k, img := range imgs {
		if err := img.check(); err != nil {
			return fmt.Errorf("data: %s: image %d: %w", op, k, err)
		}
		if img.H != imgs[0].H || img.W != imgs[0].W || img.C != imgs[0].C {
			return fmt.Errorf("data: %s: image %d is %s, want %s", op, k, img.size(), imgs[0].size())
		}
	}
	return nil
}
