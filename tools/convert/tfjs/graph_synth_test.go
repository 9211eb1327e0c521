package tfjs

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/tools/convert/tfjs/synthgraph"
)

// TestSyntheticGraphParity compares the importer with TF.js (cpu backend)
// on a graph model that uses every translated op, attributes of each
// (padding modes, dilations, masks, fused activations) and every weight
// storage (tools/convert/tfjs/synthgraph writes it).
func TestSyntheticGraphParity(t *testing.T) {
	dir := t.TempDir()
	sg := synthgraph.Synth()
	if err := sg.Write(dir); err != nil {
		t.Fatal(err)
	}
	storage := map[string]int{}
	for _, s := range sg.Specs {
		if q, ok := s["quantization"].(map[string]any); ok {
			storage[q["dtype"].(string)]++
		} else {
			storage[s["dtype"].(string)]++
		}
	}
	if len(storage) != 5 {
		t.Errorf("weight storages %v: want float32, int32, uint8, uint16 and float16", storage)
	}
	m, ts, err := Import(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Output != "probabilities" || !core.Shape(m.Input.Shape).Equal(core.Shape{1, 9, 8, 3}) {
		t.Errorf("output %q, input %+v", m.Output, m.Input)
	}
	b := cpu.New()
	g, err := graph.New(b, m.Graph, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	const batch = 2
	rng := core.NewRNG(5)
	in := make([]float32, batch*9*8*3)
	for i := range in {
		in[i] = rng.Float32()
	}
	x, err := core.FromData(b, core.Shape{batch, 9, 8, 3}, in)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := g.Run(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	node, _ := reference(t)
	want, shapes := runTFJSWith(t, node, "cpu", filepath.Join(dir, "model.json"), in, []int{batch, 9, 8, 3}, sg.Outputs)
	if len(ys) != len(sg.Outputs) || len(shapes) != len(ys) {
		t.Fatalf("%d outputs, TF.js %d, want %d", len(ys), len(shapes), len(sg.Outputs))
	}
	off := 0
	for i, y := range ys {
		got, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !y.Shape().Equal(core.Shape(shapes[i])) {
			t.Errorf("output %s: shape %v, TF.js %v", sg.Outputs[i], y.Shape(), shapes[i])
			off += core.Shape(shapes[i]).Size()
			continue
		}
		w := want[off : off+len(got)]
		off += len(got)
		worst := 0.0 // |diff| relative to max(1, |value|)
		for j := range got {
			worst = max(worst, math.Abs(float64(got[j]-w[j]))/max(1, math.Abs(float64(w[j]))))
		}
		t.Logf("output %-8s %v: max relative |diff| %.3g", sg.Outputs[i], y.Shape(), worst)
		if testing.Verbose() {
			t.Logf("go %v", got[:min(len(got), 12)])
		}
		if worst > 1e-5 || math.IsNaN(worst) {
			t.Errorf("output %s: max relative |diff| %.3g > 1e-5\ngo   %v\ntfjs %v", sg.Outputs[i], worst, got, w)
		}
	}
}

// TestGraphImportErrors checks that graph models the importer cannot
// translate are refused with errors naming the file, the node, the op and
// what is wrong.
func TestGraphImportErrors(t *testing.T) {
	dir := t.TempDir()
	if err := synthgraph.Synth().Write(dir); err != nil {
		t.Fatal(err)
	}
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	node := func(m map[string]any, name string) map[string]any {
		for _, n := range m["modelTopology"].(map[string]any)["node"].([]any) {
			if n := n.(map[string]any); n["name"] == name {
				return n
			}
		}
		panic("no node " + name)
	}
	attr := func(m map[string]any, name string) map[string]any { return node(m, name)["attr"].(map[string]any) }
	cases := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"unknown op", func(m map[string]any) { node(m, "sg")["op"] = "Selu" },
			`tfjs: model.json: node "sg" (op Selu): op Selu is not supported by the TF.js graph-model importer (it supports Abs, Add, AddV2, AvgPool, BatchMatMul, BatchMatMulV2, BiasAdd,`},
		{"unknown op advice", func(m map[string]any) { node(m, "sg")["op"] = "Selu" }, "re-export the model without it, or convert the source model to ONNX and import that with --from onnx"},
		{"channels first", func(m map[string]any) { attr(m, "ca")["data_format"] = synthgraph.S("NCHW") }, `node "ca" (op _FusedConv2D): data_format NCHW`},
		{"fused batch norm", func(m map[string]any) { attr(m, "ca")["fused_ops"] = synthgraph.StrList("FusedBatchNorm", "Relu") }, `node "ca" (op _FusedConv2D): fused_ops [FusedBatchNorm Relu]`},
		{"fused selu", func(m map[string]any) { attr(m, "ca")["fused_ops"] = synthgraph.StrList("BiasAdd", "Selu") }, `node "ca" (op _FusedConv2D): fused activation Selu: the importer supports Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Prelu`},
		{"prelu without slopes", func(m map[string]any) { attr(m, "ca")["fused_ops"] = synthgraph.StrList("BiasAdd", "Prelu") }, `fused_ops [BiasAdd Prelu] with 3 inputs, want 4`},
		{"bad padding", func(m map[string]any) { attr(m, "p2")["padding"] = synthgraph.S("FULL") }, `node "p2" (op AvgPool): padding "FULL"`},
		{"constant product", func(m map[string]any) { node(m, "mm")["input"] = []any{"mm_w", "mm_w"} }, `node "mm" (op MatMul): both operands are constants ("mm_w", "mm_w")`},
		{"product shapes", func(m map[string]any) { node(m, "bmm")["input"] = []any{"sum", "m"} }, `node "bmm" (op BatchMatMulV2): operands [-1 4 4 8] and [16 -1]: inner extents 8 and 16 differ`},
		{"cycle", func(m map[string]any) { node(m, "scaled")["input"] = []any{"two", "centred"} }, "is on a cycle of the graph"},
		{"dangling", func(m map[string]any) { node(m, "sg")["input"] = []any{"nowhere"} }, `node "sg" (op Sigmoid): input "nowhere" names no node of the graph`},
		{"second output", func(m map[string]any) { node(m, "sg")["input"] = []any{"cv_bias:1"} }, `input "cv_bias:1": only output 0`},
		{"missing weight", func(m map[string]any) { renameWeight(m, "ca_w", "other") }, `node "ca_w" (op Const): its value is not in the weights manifest`},
		{"strided value", func(m map[string]any) { node(m, "ss")["input"].([]any)[3] = "ss3_b" }, `node "ss" (op StridedSlice): stride 0 on axis 0`},
		{"stride 2", func(m map[string]any) { node(m, "ss3")["input"].([]any)[3] = "mp_p" }, `node "ss3" (op StridedSlice): begin`},
		{"mirror too wide", func(m map[string]any) { node(m, "mp")["input"].([]any)[0] = "rmin" }, `node "mp" (op MirrorPad): REFLECT padding 2, 1 of axis 1 (extent 1): want at most 0`},
		{"reflect too wide", func(m map[string]any) { attr(m, "ms")["mode"] = synthgraph.S("EDGE") }, `node "ms" (op MirrorPad): mode "EDGE"`},
		{"resize modes", func(m map[string]any) { attr(m, "rb_half")["align_corners"] = synthgraph.B(true) }, `node "rb_half" (op ResizeBilinear): align_corners and half_pixel_centers together`},
		{"resize size", func(m map[string]any) { node(m, "rb_half")["input"].([]any)[1] = "ss_b" }, `node "rb_half" (op ResizeBilinear): images [-1 4 4 8], size [0 1 0 2]: want NHWC images and [height, width]`},
		{"computed input", func(m map[string]any) { node(m, "cv")["input"] = []any{"cv_w", "cv_w"} }, `node "cv" (op Conv2D): the input is the constant "cv_w"`},
		{"unknown format", func(m map[string]any) { m["format"] = "saved-model" }, `model.json is a "saved-model" (want a layers-model or a graph-model)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(mj, &m); err != nil {
				t.Fatal(err)
			}
			c.edit(m)
			b, _ := json.Marshal(m)
			_, _, err := ImportFS(fstest.MapFS{"model.json": {Data: b}, "group1-shard1of1.bin": {Data: shard}}, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}

// TestBareWeightsManifest checks the error for a weights manifest without
// topology (@vladmandic/face-api ships its models so), given as the file
// or as the directory that holds it.
func TestBareWeightsManifest(t *testing.T) {
	manifest := []byte(`[{"paths": ["face_model.bin"], "weights": [{"name": "conv/filters", "shape": [3, 3, 3, 8], "dtype": "float32"}]}]`)
	for _, c := range []struct{ file, want string }{
		{"model.json", "model.json is a bare weights manifest (a list of weight groups, as @vladmandic/face-api ships): it has no model topology to convert; the importer needs a model.json with a modelTopology"},
		{"face_model-weights_manifest.json", "only face_model-weights_manifest.json: a bare weights manifest has no model topology to convert; the importer needs a model.json with a modelTopology"},
	} {
		_, _, err := ImportFS(fstest.MapFS{c.file: {Data: manifest}, "face_model.bin": {Data: make([]byte, 864)}}, "")
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\nwant %q", c.file, err, c.want)
		}
	}
}

// FuzzGraphModelJSON feeds arbitrary graph-model JSON (with the synthetic
// graph's shard) to the importer: it must not panic, and what it accepts
// must build as a graph and plan on its input.
func FuzzGraphModelJSON(f *testing.F) {
	dir := f.TempDir()
	if err := synthgraph.Synth().Write(dir); err != nil {
		f.Fatal(err)
	}
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	f.Add(mj)
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"-1"},{"size":"4"}]}}}},{"name":"r","op":"Relu","input":["x"]}]}}`))
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"2"}]}}}},{"name":"s","op":"StridedSlice","input":["x","b","b","b"],"attr":{"shrink_axis_mask":{"i":"1"},"ellipsis_mask":{"i":"2"}}},{"name":"b","op":"Const","input":["^x"]}]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"b","shape":[2],"dtype":"int32"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"model.json": {Data: data}, "group1-shard1of1.bin": {Data: shard}}
		m, ts, err := ImportFS(fsys, "")
		if err != nil {
			return
		}
		g, err := graph.New(cpu.New(), m.Graph, ts)
		if err != nil {
			t.Fatalf("imported graph does not build: %v\n%s", err, m.Graph)
		}
		g.Free()
	})
}

// TestGraphInputSize converts the synthetic graph with a dynamic input
// size: refused with a hint at --input-size, then fixed by Options to
// the same graph as the model whose input is 9x8; a fixed input refuses
// another size.
func TestGraphInputSize(t *testing.T) {
	dir := t.TempDir()
	sg := synthgraph.Synth()
	if err := sg.Write(dir); err != nil {
		t.Fatal(err)
	}
	fixed, _, err := Import(dir)
	if err != nil {
		t.Fatal(err)
	}
	dyn := t.TempDir()
	sg.Nodes[0]["attr"].(map[string]any)["shape"] = map[string]any{"shape": synthgraph.Dims([]int{-1, -1, -1, 3})}
	if err := sg.Write(dyn); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(dyn); err == nil || !strings.Contains(err.Error(), "the model's input size is dynamic: fix it with the converter's --input-size") {
		t.Errorf("dynamic size without options: %v", err)
	}
	m, _, err := ImportWith(dyn, Options{Height: 9, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Graph) != string(fixed.Graph) || !slices.Equal(m.Input.Shape, fixed.Input.Shape) {
		t.Errorf("dynamic input fixed at 9x8: the graph or input %v differs from the fixed model's %v", m.Input.Shape, fixed.Input.Shape)
	}
	if _, _, err := ImportWith(dir, Options{Height: 10, Width: 8}); err == nil || !strings.Contains(err.Error(), `node "in" (op Placeholder): input size 10x8 asked for, but the input is fixed at [-1 9 8 3]`) {
		t.Errorf("fixed input, another size: %v", err)
	}
}
