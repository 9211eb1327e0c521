package tfjs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TF.js in Node is the reference: testdata/tfjs_run.mjs runs a layers
// model with @tensorflow/tfjs-layers on @tensorflow/tfjs-backend-cpu from
// the repository's node_modules (npm install --ignore-scripts at the root).

// npmPackages are what the reference needs (and nsfwjs, the real model).
var npmPackages = []string{"@tensorflow/tfjs", "@tensorflow/tfjs-backend-cpu", "@tensorflow/tfjs-backend-wasm", "nsfwjs"}

// reference locates node and the npm packages; it skips the test when they
// are missing, or fails it when CNN_REQUIRE_NPM=1.
func reference(t *testing.T) (node, root string) {
	t.Helper()
	missing := func(why string) {
		msg := "TF.js reference unavailable: " + why + " (run `npm install --ignore-scripts` at the repository root)"
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			missing("no go.mod above " + dir)
		}
		dir = up
	}
	for _, p := range npmPackages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(p), "package.json")); err != nil {
			missing("node_modules/" + p + " is missing")
		}
	}
	return node, dir
}

// runTFJS runs model (a model.json or nsfwjs model.min.js) on input of the
// given dims and returns the output and its dims.
func runTFJS(t *testing.T, node, model string, in []float32, dims []int) ([]float32, []int) {
	t.Helper()
	out, shapes := runTFJSWith(t, node, "cpu", model, in, dims, nil)
	return out, shapes[0]
}

// runTFJSWith runs model on a TF.js backend (cpu or wasm) and returns the
// values of the named output nodes (nil: the model's outputs), one after
// the other, and their shapes.
func runTFJSWith(t *testing.T, node, backend, model string, in []float32, dims []int, outputs []string) ([]float32, [][]int) {
	t.Helper()
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	b := make([]byte, 4*len(in))
	for i, v := range in {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(inPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ds := make([]string, len(dims))
	for i, d := range dims {
		ds[i] = strconv.Itoa(d)
	}
	var stdout, stderr bytes.Buffer
	args := []string{filepath.Join("testdata", "tfjs_run.mjs"), model, inPath, strings.Join(ds, ","), outPath}
	if outputs != nil {
		args = append(args, strings.Join(outputs, ","))
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "TFJS_BACKEND="+backend)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tfjs_run.mjs: %v\n%s", err, stderr.String())
	}
	var outDims [][]int
	if outputs == nil {
		outDims = [][]int{nil}
		err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &outDims[0])
		if err != nil {
			t.Fatalf("tfjs_run.mjs: output dims %q: %v", stdout.String(), err)
		}
	} else if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &outDims); err != nil {
		t.Fatalf("tfjs_run.mjs: output dims %q: %v", stdout.String(), err)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, outDims
}
