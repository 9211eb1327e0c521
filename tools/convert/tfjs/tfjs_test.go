package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/weights"
)

func TestJSLiteral(t *testing.T) {
	cases := []struct{ src, want string }{
		{`module.exports={a:1,"b":[!0,!1,null],c:'x\'y',d:-.5e-3}`, `{"a":1,"b":[true,false,null],"c":"x'y","d":-0.0005}`},
		{`a.exports = [1, 2,], b = 3`, `[1,2]`},
		{`export default {k: void 0, $u: "\u00e9\x41\n", 7: 0x1F}`, `{"$u":"éA\n","7":31,"k":null}`},
		{`h.exports=/* c */ "QUJD"`, `"QUJD"`},
		{`module.exports=e();else x.exports={ok:true}`, `{"ok":true}`},
	}
	for _, c := range cases {
		v, err := exportedValue(c.src, func(any) bool { return true })
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		got, _ := json.Marshal(v)
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.src, got, c.want)
		}
	}
	for _, bad := range []string{`module.exports={a:}`, `module.exports="unterminated`, `exports={a:1e999}`, `exports=[` + strings.Repeat("[", 300)} {
		if v, err := exportedValue(bad, func(any) bool { return true }); err == nil {
			t.Errorf("%s: parsed as %v", bad, v)
		}
	}
	if b, err := shardBytes(`!function(){}({1:[function(e,h,n){h.exports="AAEC/w=="},{}]})`); err != nil || !reflect.DeepEqual(b, []byte{0, 1, 2, 255}) {
		t.Errorf("shard: %v %v", b, err)
	}
	v, err := assignedValue(`export var NSFW_CLASSES = {0: 'Drawing', 1: 'Hentai'};`, "NSFW_CLASSES")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := indexedLabels(v); err != nil || !reflect.DeepEqual(l, []string{"Drawing", "Hentai"}) {
		t.Errorf("labels %v %v", l, err)
	}
}

func TestDecodeWeight(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	u16 := binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0), 1000)
	i32 := binary.LittleEndian.AppendUint32(nil, uint32(0xfffffffe)) // -2
	cases := []struct {
		spec weightSpec
		data []byte
		want []float32
	}{
		// TF.js io_utils decodeWeight: q*scale + min in float64, stored as float32.
		{weightSpec{Name: "u8", Shape: []int{3}, DType: "float32", Quantization: &quantization{DType: "uint8", Scale: f(0.01), Min: f(-1)}},
			[]byte{0, 255, 128}, []float32{-1, float32(255*0.01 - 1), float32(128*0.01 - 1)}},
		{weightSpec{Name: "u16", Shape: []int{2}, DType: "float32", Quantization: &quantization{DType: "uint16", Scale: f(0.5), Min: f(2)}},
			u16, []float32{2, 502}},
		{weightSpec{Name: "f16", Shape: []int{2}, DType: "float32", Quantization: &quantization{DType: "float16"}},
			[]byte{0x00, 0x3c, 0x00, 0xc0}, []float32{1, -2}}, // IEEE halves 1 and -2
		{weightSpec{Name: "i32", Shape: []int{1}, DType: "int32"}, i32, []float32{-2}},
		{weightSpec{Name: "f32", Shape: []int{1, 1}, DType: "float32"}, binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.25)), []float32{0.25}},
	}
	for _, c := range cases {
		got, n, err := decodeWeight(c.spec, c.data)
		if err != nil || n != len(c.data) || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v (%d bytes) %v, want %v", c.spec.Name, got, n, err, c.want)
		}
	}
	for _, c := range []struct {
		spec weightSpec
		want string
	}{
		{weightSpec{Name: "short", Shape: []int{4}, DType: "float32"}, "needs 16 bytes"},
		{weightSpec{Name: "q", Shape: []int{1}, DType: "float32", Quantization: &quantization{DType: "int4"}}, "unknown quantization"},
		{weightSpec{Name: "q", Shape: []int{1}, DType: "float32", Quantization: &quantization{DType: "uint8"}}, "without scale and min"},
		{weightSpec{Name: "s", Shape: []int{1}, DType: "string"}, `dtype "string"`},
		{weightSpec{Name: "big", Shape: []int{1 << 20, 1 << 20}, DType: "float32"}, "bad shape"},
	} {
		if _, _, err := decodeWeight(c.spec, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.spec.Name, err, c.want)
		}
	}
}

// jsLiteral writes v as a minifier would: bare keys, !0 and !1.
func jsLiteral(v any) string {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			kk := k
			if strings.ContainsAny(k, "/ -.:") {
				kk = fmt.Sprintf("%q", k)
			}
			parts[i] = kk + ":" + jsLiteral(t[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = jsLiteral(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case bool:
		if t {
			return "!0"
		}
		return "!1"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestImportJSModules checks that a model shipped as JavaScript modules
// (nsfwjs's form) imports exactly as its model.json + .bin form.
func TestImportJSModules(t *testing.T) {
	plain := t.TempDir()
	synthModel(t, plain)
	mj, _ := os.ReadFile(filepath.Join(plain, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(plain, "group1-shard1of1.bin"))
	var v map[string]any
	if err := json.Unmarshal(mj, &v); err != nil {
		t.Fatal(err)
	}
	v["weightsManifest"].([]any)[0].(map[string]any)["paths"] = []any{"group1-shard1of1"}
	js := t.TempDir()
	wrap := `!function(e){"object"==typeof exports&&"undefined"!=typeof module?module.exports=e():window.model=e()}(function(){return{1:[function(e,a,n){a.exports=%s},{}]}})`
	os.WriteFile(filepath.Join(js, "model.min.js"), []byte(fmt.Sprintf(wrap, jsLiteral(v))), 0o644)
	os.WriteFile(filepath.Join(js, "group1-shard1of1.min.js"), fmt.Appendf(nil, wrap, `"`+b64(shard)+`"`), 0o644)

	m1, t1, err := Import(plain)
	if err != nil {
		t.Fatal(err)
	}
	m2, t2, err := Import(js)
	if err != nil {
		t.Fatal(err)
	}
	if string(m1.Graph) != string(m2.Graph) || !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(m1.Input, m2.Input) {
		t.Errorf("the JavaScript form imports differently")
	}
	if !reflect.DeepEqual(m1.Input, weights.Input{Shape: []int{1, 12, 10, 3}, ChannelOrder: "RGB", Scale: 1}) {
		t.Errorf("input %+v", m1.Input)
	}
	// Every tensor keeps its TF.js name; the depthwise kernel [3,3,4,2]
	// becomes [3,3,1,8].
	shapes := map[string][]int{}
	for _, tt := range t1 {
		shapes[tt.Name] = tt.Shape
	}
	if !reflect.DeepEqual(shapes["dw/depthwise_kernel"], []int{3, 3, 1, 8}) || !reflect.DeepEqual(shapes["c1/kernel"], []int{3, 3, 3, 4}) {
		t.Errorf("shapes %v", shapes)
	}
	// scale: false gives a gamma of ones under the layer's name.
	if _, ok := shapes["bn/gamma"]; !ok {
		t.Errorf("no synthesized bn/gamma: %v", shapes)
	}
}

func b64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var s strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				s.WriteByte(enc[n>>(18-6*j)&63])
			} else {
				s.WriteByte('=')
			}
		}
	}
	return s.String()
}

// TestImportErrors checks that unsupported models are refused with errors
// naming the layer and the reason.
func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	synthModel(t, dir)
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		shard  []byte
		want   string
		format bool
	}{
		{"graph model", func(m map[string]any) { m["format"] = "graph-model" }, shard, `model.json is a "graph-model" whose modelTopology has no node list`, true},
		{"unknown layer", func(m map[string]any) { layerCfg(m, "lrelu")["class_name"] = "PReLU" }, shard, `layer "lrelu" (PReLU): unsupported layer class`, false},
		{"channels first", func(m map[string]any) { cfgOf(m, "c1")["data_format"] = "channels_first" }, shard, `layer "c1" (Conv2D): data_format "channels_first"`, false},
		{"missing weight", func(m map[string]any) { renameWeight(m, "c1/bias", "c1/b") }, shard, `layer "c1" (Conv2D): weight "c1/bias" is not in the weights manifest`, false},
		{"short shard", func(map[string]any) {}, shard[:100], "the shards have", false},
		{"bad activation", func(m map[string]any) { cfgOf(m, "d1")["activation"] = "mish" }, shard, `layer "d1" (Dense): unsupported activation "mish"`, false},
		{"bad padding", func(m map[string]any) { cfgOf(m, "c1")["padding"] = "full" }, shard, `padding "full"`, false},
		{"huge alpha", func(m map[string]any) { cfgOf(m, "lrelu")["alpha"] = 1e300 }, shard, `layer "lrelu" (LeakyReLU): alpha 1e+300 is out of float32 range`, false},
		{"dangling input", func(m map[string]any) {
			layerCfg(m, "mul")["inbound_nodes"] = []any{[]any{[]any{"nowhere", 0, 0, map[string]any{}}, []any{"c2", 0, 0, map[string]any{}}}}
		}, shard, "read tensors no layer produces", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(mj, &m)
			c.edit(m)
			b, _ := json.Marshal(m)
			_, _, err := ImportFS(fstest.MapFS{"model.json": {Data: b}, "group1-shard1of1.bin": {Data: c.shard}}, "")
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrFormat) != c.format {
				t.Errorf("got %v, want %q (ErrFormat %v)", err, c.want, c.format)
			}
		})
	}
}

func layerCfg(m map[string]any, name string) map[string]any {
	for _, l := range m["modelTopology"].(map[string]any)["config"].(map[string]any)["layers"].([]any) {
		if l := l.(map[string]any); l["name"] == name {
			return l
		}
	}
	panic("no layer " + name)
}

func cfgOf(m map[string]any, name string) map[string]any {
	return layerCfg(m, name)["config"].(map[string]any)
}

func renameWeight(m map[string]any, from, to string) {
	for _, w := range m["weightsManifest"].([]any)[0].(map[string]any)["weights"].([]any) {
		if w := w.(map[string]any); w["name"] == from {
			w["name"] = to
		}
	}
}

// FuzzModelJSON feeds arbitrary model.json files (with the synthetic
// model's shard) to the importer: it must not panic, and what it accepts
// must build as a graph.
func FuzzModelJSON(f *testing.F) {
	dir := f.TempDir()
	synthModel(f, dir)
	mj, _ := os.ReadFile(filepath.Join(dir, "model.json"))
	shard, _ := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	f.Add(mj)
	f.Add([]byte(`{"modelTopology":{"class_name":"Sequential","config":[{"class_name":"Dense","config":{"name":"d","units":2,"batch_input_shape":[null,3]}}]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"d/kernel","shape":[3,2],"dtype":"float32"},{"name":"d/bias","shape":[2],"dtype":"float32"}]}]}`))
	f.Add([]byte(`{"modelTopology":{"keras_version":"3","model_config":{"class_name":"Functional","config":{"layers":[{"class_name":"InputLayer","name":"i","config":{"batch_shape":[null,4,4,3]}},{"class_name":"ReLU","name":"r","config":{"max_value":6},"inbound_nodes":[{"args":[{"class_name":"__keras_tensor__","config":{"keras_history":["i",0,0]}}],"kwargs":{}}]}],"input_layers":["i",0,0],"output_layers":["r",0,0]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"model.json": {Data: data}, "group1-shard1of1.bin": {Data: shard}}
		m, ts, err := ImportFS(fsys, "")
		if err != nil {
			return
		}
		if _, err := graph.New(cpu.New(), m.Graph, ts); err != nil {
			t.Fatalf("imported graph does not build: %v\n%s", err, m.Graph)
		}
	})
}

// FuzzJSLiteral feeds arbitrary JavaScript to the literal reader.
func FuzzJSLiteral(f *testing.F) {
	for _, s := range []string{`module.exports={a:[1,!0,"x\u0041"],b:{c:.5}}`, `h.exports="QUJD"`, `export default [void 0, 'a\
b']`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := exportedValue(src, func(any) bool { return true })
		if err != nil {
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("%q parsed to %v, which has no JSON form: %v", src, v, err)
		}
	})
}
