package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnx/ort"
	"webcnn/tools/convert/onnximport"
)

// TestNPY writes and reads back .npy files, and reads a float64 and an
// int64 file laid out by hand as NumPy's format 1.0 describes (magic,
// version, header length, dict padded with spaces to 64 bytes, data).
func TestNPY(t *testing.T) {
	dir := t.TempDir()
	v := []float32{1, -2.5, float32(math.Inf(1)), 0, 7, 8}
	f := filepath.Join(dir, "a.npy")
	if err := writeNPY(f, v, []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if !bytes.HasPrefix(b, []byte("\x93NUMPY\x01\x00")) || (10+int(binary.LittleEndian.Uint16(b[8:])))%64 != 0 ||
		!bytes.Contains(b, []byte("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")) {
		t.Errorf("header %q", b[:min(len(b), 80)])
	}
	got, shape, err := readNPY(f)
	if err != nil || !slices.Equal(shape, []int{2, 3}) || !slices.Equal(got, v) {
		t.Errorf("read back %v %v %v", got, shape, err)
	}
	hand := func(descr, shape string, data []byte) string {
		h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
		h += strings.Repeat(" ", 64-(10+len(h)+1)%64) + "\n"
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
		p := filepath.Join(dir, descr[1:]+".npy")
		os.WriteFile(p, append(append(b, h...), data...), 0o644)
		return p
	}
	f8 := make([]byte, 24)
	for i, x := range []float64{0.5, -1, 3} {
		binary.LittleEndian.PutUint64(f8[8*i:], math.Float64bits(x))
	}
	i8 := make([]byte, 16)
	binary.LittleEndian.PutUint64(i8, uint64(7))
	binary.LittleEndian.PutUint64(i8[8:], uint64(math.MaxUint64)) // -1
	for _, c := range []struct {
		file  string
		want  []float32
		shape []int
	}{
		{hand("<f8", "(3,)", f8), []float32{0.5, -1, 3}, []int{3}},
		{hand("<i8", "(1, 2)", i8), []float32{7, -1}, []int{1, 2}},
	} {
		got, shape, err := readNPY(c.file)
		if err != nil || !slices.Equal(got, c.want) || !slices.Equal(shape, c.shape) {
			t.Errorf("%s: %v %v %v, want %v %v", c.file, got, shape, err, c.want, c.shape)
		}
	}
	if _, _, err := readNPY(hand("<c8", "(1,)", make([]byte, 8))); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("complex64: %v, want a dtype error", err)
	}
}

// mapModel is an ONNX graph whose output is a map, not class scores: a
// 3x3 convolution (3 -> 2 channels, pad 1) of an NCHW 1x3x8x6 input, then
// a sigmoid: a 1x2x8x6 probability map, as text detectors give.
func mapModel() []byte {
	w := make([]float32, 2*3*3*3)
	for i := range w {
		w[i] = float32((i*7)%11-5) / 10
	}
	m := &onnx.Model{IRVersion: 7, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name:        "map",
		Input:       []*onnx.ValueInfo{onnx.TensorInfo("image", 1, 3, 8, 6)},
		Initializer: []*onnx.Tensor{onnx.FloatTensor("w", []int64{2, 3, 3, 3}, w), onnx.FloatTensor("b", []int64{2}, []float32{0.1, -0.2})},
		Node: []*onnx.Node{
			{OpType: "Conv", Name: "conv", Input: []string{"image", "w", "b"}, Output: []string{"c"},
				Attribute: []*onnx.Attribute{onnx.IntsAttr("kernel_shape", 3, 3), onnx.IntsAttr("pads", 1, 1, 1, 1)}},
			{OpType: "Sigmoid", Name: "sigmoid", Input: []string{"c"}, Output: []string{"maps/prob:0"}},
		},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("maps/prob:0", 1, 2, 8, 6)},
	}}
	return m.Marshal()
}

// TestPredictInputNPY runs an ONNX graph whose output is a map with
// `cnn predict --input NAME=FILE.npy --out DIR`: the input in ONNX's NCHW
// layout, the output written as NAME.npy in NCHW, equal to onnxruntime's
// output for the same file and input (within 1e-5); the manifest says the
// output is a map with its shape and layout, and classifying it is
// refused with an error that says how to read it.
func TestPredictInputNPY(t *testing.T) {
	rt, err := ort.Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_ORT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "map.onnx")
	if err := os.WriteFile(file, mapModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	man, ts, err := onnximport.Import(mapModel(), "map")
	if err != nil {
		t.Fatal(err)
	}
	o := man.Outputs
	if man.Output != weights.Map || len(o) != 1 || o[0].Name != "maps/prob:0" || !slices.Equal(o[0].Shape, []int{-1, 2, 8, 6}) || o[0].Layout != "NCHW" {
		t.Errorf("manifest output %q %+v, want a map [-1 2 8 6] NCHW", man.Output, o)
	}
	if in := man.Inputs; len(in) != 1 || in[0].Name != "image" || !slices.Equal(in[0].Shape, []int{-1, 3, 8, 6}) || !slices.Equal(in[0].Perm, []int{0, 3, 1, 2}) {
		t.Errorf("manifest inputs %+v, want image [-1 3 8 6] perm [0 3 1 2]", man.Inputs)
	}
	model := filepath.Join(dir, "model")
	if err := weights.WriteModel(model, weights.WriterOptions{}, man, ts, nil); err != nil {
		t.Fatal(err)
	}
	rng := core.NewRNG(3)
	x := make([]float32, 3*8*6)
	for i := range x {
		x[i] = rng.NormFloat32()
	}
	in := filepath.Join(dir, "x.npy")
	if err := writeNPY(in, x, []int{1, 3, 8, 6}); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	var log bytes.Buffer
	if err := predict(&log, []string{"--model", model, "--input", "image=" + in, "--out", outDir}); err != nil {
		t.Fatal(err)
	}
	got, shape, err := readNPY(filepath.Join(outDir, "maps_prob_0.npy"))
	if err != nil {
		t.Fatalf("%v (predict printed %q)", err, log.String())
	}
	want, dims, err := rt.Run(file, x, []int{1, 3, 8, 6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, dims) {
		t.Fatalf("output .npy shape %v, onnxruntime %v", shape, dims)
	}
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	if worst > 1e-5 {
		t.Errorf("output differs from onnxruntime's by %.3g", worst)
	}
	t.Logf("%s; max |diff| vs onnxruntime %.2g", strings.TrimSpace(log.String()), worst)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--input", "x=" + in, "--out", outDir}, `no input "x" (its inputs: image [-1 3 8 6] NCHW)`},
		{[]string{"--input", in}, "--input needs --out"},
		{[]string{"--raw", in, "--topk", "1"}, ""}, // checked below
	} {
		err := predict(&bytes.Buffer{}, append([]string{"--model", model}, c.args...))
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	nhwc := filepath.Join(dir, "nhwc.npy")
	writeNPY(nhwc, x, []int{1, 8, 6, 3})
	if err := predict(&bytes.Buffer{}, []string{"--model", model, "--input", nhwc, "--out", outDir}); err == nil || !strings.Contains(err.Error(), "[-1 3 8 6] NCHW") {
		t.Errorf("an NHWC array for an NCHW input: %v, want an error giving the shape and layout", err)
	}
	raw := make([]byte, 4*len(x))
	os.WriteFile(filepath.Join(dir, "x.f32"), raw, 0o644)
	if err := predict(&bytes.Buffer{}, []string{"--model", model, "--raw", filepath.Join(dir, "x.f32")}); err == nil || !strings.Contains(err.Error(), "not class scores") || !strings.Contains(err.Error(), "--out") {
		t.Errorf("classifying a map: %v, want an error saying it is not class scores and naming --out", err)
	}
}

// TestPredictTwoInputs feeds an ONNX graph of two inputs by name: z =
// x*2 + y on NCHW arrays, written back in NCHW; the sum is exact.
func TestPredictTwoInputs(t *testing.T) {
	m := &onnx.Model{IRVersion: 7, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name:        "two",
		Input:       []*onnx.ValueInfo{onnx.TensorInfo("x", 1, 3, 4, 5), onnx.TensorInfo("y", 1, 3, 4, 5)},
		Initializer: []*onnx.Tensor{onnx.FloatTensor("two", nil, []float32{2})},
		Node: []*onnx.Node{
			{OpType: "Mul", Name: "mul", Input: []string{"x", "two"}, Output: []string{"x2"}},
			{OpType: "Add", Name: "add", Input: []string{"x2", "y"}, Output: []string{"z"}},
		},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("z", 1, 3, 4, 5)},
	}}
	man, ts, err := onnximport.Import(m.Marshal(), "two")
	if err != nil {
		t.Skipf("a graph of two inputs: %v", err)
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := weights.WriteModel(model, weights.WriterOptions{}, man, ts, nil); err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, 60), make([]float32, 60)
	for i := range x {
		x[i], y[i] = float32(i), float32(1000*(i%7))
	}
	writeNPY(filepath.Join(dir, "x.npy"), x, []int{1, 3, 4, 5})
	writeNPY(filepath.Join(dir, "y.npy"), y, []int{1, 3, 4, 5})
	out := filepath.Join(dir, "out")
	if err := predict(&bytes.Buffer{}, []string{"--model", model, "--input", "y=" + filepath.Join(dir, "y.npy"), "--input", "x=" + filepath.Join(dir, "x.npy"), "--out", out}); err != nil {
		t.Fatal(err)
	}
	got, shape, err := readNPY(filepath.Join(out, "z.npy"))
	if err != nil || !slices.Equal(shape, []int{1, 3, 4, 5}) {
		t.Fatalf("z.npy: %v %v", shape, err)
	}
	for i := range got {
		if got[i] != 2*x[i]+y[i] {
			t.Fatalf("z[%d] = %v, want %v", i, got[i], 2*x[i]+y[i])
		}
	}
	if err := predict(&bytes.Buffer{}, []string{"--model", model, "--input", "x=" + filepath.Join(dir, "x.npy"), "--out", out}); err == nil || !strings.Contains(err.Error(), `no --input for input "y"`) {
		t.Errorf("one of two inputs: %v, want an error naming y", err)
	}
}
