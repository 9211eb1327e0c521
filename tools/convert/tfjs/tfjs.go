// Package tfjs imports TensorFlow.js layers models (a Keras model saved
// for the web: model.json with the Keras topology and a weights manifest,
// plus binary shards) into the runtime's manifest and graph IR.
//
// Keras kernels are already HWIO, the runtime's layout, so convolution and
// dense weights keep their TF.js names and shapes; depthwise kernels
// [kh, kw, Cin, mult] become [kh, kw, 1, Cin*mult] (the same bytes: Keras
// output channel c*mult+m reads input channel c, as core.Conv's groups do).
// Quantized weights are dequantized as TF.js does (uint8/uint16:
// q*scale + min in float64, rounded to float32; float16: widened).
//
// Besides plain model.json + .bin files, it reads models shipped as
// JavaScript modules (nsfwjs: model.min.js exporting the model JSON as an
// object literal, group1-shard1of1.min.js exporting the shard as base64).
package tfjs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"

	"webcnn/core/weights"
)

// ErrFormat reports a model this importer cannot read.
var ErrFormat = errors.New("tfjs: unsupported model")

// modelFile is model.json.
type modelFile struct {
	Format          string          `json:"format"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []weightGroup   `json:"weightsManifest"`
	// Signature names a graph model's inputs and outputs (newer
	// converters write it here, older ones under userDefinedMetadata).
	Signature           json.RawMessage `json:"signature"`
	UserDefinedMetadata json.RawMessage `json:"userDefinedMetadata"`
}

// weightGroup is one entry of the weights manifest: shards whose bytes,
// concatenated, hold the weights in order.
type weightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

// quantization is TF.js's per-tensor affine quantization.
type quantization struct {
	DType string   `json:"dtype"` // uint8, uint16, float16
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

// modelNames are the files a model directory may hold, in order of preference.
var modelNames = []string{"model.json", "model.min.js", "model.js"}

// Import reads a TF.js layers model from dir (a directory holding
// model.json, model.min.js or model.js with its shards, or the model file
// itself) and returns its manifest (graph, input shape, no labels) and
// tensors, ready for weights.WriteModel. The input spec says RGB pixels
// 0..255 unscaled (or GRAY for one channel): TF.js models do not record
// their preprocessing, so callers set Input.Scale, Mean and Std (see
// ImportNSFWJS).
func Import(dir string) (*weights.Manifest, []weights.Tensor, error) {
	return ImportWith(dir, Options{})
}

// Options configure ImportWith.
type Options struct {
	// Height and Width fix the input's spatial size where a graph model
	// leaves it dynamic (0: keep the model's; a layers model's, and a
	// graph model's fixed size, cannot change).
	Height, Width int
}

// ImportWith is Import with options.
func ImportWith(dir string, o Options) (*weights.Manifest, []weights.Tensor, error) {
	file := ""
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir, file = filepath.Split(dir)
		if dir == "" {
			dir = "."
		}
	}
	m, ts, err := ImportFSWith(os.DirFS(dir), file, o)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err) // the model's directory, for the user
	}
	return m, ts, nil
}

// ImportFS reads a model from fsys: the named model file, or when file is
// "" the first of model.json, model.min.js and model.js at its root.
func ImportFS(fsys fs.FS, file string) (*weights.Manifest, []weights.Tensor, error) {
	return ImportFSWith(fsys, file, Options{})
}

// ImportFSWith is ImportFS with options.
func ImportFSWith(fsys fs.FS, file string, o Options) (*weights.Manifest, []weights.Tensor, error) {
	if o.Height < 0 || o.Width < 0 || o.Height > maxInt || o.Width > maxInt {
		return nil, nil, fmt.Errorf("tfjs: input size %dx%d", o.Height, o.Width)
	}
	if file == "" {
		for _, n := range modelNames {
			if _, err := fs.Stat(fsys, n); err == nil {
				file = n
				break
			}
		}
		if file == "" {
			if bare, _ := fs.Glob(fsys, "*weights_manifest.json"); len(bare) > 0 {
				return nil, nil, fmt.Errorf("%w: no %s found, only %s: a bare weights manifest has no model topology to convert; "+
					"the importer needs a model.json with a modelTopology (a TF.js layers or graph model)", ErrFormat, strings.Join(modelNames, ", "), bare[0])
			}
			return nil, nil, fmt.Errorf("tfjs: no %s found", strings.Join(modelNames, ", "))
		}
	}
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, nil, fmt.Errorf("tfjs: %w", err)
	}
	mf, err := parseModelFile(file, src)
	if err != nil {
		return nil, nil, err
	}
	ws, err := readWeights(fsys, path.Dir(file), mf.WeightsManifest)
	if err != nil {
		return nil, nil, err
	}
	graph := isGraphTopology(mf.ModelTopology)
	if mf.Format == "graph-model" && !graph {
		return nil, nil, fmt.Errorf("%w: %s is a \"graph-model\" whose modelTopology has no node list (a GraphDef)", ErrFormat, file)
	}
	if graph {
		return convertGraph(file, mf, ws, o)
	}
	if o.Height > 0 || o.Width > 0 {
		return nil, nil, fmt.Errorf("tfjs: %s: a layers model's input size is fixed by its topology", file)
	}
	return convert(mf, ws)
}

// parseModelFile decodes model.json, or the model literal of a JavaScript module.
func parseModelFile(name string, src []byte) (*modelFile, error) {
	data := src
	if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") {
		v, err := exportedValue(string(src), func(v any) bool {
			m, ok := v.(map[string]any)
			return ok && m["modelTopology"] != nil
		})
		if err != nil {
			return nil, fmt.Errorf("tfjs: %s: no model literal: %w", name, err)
		}
		if data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("tfjs: %s: %w", name, err)
		}
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		return nil, fmt.Errorf("%w: %s is a bare weights manifest (a list of weight groups, as @vladmandic/face-api ships): "+
			"it has no model topology to convert; the importer needs a model.json with a modelTopology "+
			"(a TF.js layers or graph model) beside the weights", ErrFormat, name)
	}
	var mf modelFile
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w", name, err)
	}
	if mf.Format != "" && mf.Format != "layers-model" && mf.Format != "graph-model" {
		return nil, fmt.Errorf("%w: %s is a %q (want a layers-model or a graph-model)", ErrFormat, name, mf.Format)
	}
	if len(mf.ModelTopology) == 0 || string(mf.ModelTopology) == "null" {
		return nil, fmt.Errorf("%w: %s has no modelTopology", ErrFormat, name)
	}
	return &mf, nil
}

// weightData is a decoded weight.
type weightData struct {
	spec weightSpec
	data []float32
}

// readWeights reads every group's shards and decodes its weights.
func readWeights(fsys fs.FS, dir string, groups []weightGroup) (map[string]*weightData, error) {
	out := map[string]*weightData{}
	for gi, g := range groups {
		var buf []byte
		for _, p := range g.Paths {
			b, err := readShard(fsys, dir, p)
			if err != nil {
				return nil, err
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, s := range g.Weights {
			v, n, err := decodeWeight(s, buf[off:])
			if err != nil {
				return nil, fmt.Errorf("tfjs: weight group %d (shards %s): %w", gi, strings.Join(g.Paths, ", "), err)
			}
			off += n
			if _, dup := out[s.Name]; dup {
				return nil, fmt.Errorf("tfjs: weight %q listed twice", s.Name)
			}
			out[s.Name] = &weightData{spec: s, data: v}
		}
	}
	return out, nil
}

// readShard reads a shard: the path as given, or a JavaScript module
// beside it (path.min.js, path.js) exporting the bytes as base64.
func readShard(fsys fs.FS, dir, p string) ([]byte, error) {
	name := path.Join(dir, p)
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("tfjs: shard path %q leaves the model directory", p)
	}
	if b, err := fs.ReadFile(fsys, name); err == nil {
		return b, nil
	}
	for _, ext := range []string{".min.js", ".js"} {
		src, err := fs.ReadFile(fsys, name+ext)
		if err != nil {
			continue
		}
		b, err := shardBytes(string(src))
		if err != nil {
			return nil, fmt.Errorf("tfjs: shard %s: %w", name+ext, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("tfjs: shard %s not found (nor %s.min.js, %s.js)", name, name, name)
}

// decodeWeight decodes one weight from the front of b and returns its
// values and the bytes it took.
func decodeWeight(s weightSpec, b []byte) ([]float32, int, error) {
	n := 1
	for _, d := range s.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, 0, fmt.Errorf("weight %q: bad shape %v", s.Name, s.Shape)
		}
		n *= d
	}
	size := 4
	q := s.Quantization
	if q != nil {
		switch q.DType {
		case "uint8":
			size = 1
		case "uint16", "float16":
			size = 2
		default:
			return nil, 0, fmt.Errorf("weight %q: unknown quantization dtype %q", s.Name, q.DType)
		}
		if q.DType != "float16" && (q.Scale == nil || q.Min == nil) {
			return nil, 0, fmt.Errorf("weight %q: %s quantization without scale and min", s.Name, q.DType)
		}
		if q.DType == "float16" && s.DType != "float32" {
			return nil, 0, fmt.Errorf("weight %q: float16 quantization of a %s weight", s.Name, s.DType)
		}
	} else if s.DType != "float32" && s.DType != "int32" {
		return nil, 0, fmt.Errorf("weight %q: dtype %q (want float32 or int32)", s.Name, s.DType)
	}
	if n*size > len(b) {
		return nil, 0, fmt.Errorf("weight %q %v needs %d bytes, the shards have %d left: %w", s.Name, s.Shape, n*size, len(b), io.ErrUnexpectedEOF)
	}
	v := make([]float32, n)
	for i := range v {
		switch {
		case q == nil && s.DType == "float32":
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case q == nil:
			v[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
		case q.DType == "float16":
			v[i] = weights.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		default:
			u := float64(b[i])
			if q.DType == "uint16" {
				u = float64(binary.LittleEndian.Uint16(b[2*i:]))
			}
			f := u**q.Scale + *q.Min // as TF.js: in float64, stored as float32
			if s.DType == "int32" {
				f = math.Floor(f + 0.5) // JavaScript's Math.round
			}
			v[i] = float32(f)
		}
	}
	return v, n * size, nil
}
