package webgpu

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// TestPPOCR runs PaddleOCR's PP-OCRv4 detector (at two input sizes, from
// one manifest whose size is dynamic) and recognizer (48x320), and a small
// quantized ONNX model (dynamic quantization then QOperator layers),
// imported from ONNX natively (go run ./webgpu/bench -prepare ppocr), on
// the CPU (natively, or in the page) and on the GPU where there is one,
// and holds both to onnxruntime-node's outputs computed natively on the
// same inputs: the detector's text probability map, the recognizer's
// per-step character probabilities and the quantized model's dequantized
// output (multiples of its 0.05 scale) within 1e-4.
func TestPPOCR(t *testing.T) {
	dir, explicit := modelsDir()
	raw, err := os.ReadFile(filepath.Join(dir, "ppocr-ref", "cases.json"))
	if err != nil {
		msg := "the PP-OCR models and references are missing (go run ./webgpu/bench -prepare ppocr): "
		if explicit {
			t.Fatal(msg, err)
		}
		t.Skip(msg, err)
	}
	var cases []struct {
		Model   string `json:"model"`
		Shape   []int  `json:"shape"`
		In, Out string
		Dims    []int `json:"dims"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	var b core.Backend
	sharedOnce.Do(func() { shared, sharedErr = New() })
	switch {
	case sharedErr == nil:
		b = shared
	case errors.Is(sharedErr, ErrUnavailable) && os.Getenv("WEBGPU_REQUIRE") == "":
		t.Logf("no WebGPU here (%v): the CPU only", sharedErr)
	default:
		t.Fatalf("webgpu.New: %v", sharedErr)
	}
	loaded := map[string]*weights.Model{}
	for _, c := range cases {
		m := loaded[c.Model]
		if m == nil {
			if m, err = weights.Load(context.Background(), os.DirFS(dir), c.Model, weights.LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			loaded[c.Model] = m
		}
		x := readF32(t, filepath.Join(dir, "ppocr-ref", c.In))
		want := readF32(t, filepath.Join(dir, "ppocr-ref", c.Out))
		run := func(be core.Backend) ([]float32, core.Shape, time.Duration) {
			t.Helper()
			g, err := graph.Load(be, m)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Free()
			in, err := core.FromData(be, core.Shape(c.Shape), x)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Free()
			start := time.Now()
			y, err := g.Forward(nn.Eval, in)
			if err != nil {
				t.Fatalf("%s %v on %s: %v", c.Model, c.Shape, be.Name(), err)
			}
			defer y.Free()
			v, err := y.Data()
			if err != nil {
				t.Fatal(err)
			}
			return v, y.Shape(), time.Since(start)
		}
		ref, shape, tc := run(cpu.New())
		if shape.Size() != len(want) {
			t.Fatalf("%s %v: output %v, onnxruntime %v", c.Model, c.Shape, shape, c.Dims)
		}
		dCPU := maxAbs(ref, want)
		t.Logf("%s %v: output %v; |cpu - onnxruntime| %.3g (%v)", c.Model, c.Shape[1:3], shape, dCPU, tc.Round(time.Millisecond))
		if dCPU > 1e-4 {
			t.Errorf("%s %v: the CPU's output differs from onnxruntime's by %g", c.Model, c.Shape, dCPU)
		}
		if b != nil {
			got, _, tg := run(b)
			dOrt, dGPU := maxAbs(got, want), maxAbs(got, ref)
			t.Logf("%s %v: |gpu - onnxruntime| %.3g, |gpu - cpu| %.3g (%v)", c.Model, c.Shape[1:3], dOrt, dGPU, tg.Round(time.Millisecond))
			if dOrt > 1e-4 || dGPU > 1e-4 {
				t.Errorf("%s %v: the GPU's output differs from onnxruntime's by %g and from the CPU's by %g", c.Model, c.Shape, dOrt, dGPU)
			}
		}
		if c.Model == "paddleocr-rec" && !slices.Equal([]int(shape), c.Dims) {
			t.Errorf("recognizer output %v, onnxruntime %v", shape, c.Dims)
		}
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func maxAbs(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return d
}
