//go:build !(js && wasm)

package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnximport"
)

// QuantModel is a small quantized ONNX graph written here (seeded): a
// dynamically quantized convolution (DynamicQuantizeLinear, ConvInteger)
// then QOperator layers (QuantizeLinear, QLinearConv with per-channel int8
// weights and an int32 bias, DequantizeLinear), which the browser test
// holds to onnxruntime's output like the PP-OCR models.
const QuantModel = "onnx-quantized"

// quantONNX writes the model's ONNX bytes.
func quantONNX() []byte {
	rng := rand.New(rand.NewPCG(21, 5))
	var nodes []*onnx.Node
	var inits []*onnx.Tensor
	k := 0
	name := func(s string) string { k++; return s + string(rune('a'+k%26)) + string(rune('0'+k/26)) }
	q8 := func(t onnx.DataType, dims ...int64) string {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rng.IntN(256))
		}
		ten := &onnx.Tensor{Name: name("w"), Dims: dims, DataType: t, RawData: raw}
		inits = append(inits, ten)
		return ten.Name
	}
	scalar := func(t onnx.DataType, raw ...byte) string {
		ten := &onnx.Tensor{Name: name("z"), DataType: t, RawData: raw}
		if len(raw) > 1 {
			ten.Dims = []int64{int64(len(raw))}
		}
		inits = append(inits, ten)
		return ten.Name
	}
	fl := func(v ...float32) string {
		dims := []int64(nil)
		if len(v) > 1 {
			dims = []int64{int64(len(v))}
		}
		ten := onnx.FloatTensor(name("s"), dims, v)
		inits = append(inits, ten)
		return ten.Name
	}
	op := func(typ string, in []string, nout int, attrs ...*onnx.Attribute) []string {
		outs := make([]string, nout)
		for i := range outs {
			outs[i] = name(typ)
		}
		nodes = append(nodes, &onnx.Node{OpType: typ, Name: name(typ + "_"), Input: in, Output: outs, Attribute: attrs})
		return outs
	}
	pads := onnx.IntsAttr("pads", 1, 1, 1, 1)
	q := op("DynamicQuantizeLinear", []string{"x"}, 3)
	c := op("ConvInteger", []string{q[0], q8(onnx.Uint8, 8, 3, 3, 3), q[2], scalar(onnx.Uint8, 128)}, 1, pads, onnx.IntsAttr("strides", 2, 2))
	s := op("Mul", []string{q[1], fl(0.01)}, 1)
	y := op("Mul", []string{op("Cast", c, 1, onnx.IntAttr("to", 1))[0], s[0]}, 1)
	y = op("Relu", y, 1)
	xq := op("QuantizeLinear", []string{y[0], fl(0.02), scalar(onnx.Int8, 0)}, 1)
	ws := make([]float32, 8)
	for i := range ws {
		ws[i] = 0.001 + 0.0005*float32(i)
	}
	bias := make([]byte, 4*8)
	for i := range 8 {
		v := int32(rng.IntN(2000) - 1000)
		bias[4*i], bias[4*i+1], bias[4*i+2], bias[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	inits = append(inits, &onnx.Tensor{Name: "qbias", Dims: []int64{8}, DataType: onnx.Int32, RawData: bias})
	qc := op("QLinearConv", []string{xq[0], fl(0.02), scalar(onnx.Int8, 0), q8(onnx.Int8, 8, 8, 3, 3), fl(ws...), scalar(onnx.Int8, 0, 0, 0, 0, 0, 0, 0, 0),
		fl(0.05), scalar(onnx.Int8, 10), "qbias"}, 1, pads)
	out := op("DequantizeLinear", []string{qc[0], fl(0.05), scalar(onnx.Int8, 10)}, 1)
	m := &onnx.Model{IRVersion: onnx.IRVersion, OpsetImport: []onnx.OperatorSetID{{Version: 13}}, Graph: &onnx.Graph{
		Name: QuantModel, Node: nodes, Initializer: inits,
		Input:  []*onnx.ValueInfo{onnx.TensorInfo("x", 1, 3, 32, 48)},
		Output: []*onnx.ValueInfo{{Name: out[0], Type: &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Float}}}},
	}}
	return m.Marshal()
}

// prepareQuant writes the quantized model (ONNX file and manifest) and
// onnxruntime's output on a seeded input as one more reference case.
func prepareQuant(rt interface {
	Run(string, []float32, []int) ([]float32, []int, error)
}, dir string, seed uint64) (PPOCRCase, error) {
	raw := quantONNX()
	refDir := filepath.Join(dir, PPOCRRef)
	path := filepath.Join(refDir, QuantModel+".onnx")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return PPOCRCase{}, err
	}
	m, ts, err := onnximport.Import(raw, QuantModel)
	if err != nil {
		return PPOCRCase{}, err
	}
	if err := weights.WriteModel(filepath.Join(dir, QuantModel), weights.WriterOptions{}, m, ts, nil); err != nil {
		return PPOCRCase{}, err
	}
	const h, w = 32, 48
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, h*w*3)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	out, dims, err := rt.Run(path, toNCHW(x, h, w), []int{1, 3, h, w})
	if err != nil {
		return PPOCRCase{}, err
	}
	pc := PPOCRCase{Model: QuantModel, Shape: []int{1, h, w, 3}, In: "quant.in.f32", Out: "quant.out.f32", Dims: dims}
	// onnxruntime's output is NCHW [1, 8, 16, 24]; ours is NHWC.
	c, oh, ow := dims[1], dims[2], dims[3]
	nhwc := make([]float32, len(out))
	for k := range c {
		for i := range oh * ow {
			nhwc[i*c+k] = out[k*oh*ow+i]
		}
	}
	if err := writeF32(filepath.Join(refDir, pc.In), x); err != nil {
		return PPOCRCase{}, err
	}
	return pc, writeF32(filepath.Join(refDir, pc.Out), nhwc)
}
