// Package ort runs ONNX models with onnxruntime-node, the independent
// runtime that tests hold our forward pass to. It calls Node on
// ort_run.mjs (next to this file), which loads onnxruntime-node from the
// repository's node_modules: run `npm install --ignore-scripts` at the
// repository root first. Nothing is downloaded at test time.
package ort

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrMissing reports that node or onnxruntime-node is not installed.
var ErrMissing = errors.New("ort: onnxruntime-node is not available")

// Runtime is a located Node binary and the runner script.
type Runtime struct {
	Node   string // path of the node binary
	Script string // path of ort_run.mjs
}

// Find locates node on PATH and onnxruntime-node under the node_modules
// of the module root above the working directory (tests run in their
// package directory). Its error wraps ErrMissing and says what to install.
func Find() (*Runtime, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: no node on PATH (apt-get install -y nodejs)", ErrMissing)
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	pkg := filepath.Join(root, "node_modules", "onnxruntime-node", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return nil, fmt.Errorf("%w: %s missing (run npm install --ignore-scripts in %s)", ErrMissing, pkg, root)
	}
	script := filepath.Join(root, "tools", "convert", "onnx", "ort", "ort_run.mjs")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("ort: runner script: %w", err)
	}
	return &Runtime{Node: node, Script: script}, nil
}

// moduleRoot returns the nearest directory above the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ort: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrMissing)
		}
		dir = up
	}
}

// Run executes the model file on one float32 input of the given dims and
// returns the first output and its dims.
func (r *Runtime) Run(model string, in []float32, dims []int) ([]float32, []int, error) {
	n := 1
	ds := make([]string, len(dims))
	for i, d := range dims {
		n *= d
		ds[i] = strconv.Itoa(d)
	}
	if n != len(in) {
		return nil, nil, fmt.Errorf("ort: %d input values for dims %v", len(in), dims)
	}
	dir, err := os.MkdirTemp("", "ort")
	if err != nil {
		return nil, nil, fmt.Errorf("ort: %w", err)
	}
	defer os.RemoveAll(dir)
	inPath, outPath := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	if err := os.WriteFile(inPath, encode(in), 0o644); err != nil {
		return nil, nil, fmt.Errorf("ort: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.Node, r.Script, model, inPath, strings.Join(ds, ","), outPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("ort: %s: %w: %s", filepath.Base(model), err, strings.TrimSpace(stderr.String()))
	}
	var outDims []int
	if err := json.Unmarshal(stdout.Bytes(), &outDims); err != nil {
		return nil, nil, fmt.Errorf("ort: output dims %q: %w", stdout.String(), err)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: %w", err)
	}
	if len(raw)%4 != 0 {
		return nil, nil, fmt.Errorf("ort: output has %d bytes", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, outDims, nil
}

func encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}
