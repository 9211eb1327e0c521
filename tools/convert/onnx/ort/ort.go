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
	"time"
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

// Job is one run of RunBatch: a model file and its float32 input.
type Job struct {
	Model string
	In    []float32
	Dims  []int
}

// Result is a job's first output, or the error onnxruntime reported.
type Result struct {
	Out  []float32
	Dims []int
	Err  error
}

// RunBatch runs the jobs in one Node process (a session each), which
// saves the start-up of one process per model. A failing job reports its
// error in its Result; the error returned is about the batch itself.
func (r *Runtime) RunBatch(jobs []Job) ([]Result, error) {
	dir, err := os.MkdirTemp("", "ort")
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	defer os.RemoveAll(dir)
	type spec struct {
		Model  string `json:"model"`
		Input  string `json:"input"`
		Dims   []int  `json:"dims"`
		Output string `json:"output"`
	}
	specs := make([]spec, len(jobs))
	for i, j := range jobs {
		n := 1
		for _, d := range j.Dims {
			n *= d
		}
		if n != len(j.In) {
			return nil, fmt.Errorf("ort: job %d: %d input values for dims %v", i, len(j.In), j.Dims)
		}
		specs[i] = spec{Model: j.Model, Input: filepath.Join(dir, fmt.Sprintf("in%d.f32", i)), Dims: j.Dims, Output: filepath.Join(dir, fmt.Sprintf("out%d.f32", i))}
		if err := os.WriteFile(specs[i].Input, encode(j.In), 0o644); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
	}
	raw, err := json.Marshal(specs)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	list := filepath.Join(dir, "jobs.json")
	if err := os.WriteFile(list, raw, 0o644); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.Node, r.Script, "--batch", list)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ort: batch of %d: %w: %s", len(jobs), err, strings.TrimSpace(stderr.String()))
	}
	var outs []json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &outs); err != nil || len(outs) != len(jobs) {
		return nil, fmt.Errorf("ort: batch output %q: %v", stdout.String(), err)
	}
	res := make([]Result, len(jobs))
	for i, o := range outs {
		var failed struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(o, &failed) == nil && failed.Error != "" {
			res[i].Err = fmt.Errorf("ort: %s: %s", filepath.Base(jobs[i].Model), failed.Error)
			continue
		}
		if err := json.Unmarshal(o, &res[i].Dims); err != nil {
			return nil, fmt.Errorf("ort: job %d dims %s: %w", i, o, err)
		}
		b, err := os.ReadFile(specs[i].Output)
		if err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
		res[i].Out = make([]float32, len(b)/4)
		for k := range res[i].Out {
			res[i].Out[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
		}
	}
	return res, nil
}

// Time returns the median of runs session.run calls of the model on one
// float32 input (after an untimed one), single-threaded, as measured in
// Node: the peer figure for benchmarks.
func (r *Runtime) Time(model string, in []float32, dims []int, runs int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "ort")
	if err != nil {
		return 0, fmt.Errorf("ort: %w", err)
	}
	defer os.RemoveAll(dir)
	inPath := filepath.Join(dir, "in.f32")
	if err := os.WriteFile(inPath, encode(in), 0o644); err != nil {
		return 0, fmt.Errorf("ort: %w", err)
	}
	ds := make([]string, len(dims))
	for i, d := range dims {
		ds[i] = strconv.Itoa(d)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.Node, r.Script, "--time", strconv.Itoa(runs), model, inPath, strings.Join(ds, ","))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("ort: %s: %w: %s", filepath.Base(model), err, strings.TrimSpace(stderr.String()))
	}
	var ms float64
	if err := json.Unmarshal(stdout.Bytes(), &ms); err != nil {
		return 0, fmt.Errorf("ort: timing %q: %w", stdout.String(), err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}
