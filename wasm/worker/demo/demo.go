// Package demo makes test fixtures for the Worker's API and the browser
// library: zoo models with seeded random weights written as manifests and
// chunks into <root>/models/<id>/ (the layout converted models use), and
// generated test images (gradients, rings, checkerboards: no photos) in
// every format the Worker accepts. The random models are for unit tests
// only: the Worker serves real ones (go run ./wasm/worker -demo DIR writes
// the trained LeNet-5 and PaddleOCR's orientation classifier).
package demo

import (
	"fmt"
	"path/filepath"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/wasm/worker/api"
)

// Model is a demo model: a zoo entry and how images become its input.
type Model struct {
	ID     string
	Input  weights.Input
	Labels []string
}

// ImageNet normalization (torchvision's transforms for the zoo).
var (
	imagenetMean = []float32{0.485, 0.456, 0.406}
	imagenetStd  = []float32{0.229, 0.224, 0.225}
)

// Models are the Worker's demo models: LeNet-5 on 28x28 gray digits and
// MobileNetV3-Small on 224x224 RGB.
var Models = []Model{
	{ID: "lenet5", Input: weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1.0 / 255},
		Labels: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
	{ID: "mobilenet_v3_small", Input: weights.Input{Shape: []int{1, 224, 224, 3}, ChannelOrder: "RGB", Scale: 1.0 / 255,
		Mean: imagenetMean, Std: imagenetStd}},
}

// Write writes every demo model with weights drawn from seed into
// root/models/<id>/ and lists them in root/models/index.json.
func Write(root string, seed uint64) error {
	for _, m := range Models {
		if err := WriteModel(filepath.Join(root, "models", m.ID), m, seed); err != nil {
			return err
		}
	}
	return api.WriteIndex(root)
}

// WriteModel builds m's zoo architecture with He-initialized weights from
// seed and writes it as a float32 manifest and chunks into dir, with its
// memory plan (parameters, and activations from models.Summarize).
func WriteModel(dir string, m Model, seed uint64) error {
	spec, err := models.Lookup(m.ID)
	if err != nil {
		return err
	}
	if !core.Shape(m.Input.Shape).Equal(spec.Input) {
		return fmt.Errorf("demo %s: input %v, the zoo builds %v", m.ID, m.Input.Shape, spec.Input)
	}
	net, err := spec.New(nn.NewBuilder(cpu.New(), seed))
	if err != nil {
		return err
	}
	sum, err := models.Summarize(spec, spec.Input)
	if err != nil {
		return err
	}
	var ts []weights.Tensor
	for _, p := range net.Params() {
		v, err := p.T.Data()
		if err != nil {
			return fmt.Errorf("demo %s: %s: %w", m.ID, p.Name, err)
		}
		ts = append(ts, weights.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: v})
	}
	man := &weights.Manifest{Model: m.ID, Arch: &weights.Arch{ID: spec.ID, Config: map[string]any{"classes": spec.Classes}},
		Input: m.Input, Labels: m.Labels, Output: "logits", Memory: weights.Memory{ActivationBytes: sum.ActivationBytes()}}
	return weights.WriteModel(dir, weights.WriterOptions{}, man, ts, nil)
}
