// Command cnn is the runtime's command line: it runs models natively on
// the CPU backend.
//
//	cnn demo                     classify MNIST test digits with the shipped LeNet-5 (trained by cnn train)
//	cnn alexnet                  walk the lecture's AlexNet through the runtime on a generated image
//	cnn models                   list the zoo
//	cnn summary <model> [--json] per-layer shapes, parameters, multiply-adds, memory, receptive field
//	cnn predict --model DIR (--image FILE | --raw FILE.f32) [--topk 5] [--json]
//	cnn train --model lenet5 --data mnist [--epochs N] [--out DIR]
//	cnn finetune --backbone nsfwjs-mobilenet_v2 --per-class 20 [--augment]
//	cnn augment-pictures [-out docs/augment]
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage: cnn <command> [flags]

commands:
  demo      classify MNIST test digits with the shipped LeNet-5 (CPU backend)
  alexnet   run the lecture's AlexNet layer chain on a generated image, layer by layer
  models    list the zoo with parameters and multiply-adds
  summary   per-layer table of a zoo model: cnn summary <model> [--json] [--size N]
  predict   classify with a converted model: cnn predict --model DIR (--image FILE | --raw FILE.f32) [--topk 5] [--json]
  train     train from scratch: cnn train --model lenet5 --data mnist [--epochs 20] [--out DIR] (see -h)
  finetune  a linear head on frozen pretrained vs random backbone features: cnn finetune --backbone nsfwjs-mobilenet_v2 --per-class 20 [--augment]
  augment-pictures  write a picture of each augmentation: cnn augment-pictures [-out docs/augment]`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "demo":
		err = demo(os.Stdout, os.Args[2:])
	case "alexnet":
		err = alexnetWalk(os.Stdout)
	case "models":
		err = listModels(os.Stdout)
	case "predict":
		err = predict(os.Stdout, os.Args[2:])
	case "summary":
		err = summary(os.Stdout, os.Args[2:])
	case "train":
		err = train(os.Stdout, os.Args[2:])
	case "finetune":
		err = finetune(os.Stdout, os.Args[2:])
	case "augment-pictures":
		err = augmentPictures(os.Stdout, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cnn:", err)
		os.Exit(1)
	}
}
