//go:build !(js && wasm)

package main

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnximport"
)

// ONNXSuiteFile is the file (beside the models) holding every test of
// ONNX's backend suite that passes natively (the importer's pass list),
// imported into graphs with their inputs and stored outputs, for webgpu's
// TestONNXSuiteGPU. One gob stream of onnxSuiteCase values.
const ONNXSuiteFile = "onnx-suite.gob"

const (
	onnxSuiteDir  = "/usr/share/libonnx-testdata/data"
	onnxSuitePass = "tools/convert/onnximport/testdata/onnx-suite-pass.txt"
)

// onnxSuiteCase is one data set of one suite test (webgpu/onnxsuite_test.go
// decodes the same fields).
type onnxSuiteCase struct {
	Name    string // group/test_name/test_data_set_K
	Graph   []byte // the manifest's graph
	Tensors []weights.Tensor
	Inputs  []onnxSuiteTensor // the float inputs fed at run time, by name
	Outputs []onnxSuiteTensor // in the model's order
}

type onnxSuiteTensor struct {
	Name string
	Dims []int // empty for a scalar
	Data []float32
}

// prepareONNXSuite imports every data set of every test in the pass list
// into dir/ONNXSuiteFile.
func prepareONNXSuite(root, dir string) error {
	start := time.Now()
	f, err := os.Open(filepath.Join(root, onnxSuitePass))
	if err != nil {
		return err
	}
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			names = append(names, l)
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ONNXSuiteFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	bw := bufio.NewWriter(tmp)
	enc := gob.NewEncoder(bw)
	n := 0
	for _, name := range names {
		tdir := filepath.Join(onnxSuiteDir, name)
		model, err := os.ReadFile(filepath.Join(tdir, "model.onnx"))
		if err != nil {
			return fmt.Errorf("ONNX's backend test data is missing (make onnx-testdata): %w", err)
		}
		sets, _ := filepath.Glob(filepath.Join(tdir, "test_data_set_*"))
		sort.Strings(sets)
		for _, set := range sets {
			d, err := onnximport.ImportSuiteDataSet(model, set)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", name, filepath.Base(set), err)
			}
			c := onnxSuiteCase{Name: name + "/" + filepath.Base(set), Graph: d.Manifest.Graph, Tensors: d.Tensors}
			for in, v := range d.Feeds {
				c.Inputs = append(c.Inputs, onnxSuiteTensor{Name: in, Dims: ints(v.Dims), Data: v.Data})
			}
			sort.Slice(c.Inputs, func(i, j int) bool { return c.Inputs[i].Name < c.Inputs[j].Name })
			for _, v := range d.Outputs {
				c.Outputs = append(c.Outputs, onnxSuiteTensor{Dims: ints(v.Dims), Data: v.Data})
			}
			if err := enc.Encode(&c); err != nil {
				return err
			}
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ONNXSuiteFile)); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %d ONNX suite tests (%d data sets) into %s (%v)\n", len(names), n, filepath.Join(dir, ONNXSuiteFile), time.Since(start).Round(time.Millisecond))
	return nil
}

func ints(d []int64) []int {
	out := make([]int, len(d))
	for i, v := range d {
		out[i] = int(v)
	}
	return out
}
