package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// synthModel builds a small Keras Functional model that exercises the
// layers nsfwjs's MobileNetV2 does not (depth multiplier 2, separable
// convs, asymmetric padding, cropping, "same" pooling, merges, permute,
// reshape, dense on a rank-3 input, the lowered activations) with random
// weights stored as float32, uint8 and float16, and writes it as
// model.json + one .bin shard into dir.
func synthModel(t testing.TB, dir string) {
	rng := core.NewRNG(11)
	var layers []map[string]any
	var specs []map[string]any
	var shard []byte
	add := func(class, name string, cfg map[string]any, in ...string) {
		cfg["name"] = name
		var inbound []any
		if len(in) > 0 {
			var refs []any
			for _, i := range in {
				refs = append(refs, []any{i, 0, 0, map[string]any{}})
			}
			inbound = []any{refs}
		} else {
			inbound = []any{}
		}
		layers = append(layers, map[string]any{"class_name": class, "name": name, "config": cfg, "inbound_nodes": inbound})
	}
	// weight appends a random tensor in one of three storages, in turn.
	weight := func(name string, positive bool, shape ...int) {
		n := core.Shape(shape).Size()
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.NormFloat32()) * 0.5
			if positive {
				v[i] = math.Abs(v[i]) + 0.2
			}
		}
		spec := map[string]any{"name": name, "shape": shape, "dtype": "float32"}
		switch len(specs) % 3 {
		case 0:
			for _, x := range v {
				shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(float32(x)))
			}
		case 1:
			lo, hi := v[0], v[0]
			for _, x := range v {
				lo, hi = min(lo, x), max(hi, x)
			}
			scale := (hi - lo) / 255
			for _, x := range v {
				shard = append(shard, byte(math.Round((x-lo)/scale)))
			}
			spec["quantization"] = map[string]any{"dtype": "uint8", "scale": scale, "min": lo}
		case 2:
			for _, x := range v {
				shard = binary.LittleEndian.AppendUint16(shard, weights.F32ToF16(float32(x)))
			}
			spec["quantization"] = map[string]any{"dtype": "float16"}
		}
		specs = append(specs, spec)
	}
	conv := func(filters, k, stride int, pad, act string, bias bool) map[string]any {
		return map[string]any{"filters": filters, "kernel_size": []int{k, k}, "strides": []int{stride, stride},
			"padding": pad, "data_format": "channels_last", "dilation_rate": []int{1, 1}, "activation": act, "use_bias": bias}
	}

	add("InputLayer", "in", map[string]any{"batch_input_shape": []any{nil, 12, 10, 3}, "dtype": "float32"})
	add("ZeroPadding2D", "pad", map[string]any{"padding": [][]int{{1, 2}, {0, 1}}, "data_format": "channels_last"}, "in")
	add("Conv2D", "c1", conv(4, 3, 2, "same", "relu", true), "pad") // 15x11 -> 8x6x4
	weight("c1/kernel", false, 3, 3, 3, 4)
	weight("c1/bias", false, 4)
	add("DepthwiseConv2D", "dw", map[string]any{"kernel_size": []int{3, 3}, "strides": []int{1, 1}, "padding": "same",
		"depth_multiplier": 2, "data_format": "channels_last", "dilation_rate": []int{1, 1}, "activation": "linear", "use_bias": true}, "c1")
	weight("dw/depthwise_kernel", false, 3, 3, 4, 2)
	weight("dw/bias", false, 8)
	add("BatchNormalization", "bn", map[string]any{"axis": -1, "epsilon": 0.001, "center": true, "scale": false}, "dw")
	weight("bn/beta", false, 8)
	weight("bn/moving_mean", false, 8)
	weight("bn/moving_variance", true, 8)
	add("LeakyReLU", "lrelu", map[string]any{"alpha": 0.1}, "bn")
	sep := conv(8, 3, 1, "valid", "hard_sigmoid", true) // 8x6 -> 6x4x8
	sep["depth_multiplier"] = 1
	add("SeparableConv2D", "sep", sep, "lrelu")
	weight("sep/depthwise_kernel", false, 3, 3, 8, 1)
	weight("sep/pointwise_kernel", false, 1, 1, 8, 8)
	weight("sep/bias", false, 8)
	add("MaxPooling2D", "mp", map[string]any{"pool_size": []int{2, 2}, "strides": []int{1, 1}, "padding": "same", "data_format": "channels_last"}, "sep")
	add("Cropping2D", "crop", map[string]any{"cropping": [][]int{{1, 1}, {1, 1}}, "data_format": "channels_last"}, "lrelu")
	add("Conv2D", "c2", conv(8, 1, 1, "valid", "sigmoid", false), "crop")
	weight("c2/kernel", false, 1, 1, 8, 8)
	add("Multiply", "mul", map[string]any{}, "mp", "c2")
	add("Add", "sum", map[string]any{}, "mp", "c2")
	// 6x4x16; TF.js supports only alpha 1 in ELU.
	add("Concatenate", "cat", map[string]any{"axis": -1}, "mul", "sum")
	add("ELU", "elu", map[string]any{"alpha": 1.0}, "cat")
	// 3x2x16, permuted to 2x3x16.
	add("AveragePooling2D", "ap", map[string]any{"pool_size": []int{3, 3}, "strides": []int{2, 2}, "padding": "same", "data_format": "channels_last"}, "elu")
	add("Permute", "perm", map[string]any{"dims": []int{2, 1, 3}}, "ap")
	add("Reshape", "rs", map[string]any{"target_shape": []int{3, 32}}, "perm")
	add("Dense", "d1", map[string]any{"units": 6, "activation": "tanh", "use_bias": true}, "rs") // 3x6
	weight("d1/kernel", false, 32, 6)
	weight("d1/bias", false, 6)
	add("Flatten", "flat", map[string]any{}, "d1")
	add("Dense", "d2", map[string]any{"units": 5, "activation": "linear", "use_bias": true}, "flat")
	weight("d2/kernel", false, 18, 5)
	weight("d2/bias", false, 5)
	add("GlobalAveragePooling2D", "gap", map[string]any{"data_format": "channels_last"}, "cat")
	add("GlobalMaxPooling2D", "gmp", map[string]any{"data_format": "channels_last"}, "cat")
	add("Maximum", "diff", map[string]any{}, "gmp", "gap") // TF.js has no Subtract layer
	add("Dense", "d3", map[string]any{"units": 5, "activation": "swish", "use_bias": false}, "diff")
	weight("d3/kernel", false, 16, 5)
	add("Average", "avg", map[string]any{}, "d2", "d3")
	add("Activation", "out", map[string]any{"activation": "selu"}, "avg")

	model := map[string]any{
		"format": "layers-model",
		"modelTopology": map[string]any{"class_name": "Model", "config": map[string]any{
			"name": "synth", "layers": layers, "input_layers": []any{[]any{"in", 0, 0}}, "output_layers": []any{[]any{"out", 0, 0}}}},
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": specs}},
	}
	js, err := json.MarshalIndent(model, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), shard, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSyntheticParity compares the importer with TF.js on the synthetic
// model's many layer kinds and all three weight storages.
func TestSyntheticParity(t *testing.T) {
	dir := t.TempDir()
	synthModel(t, dir)
	m, ts, err := Import(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	g, err := graph.New(b, m.Graph, ts)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := g.OutputShapes(core.Shape{2, 12, 10, 3}); err != nil || !out[0].Equal(core.Shape{2, 5}) {
		t.Fatalf("planned output %v, %v", out, err)
	}
	rng := core.NewRNG(5)
	in := make([]float32, 2*12*10*3)
	for i := range in {
		in[i] = rng.NormFloat32()
	}
	x, err := core.FromData(b, core.Shape{2, 12, 10, 3}, in)
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := y.Data()

	node, _ := reference(t)
	want, dims := runTFJS(t, node, filepath.Join(dir, "model.json"), in, []int{2, 12, 10, 3})
	if !y.Shape().Equal(core.Shape(dims)) {
		t.Fatalf("output %v, TF.js %v", y.Shape(), dims)
	}
	worst := 0.0 // |diff| relative to max(1, |value|)
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i]-want[i]))/max(1, math.Abs(float64(want[i]))))
	}
	t.Logf("max relative |diff| %.3g\ngo   %v\ntfjs %v", worst, got, want)
	if worst > 1e-5 {
		t.Errorf("max relative |diff| %.3g > 1e-5", worst)
	}
}

// TestSharedAndSequential compares with TF.js a Functional model that calls
// one Dense layer twice (Keras node indexes 0 and 1) and a Sequential one.
func TestSharedAndSequential(t *testing.T) {
	rng := core.NewRNG(13)
	var shard []byte
	var specs []any
	weight := func(name string, shape ...int) {
		for i := 0; i < core.Shape(shape).Size(); i++ {
			shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(rng.NormFloat32()))
		}
		specs = append(specs, map[string]any{"name": name, "shape": shape, "dtype": "float32"})
	}
	ref := func(l string, n int) []any { return []any{l, n, 0, map[string]any{}} }
	weight("shared/kernel", 4, 4)
	weight("shared/bias", 4)
	functional := map[string]any{"class_name": "Model", "config": map[string]any{"name": "shared",
		"layers": []any{
			map[string]any{"class_name": "InputLayer", "name": "in", "config": map[string]any{"name": "in", "batch_input_shape": []any{nil, 4}}, "inbound_nodes": []any{}},
			map[string]any{"class_name": "Dense", "name": "shared", "config": map[string]any{"name": "shared", "units": 4, "activation": "tanh"},
				"inbound_nodes": []any{[]any{ref("in", 0)}, []any{ref("shared", 0)}}},
			map[string]any{"class_name": "Add", "name": "sum", "config": map[string]any{"name": "sum"},
				"inbound_nodes": []any{[]any{ref("shared", 0), ref("shared", 1)}}},
		},
		"input_layers": []any{[]any{"in", 0, 0}}, "output_layers": []any{[]any{"sum", 0, 0}}}}
	sequential := map[string]any{"class_name": "Sequential", "config": map[string]any{"name": "seq", "layers": []any{
		map[string]any{"class_name": "Dense", "config": map[string]any{"name": "shared", "units": 4, "activation": "relu", "batch_input_shape": []any{nil, 4}}},
		map[string]any{"class_name": "Dense", "config": map[string]any{"name": "head", "units": 3, "activation": "softmax"}},
	}}}
	var node string
	for _, c := range []struct {
		name string
		top  map[string]any
		more func()
	}{{"shared", functional, func() {}}, {"sequential", sequential, func() { weight("head/kernel", 4, 3); weight("head/bias", 3) }}} {
		t.Run(c.name, func(t *testing.T) {
			c.more()
			dir := t.TempDir()
			js, _ := json.Marshal(map[string]any{"modelTopology": c.top,
				"weightsManifest": []any{map[string]any{"paths": []string{"w.bin"}, "weights": specs}}})
			os.WriteFile(filepath.Join(dir, "model.json"), js, 0o644)
			os.WriteFile(filepath.Join(dir, "w.bin"), shard, 0o644)
			m, ts, err := Import(filepath.Join(dir, "model.json"))
			if err != nil {
				t.Fatal(err)
			}
			b := cpu.New()
			g, err := graph.New(b, m.Graph, ts)
			if err != nil {
				t.Fatal(err)
			}
			in := []float32{0.5, -1, 2, 0.25, -0.75, 1.5, 0, -2}
			x, _ := core.FromData(b, core.Shape{2, 4}, in)
			y, err := g.Forward(nn.Eval, x)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := y.Data()
			if node == "" {
				node, _ = reference(t)
			}
			want, dims := runTFJS(t, node, filepath.Join(dir, "model.json"), in, []int{2, 4})
			if !y.Shape().Equal(core.Shape(dims)) {
				t.Fatalf("output %v, TF.js %v", y.Shape(), dims)
			}
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6 {
					t.Fatalf("go %v\ntfjs %v", got, want)
				}
			}
		})
	}
}

// TestKeras3Inbound reads Keras 3's inbound_nodes form.
func TestKeras3Inbound(t *testing.T) {
	raw := `[{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 4], "keras_history": ["a", 0, 0]}},
		{"class_name": "__keras_tensor__", "config": {"keras_history": ["b", 1, 0]}}]], "kwargs": {"mask": null}}]`
	calls, err := inboundCalls(json.RawMessage(raw))
	if err != nil || len(calls) != 1 || len(calls[0]) != 2 || calls[0][0] != (tensorRef{"a", 0, 0}) || calls[0][1] != (tensorRef{"b", 1, 0}) {
		t.Errorf("got %v %v", calls, err)
	}
}
