package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// FloatTensor returns a FLOAT tensor holding v in raw_data (little-endian).
func FloatTensor(name string, dims []int64, v []float32) *Tensor {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return &Tensor{Name: name, Dims: dims, DataType: Float, RawData: raw}
}

// Int64Tensor returns an INT64 tensor holding v in int64_data.
func Int64Tensor(name string, dims []int64, v []int64) *Tensor {
	return &Tensor{Name: name, Dims: dims, DataType: Int64, Int64Data: v}
}

// Size returns the number of elements the dims describe (1 for a scalar),
// or an error for negative or overflowing dims.
func (t *Tensor) Size() (int, error) {
	n := 1
	for _, d := range t.Dims {
		if d < 0 || (d > 0 && int64(n) > math.MaxInt/d) {
			return 0, fmt.Errorf("onnx: tensor %q: dims %v out of range", t.Name, t.Dims)
		}
		n *= int(d)
	}
	return n, nil
}

// Float32s returns the elements of a FLOAT tensor from raw_data or
// float_data, checked against the dims.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DataType != Float {
		return nil, fmt.Errorf("onnx: tensor %q has data type %d, want FLOAT (1)", t.Name, t.DataType)
	}
	if t.DataLocation == 1 {
		return nil, fmt.Errorf("onnx: tensor %q: external data is not supported", t.Name)
	}
	n, err := t.Size()
	if err != nil {
		return nil, err
	}
	var v []float32
	if t.RawData != nil {
		if len(t.RawData) != 4*n {
			return nil, fmt.Errorf("onnx: tensor %q: %d raw bytes for dims %v", t.Name, len(t.RawData), t.Dims)
		}
		v = make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}
		return v, nil
	}
	if len(t.FloatData) != n {
		return nil, fmt.Errorf("onnx: tensor %q: %d floats for dims %v", t.Name, len(t.FloatData), t.Dims)
	}
	return t.FloatData, nil
}

// Int64s returns the elements of an INT64 tensor from raw_data or
// int64_data, checked against the dims.
func (t *Tensor) Int64s() ([]int64, error) {
	if t.DataType != Int64 {
		return nil, fmt.Errorf("onnx: tensor %q has data type %d, want INT64 (7)", t.Name, t.DataType)
	}
	n, err := t.Size()
	if err != nil {
		return nil, err
	}
	if t.RawData != nil {
		if len(t.RawData) != 8*n {
			return nil, fmt.Errorf("onnx: tensor %q: %d raw bytes for dims %v", t.Name, len(t.RawData), t.Dims)
		}
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
		}
		return v, nil
	}
	if len(t.Int64Data) != n {
		return nil, fmt.Errorf("onnx: tensor %q: %d int64s for dims %v", t.Name, len(t.Int64Data), t.Dims)
	}
	return t.Int64Data, nil
}

// Attr returns the node's attribute with the given name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attribute {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) *Attribute { return &Attribute{Name: name, Type: AttrInt, I: v} }

// IntsAttr returns an INTS attribute.
func IntsAttr(name string, v ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: v}
}

// FloatAttr returns a FLOAT attribute.
func FloatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// StringAttr returns a STRING attribute.
func StringAttr(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// TensorAttr returns a TENSOR attribute (the "value" of a Constant node).
func TensorAttr(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}

// TensorInfo returns the value info of a FLOAT tensor with fixed dims.
func TensorInfo(name string, dims ...int64) *ValueInfo {
	s := &TensorShape{Dim: make([]Dimension, len(dims))}
	for i, d := range dims {
		s.Dim[i].Value = d
	}
	return &ValueInfo{Name: name, Type: &Type{Tensor: &TensorType{ElemType: Float, Shape: s}}}
}
