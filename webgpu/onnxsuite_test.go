package webgpu

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// onnxSuiteCase is one data set of a test of ONNX's backend suite
// (libonnx-testdata) that passes natively, imported by the native step
// (go run ./webgpu/bench -prepare onnxsuite, webgpu/bench/prepare_onnxsuite.go).
type onnxSuiteCase struct {
	Name    string
	Graph   []byte
	Tensors []weights.Tensor
	Inputs  []onnxSuiteTensor
	Outputs []onnxSuiteTensor
}

type onnxSuiteTensor struct {
	Name string
	Dims []int
	Data []float32
}

// onnxSuiteGroups are the suite's groups the browser test runs by default
// (all of them); WEBGPU_ONNX_SUITE=node,simple narrows them.
var onnxSuiteGroups = []string{"node", "simple", "pytorch-operator", "pytorch-converted"}

// TestONNXSuiteGPU runs every test of ONNX's backend suite that passes
// natively (tools/convert/onnximport/testdata/onnx-suite-pass.txt) on the
// WebGPU backend, from the graphs, inputs and stored outputs the native
// step imported, and compares each output with ONNX's stored one at the
// native suite's tolerance (|got-want| <= 1e-3*|want| + 1e-7; NaN matches
// NaN, an infinity the same infinity). It prints "N of M on WebGPU" and
// every failure; a failure is an error unless
// webgpu/testdata/onnx-suite-gpu-known.txt lists the test (with why).
func TestONNXSuiteGPU(t *testing.T) {
	b := gpu(t)
	dir, explicit := modelsDir()
	f, err := os.Open(filepath.Join(dir, "onnx-suite.gob"))
	if err != nil {
		msg := "the ONNX suite's graphs are missing (go run ./webgpu/bench -prepare onnxsuite): "
		if explicit {
			t.Fatal(msg, err)
		}
		t.Skip(msg, err)
	}
	defer f.Close()
	groups := onnxSuiteGroups
	if g := os.Getenv("WEBGPU_ONNX_SUITE"); g != "" {
		groups = strings.Split(g, ",")
	}
	known, err := readGPUKnownFailures()
	if err != nil {
		t.Fatal(err)
	}
	// The comparison must be able to fail.
	if i, _ := suiteMismatch([]float32{1, 2, 3}, []float32{1, 2.01, 3}); i != 1 {
		t.Fatalf("suiteMismatch misses a 0.5%% difference (element %d)", i)
	}
	start := time.Now()
	dec := gob.NewDecoder(bufio.NewReader(f))
	tests := map[string]bool{} // test name: passes on every data set
	var order, failures []string
	for {
		var c onnxSuiteCase
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("onnx-suite.gob: %v", err)
		}
		test := c.Name[:strings.LastIndex(c.Name, "/")]
		if !slices.Contains(groups, test[:strings.Index(test, "/")]) {
			continue
		}
		if _, ok := tests[test]; !ok {
			order = append(order, test)
			tests[test] = true
		}
		if err := runONNXSuiteCase(b, &c); err != nil {
			tests[test] = false
			failures = append(failures, fmt.Sprintf("  %s: %v", c.Name, err))
		}
	}
	n := 0
	var regressed, fixed []string
	for _, name := range order {
		_, isKnown := known[name]
		switch {
		case tests[name]:
			n++
			if isKnown {
				fixed = append(fixed, name)
			}
		case !isKnown:
			regressed = append(regressed, name)
		}
	}
	t.Logf("ONNX backend suite: %d of %d on WebGPU (the tests that pass natively, groups %s; %v)", n, len(order), strings.Join(groups, ","), time.Since(start).Round(time.Second))
	if len(failures) > 0 {
		t.Logf("failing on WebGPU (%d):\n%s", len(failures), strings.Join(failures, "\n"))
	}
	if len(fixed) > 0 {
		t.Logf("%d tests of webgpu/testdata/onnx-suite-gpu-known.txt pass now (take them out): %v", len(fixed), fixed)
	}
	if len(regressed) > 0 {
		t.Errorf("%d tests pass natively but not on WebGPU: %v", len(regressed), regressed)
	}
}

// runONNXSuiteCase runs one data set on b and compares its outputs.
func runONNXSuiteCase(b core.Backend, c *onnxSuiteCase) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	g, err := graph.New(b, c.Graph, c.Tensors)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer g.Free()
	var args []*core.Tensor
	defer func() {
		for _, a := range args {
			a.Free()
		}
	}()
	for _, name := range g.Inputs() {
		i := slices.IndexFunc(c.Inputs, func(v onnxSuiteTensor) bool { return v.Name == name })
		if i < 0 {
			return fmt.Errorf("graph input %q has no stored value", name)
		}
		x, err := core.FromData(b, suiteShape(c.Inputs[i].Dims), c.Inputs[i].Data)
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		args = append(args, x)
	}
	got, err := g.Run(nn.Eval, args...)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer func() {
		seen := map[*core.Tensor]bool{}
		for _, y := range got {
			if !seen[y] && !slices.Contains(args, y) {
				y.Free()
			}
			seen[y] = true
		}
	}()
	if len(got) != len(c.Outputs) {
		return fmt.Errorf("%d outputs, want %d", len(got), len(c.Outputs))
	}
	for k, y := range got {
		w := c.Outputs[k]
		ws := suiteShape(w.Dims)
		if !y.Shape().Equal(ws) && !(len(w.Dims) == 0 && y.Shape().Size() == 1) {
			return fmt.Errorf("output %d: shape %v, want %v", k, y.Shape(), ws)
		}
		v, err := y.Data()
		if err != nil {
			return fmt.Errorf("output %d: %w", k, err)
		}
		if i, worst := suiteMismatch(v, w.Data); i >= 0 {
			return fmt.Errorf("output %d: element %d is %g, want %g (relative difference up to %.3g)", k, i, v[i], w.Data[i], worst)
		}
	}
	return nil
}

func suiteShape(d []int) core.Shape {
	if len(d) == 0 {
		return core.Shape{1}
	}
	return core.Shape(slices.Clone(d))
}

// suiteMismatch returns the first element of got outside ONNX's tolerance
// (rtol 1e-3, atol 1e-7) of want, or -1, and the worst relative difference.
func suiteMismatch(got, want []float32) (first int, worst float64) {
	first = -1
	for i := range got {
		a, b := float64(got[i]), float64(want[i])
		if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(b, 0) {
			if !(math.IsNaN(a) && math.IsNaN(b)) && a != b {
				worst = math.Inf(1)
				if first < 0 {
					first = i
				}
			}
			continue
		}
		d := math.Abs(a - b)
		worst = math.Max(worst, d/math.Max(math.Abs(b), 1e-30))
		if d > 1e-3*math.Abs(b)+1e-7 && first < 0 {
			first = i
		}
	}
	return first, worst
}

// readGPUKnownFailures reads webgpu/testdata/onnx-suite-gpu-known.txt:
// "group/test_name: why" for each suite test that passes natively but not
// on WebGPU.
func readGPUKnownFailures() (map[string]string, error) {
	_, file, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(file), "testdata", "onnx-suite-gpu-known.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, why, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("onnx-suite-gpu-known.txt: %q is not \"group/test: why\"", l)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(why)
	}
	return out, sc.Err()
}
