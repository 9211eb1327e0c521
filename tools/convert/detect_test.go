package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/onnximport"
)

// TestDetectFormat converts the same files with --from left out, right
// and wrong: the bytes decide, and a wrong --from gets a note.
func TestDetectFormat(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	_, values := original(t, spec, 1)
	dir := t.TempDir()
	pth := filepath.Join(dir, "lenet5.bin") // no telling extension
	exportPyTorch(t, spec, values, pth)
	onnxFile := filepath.Join(dir, "model.bin")
	b, err := onnximport.MNIST8()
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(onnxFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		o    options
		note string
	}{
		{options{Arch: "lenet5", In: pth}, ""},
		{options{From: "safetensors", Arch: "lenet5", In: pth}, "--from safetensors, but " + pth + " is pytorch (from its bytes): reading it as pytorch"},
		{options{In: onnxFile, Preset: "mnist-8"}, ""},
		{options{From: "tfjs", In: onnxFile, Preset: "mnist-8"}, "is onnx (from its bytes)"},
	} {
		var log bytes.Buffer
		tc.o.Out, tc.o.Log = filepath.Join(dir, "out", string(rune('a'+i))), &log
		if err := convert(tc.o); err != nil {
			t.Errorf("%+v: %v", tc.o, err)
			continue
		}
		if tc.note != "" && !strings.Contains(log.String(), tc.note) {
			t.Errorf("%+v: log %q, want a note %q", tc.o, log.String(), tc.note)
		}
		if tc.note == "" && strings.Contains(log.String(), "from its bytes") {
			t.Errorf("%+v: a note %q where --from agrees or is left out", tc.o, log.String())
		}
	}
}

// TestTruncated cuts an ONNX file, a PyTorch zip and a safetensors file
// short: the error says "truncated" and names the file; nothing is
// written.
func TestTruncated(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	_, values := original(t, spec, 1)
	dir := t.TempDir()
	pth := filepath.Join(dir, "lenet5.pth")
	exportPyTorch(t, spec, values, pth)
	full, err := os.ReadFile(pth)
	if err != nil {
		t.Fatal(err)
	}
	onnxBytes, err := onnximport.MNIST8()
	if err != nil {
		t.Skip(err)
	}
	header := `{"conv1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 600]}}`
	st := append([]byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0}, header...) // then 600 bytes of data
	for _, tc := range []struct {
		name string
		b    []byte
		o    options
	}{
		{"cut.onnx", onnxBytes[:len(onnxBytes)/2], options{Preset: "mnist-8"}},
		{"cut.pth", full[:len(full)*2/3], options{Arch: "lenet5"}},
		{"cut.safetensors", st[:40], options{Arch: "lenet5"}},
		{"short.safetensors", append(st, make([]byte, 100)...), options{Arch: "lenet5"}},
	} {
		in := filepath.Join(dir, tc.name)
		if err := os.WriteFile(in, tc.b, 0o644); err != nil {
			t.Fatal(err)
		}
		tc.o.In, tc.o.Out = in, filepath.Join(dir, "out")
		err := convert(tc.o)
		if err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), in) {
			t.Errorf("%s: %v, want an error saying truncated and naming the file", tc.name, err)
		}
		if _, err := os.Stat(tc.o.Out); err == nil {
			t.Fatalf("%s: a failed conversion created %s", tc.name, tc.o.Out)
		}
	}
}

// TestNoModelFile: a directory without a model file is an error naming
// it, whatever --from says.
func TestNoModelFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "README"), []byte("no model here"), 0o644)
	for _, from := range []string{"", "tfjs", "onnx"} {
		err := convert(options{From: from, In: dir, Out: filepath.Join(t.TempDir(), "out")})
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "no model file") {
			t.Errorf("--from %q on a directory without a model: %v, want an error naming %s", from, err, dir)
		}
	}
}

// TestBareWeightsManifest: a TF.js weights manifest without a topology
// (a JSON array, as face-api ships) gets an error that says a model.json
// with a topology is needed.
func TestBareWeightsManifest(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "face_expression_model-weights_manifest.json")
	os.WriteFile(in, []byte(`[{"weights": [{"name": "dense0/conv0/filters", "shape": [3, 3, 3, 32], "dtype": "float32"}], "paths": ["shard1"]}]`), 0o644)
	err := convert(options{In: in, Out: filepath.Join(dir, "out")})
	if err == nil || !strings.Contains(err.Error(), "topology") || strings.Contains(err.Error(), "cannot unmarshal") {
		t.Errorf("a bare weights manifest: %v, want an error saying a model.json with a topology is needed", err)
	}
}

// TestForce: converting into a directory that holds files is refused
// without --force; with it the directory is replaced whole (a stale file
// there is gone, the model loads).
func TestForce(t *testing.T) {
	spec, _ := models.Lookup("lenet5")
	_, values := original(t, spec, 1)
	dir := t.TempDir()
	pth := filepath.Join(dir, "lenet5.pth")
	exportPyTorch(t, spec, values, pth)
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	stale := filepath.Join(out, "0123456789abcdef.bin")
	os.WriteFile(stale, []byte("an old chunk"), 0o644)
	err := convert(options{From: "pytorch", Arch: "lenet5", In: pth, Out: out})
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), out) {
		t.Errorf("into a non-empty directory: %v, want a refusal naming it and --force", err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("a refused conversion touched %s: %v", out, err)
	}
	if err := convert(options{From: "pytorch", Arch: "lenet5", In: pth, Out: out, Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("--force kept the stale %s", stale)
	}
	fromManifest(t, out)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".convert-") || strings.HasPrefix(e.Name(), ".weights-") {
			t.Errorf("--force left %s behind", e.Name())
		}
	}
	m, err := weights.Parse(mustRead(t, filepath.Join(out, "manifest.json")))
	if err != nil || len(m.Chunks) == 0 {
		t.Fatalf("manifest after --force: %v", err)
	}
	files, _ := os.ReadDir(out)
	if len(files) != len(m.Chunks)+1 {
		t.Errorf("after --force %s holds %d files, want the manifest and %d chunks", out, len(files), len(m.Chunks))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
