// Package pretrained embeds the models this project trained itself, in the
// runtime's chunked format, so the demo and the tests run with no download.
//
//	lenet5-mnist  the lecture's LeNet-5 trained from scratch on the 60,000
//	              MNIST training images by `make train-lenet5` (20 epochs,
//	              SGD with Nesterov momentum, cosine schedule, random
//	              affine augmentation): 99.54% on the 10,000 test images.
package pretrained

import (
	"context"
	"embed"
	"io/fs"

	"webcnn/core/weights"
)

//go:embed lenet5-mnist
var files embed.FS

// FS holds one directory per model, each with manifest.json and its chunks.
var FS fs.FS = files

// LeNet5MNIST is the directory of the trained LeNet-5.
const LeNet5MNIST = "lenet5-mnist"

// Load reads and verifies an embedded model.
func Load(dir string) (*weights.Model, error) {
	return weights.Load(context.Background(), FS, dir, weights.LoadOptions{})
}
