package onnximport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
)

// SuiteData is one data set (test_data_set_K) of a test of ONNX's backend
// suite, imported with SuiteOptions: the graph, the float inputs fed at
// run time and the stored outputs. Inputs of integer types, and float
// inputs that an op needs as a constant (or scalars), are bound as
// initializers at import.
type SuiteData struct {
	Manifest *weights.Manifest
	Tensors  []weights.Tensor
	Feeds    map[string]SuiteTensor // by graph input name
	Outputs  []SuiteTensor          // in the model's output order
	Bound    bool                   // float inputs were bound as constants
}

// SuiteTensor is a stored input or output as float32 in ONNX's layout.
type SuiteTensor struct {
	Dims []int64 // empty for a scalar
	Data []float32
}

// SuiteOptions import the suite's models: tensors in ONNX's layout, every
// extent as declared.
var SuiteOptions = Options{ONNXLayout: true, StaticShapes: true}

// ImportSuiteDataSet imports model (a suite test's model.onnx) for the data
// set in directory set. Its errors are short refusals or decoding errors,
// without the "onnx import: " prefix.
func ImportSuiteDataSet(model []byte, set string) (*SuiteData, error) {
	ins, err := readSuiteTensors(set, "input")
	if err != nil {
		return nil, err
	}
	outs, err := readSuiteTensors(set, "output")
	if err != nil {
		return nil, err
	}
	var m onnx.Model
	if err := m.Unmarshal(model); err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, errors.New("model.onnx has no graph")
	}
	// The graph inputs that are not initializers take input_K in order.
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializer {
		inits[t.Name] = true
	}
	var free []*onnx.ValueInfo
	for _, vi := range m.Graph.Input {
		if !inits[vi.Name] {
			free = append(free, vi)
		}
	}
	if len(free) != len(ins) {
		return nil, fmt.Errorf("%d graph inputs, %d stored inputs", len(free), len(ins))
	}
	// Integer inputs become initializers; float ones are fed.
	feed := map[string]*constant{}
	for k, vi := range free {
		c, err := decodeTensor(ins[k])
		if err != nil {
			return nil, fmt.Errorf("input %q: %v", vi.Name, err)
		}
		if c.isInt {
			t := *ins[k]
			t.Name = vi.Name
			m.Graph.Initializer = append(m.Graph.Initializer, &t)
			continue
		}
		if t := ins[k].DataType; t != onnx.Float && t != onnx.Double && t != onnx.Float16 {
			return nil, fmt.Errorf("input %q has element type %d (the runtime computes in float32)", vi.Name, ins[k].DataType)
		}
		feed[vi.Name] = c
	}
	// A float graph input that an op needs as a constant (weights,
	// scales, bounds), or a scalar, is an op parameter given as an
	// input: it is bound at import like the integer ones.
	bound := map[string]bool{}
	bind := func(name string) bool {
		if _, ok := feed[name]; !ok || bound[name] {
			return false
		}
		for k, vi := range free {
			if vi.Name == name {
				t := *ins[k]
				t.Name = name
				m.Graph.Initializer = append(m.Graph.Initializer, &t)
			}
		}
		bound[name] = true
		delete(feed, name)
		return true
	}
	for name, c := range feed {
		if len(c.dims) == 0 {
			bind(name)
		}
	}
	var man *weights.Manifest
	var ts []weights.Tensor
	for {
		man, ts, err = ImportModel(&m, SuiteOptions)
		var nc *NeedsConstantError
		if errors.As(err, &nc) && bind(nc.Input) {
			continue
		}
		break
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "onnx import: ")
		if i := strings.Index(msg, " (supported: "); i >= 0 {
			msg = msg[:i]
		}
		return nil, errors.New(msg)
	}
	d := &SuiteData{Manifest: man, Tensors: ts, Feeds: map[string]SuiteTensor{}, Bound: len(bound) > 0}
	for name, c := range feed {
		d.Feeds[name] = SuiteTensor{Dims: c.dims, Data: c.f}
	}
	for k, o := range outs {
		c, err := decodeTensor(o)
		if err != nil {
			return nil, fmt.Errorf("output %d: %v", k, err)
		}
		d.Outputs = append(d.Outputs, SuiteTensor{Dims: c.dims, Data: c.floats()})
	}
	return d, nil
}

// readSuiteTensors reads prefix_0.pb, prefix_1.pb... of a data set.
func readSuiteTensors(set, prefix string) ([]*onnx.Tensor, error) {
	var out []*onnx.Tensor
	for k := 0; ; k++ {
		b, err := os.ReadFile(filepath.Join(set, fmt.Sprintf("%s_%d.pb", prefix, k)))
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var tp onnx.Tensor
		if err := tp.Unmarshal(b); err != nil {
			return nil, fmt.Errorf("%s_%d.pb: %w", prefix, k, err)
		}
		out = append(out, &tp)
	}
}
