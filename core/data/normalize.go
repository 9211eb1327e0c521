package data

import "fmt"

// Normalize maps every sample v of channel c to (v - mean[c]) / std[c] in
// place: the per-channel scheme of torchvision's Normalize. mean and std
// must have one entry per channel, in the units of img (for ImageNet models
// first Scale(img, 1.0/255, 0), then mean 0.485 0.456 0.406, std 0.229
// 0.224 0.225).
func Normalize(img *Image, mean, std []float32) error {
	if err := img.check(); err != nil {
		return fmt.Errorf("data: normalize: %w", err)
	}
	if len(mean) != img.C || len(std) != img.C {
		return fmt.Errorf("data: normalize: %d means and %d stds for %d channels", len(mean), len(std), img.C)
	}
	for c, s := range std {
		if s == 0 {
			return fmt.Errorf("data: normalize: std of channel %d is 0", c)
		}
	}
	for i := range img.Pix {
		c := i % img.C
		img.Pix[i] = (img.Pix[i] - mean[c]) / std[c]
	}
	return nil
}

// Scale maps every sample v to v*mul + add in place: (1/255, 0) gives the
// range [0, 1] and (2/255, -1) the range [-1, 1] from 8-bit values.
func Scale(img *Image, mul, add float32) {
	for i, v := range img.Pix {
		img.Pix[i] = v*mul + add
	}
}

// ChannelMeans returns the mean of each channel over all pixels of all
// images (VGG's per-channel mean subtraction; pass the result to Normalize
// with std 1). The images may differ in height and width but not in
// channels.
func ChannelMeans(imgs []*Image) ([]float32, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("data: channel means of no images")
	}
	C := imgs[0].C
	sum := make([]float64, C)
	pixels := 0
	for k, img := range imgs {
		if err := img.check(); err != nil {
			return nil, fmt.Errorf("data: channel means: image %d: %w", k, err)
		}
		if img.C != C {
			return nil, fmt.Errorf("data: channel means: image %d has %d channels, want %d", k, img.C, C)
		}
		for i, v := range img.Pix {
			sum[i%C] += float64(v)
		}
		pixels += img.H * img.W
	}
	mean := make([]float32, C)
	for c := range mean {
		mean[c] = float32(sum[c] / float64(pixels))
	}
	return mean, nil
}
