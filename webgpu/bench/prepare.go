//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/tfjs"
)

// The models the browser runs, as manifest + chunks under one directory
// (default build/webgpu-models), each in a subdirectory named by its id.
const (
	// NSFWJSModel is nsfwjs's Keras MobileNetV2 (224x224, 5 classes),
	// imported from node_modules/nsfwjs as a graph with f32 weights
	// (the uint8-quantized TF.js weights dequantized as TF.js does).
	NSFWJSModel = "nsfwjs-mobilenet_v2"
	// ResNetModel is the zoo's ResNet-18 (224x224, 1000 classes) with the
	// seeded He-random weights of nn.NewBuilder(cpu, ResNetSeed): timing
	// does not depend on the values, and TF.js gets the same ones.
	ResNetModel = "resnet18"
	ResNetSeed  = 7
)

// prepareNSFWJS imports nsfwjs's MobileNetV2 from root/node_modules into
// dir/nsfwjs-mobilenet_v2.
func prepareNSFWJS(root, dir string) error {
	start := time.Now()
	pkg := filepath.Join(root, "node_modules", "nsfwjs")
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
		return fmt.Errorf("nsfwjs is missing (npm install --ignore-scripts at the repository root): %w", err)
	}
	m, ts, err := tfjs.ImportNSFWJS(pkg, "mobilenet_v2")
	if err != nil {
		return err
	}
	out := filepath.Join(dir, NSFWJSModel)
	if err := weights.WriteModel(out, weights.WriterOptions{}, m, ts, nil); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %s: %d tensors into %s (%v)\n", NSFWJSModel, len(ts), out, time.Since(start).Round(time.Millisecond))
	return nil
}

// prepareResNet writes the zoo's ResNet-18 with seeded weights into
// dir/resnet18.
func prepareResNet(dir string) error {
	start := time.Now()
	spec, err := models.Lookup(ResNetModel)
	if err != nil {
		return err
	}
	net, err := spec.New(nn.NewBuilder(cpu.New(), ResNetSeed))
	if err != nil {
		return err
	}
	var ts []weights.Tensor
	for _, p := range net.Params() {
		v, err := p.T.Data()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", spec.ID, p.Name, err)
		}
		ts = append(ts, weights.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: v})
	}
	man := &weights.Manifest{Model: spec.ID, Arch: &weights.Arch{ID: spec.ID, Config: map[string]any{"classes": spec.Classes}},
		Input:  weights.Input{Shape: spec.Input, ChannelOrder: "RGB", Scale: 1.0 / 255},
		Output: "logits"}
	out := filepath.Join(dir, ResNetModel)
	if err := weights.WriteModel(out, weights.WriterOptions{}, man, ts, nil); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %s: %d tensors (seed %d) into %s (%v)\n", ResNetModel, len(ts), ResNetSeed, out, time.Since(start).Round(time.Millisecond))
	return nil
}
