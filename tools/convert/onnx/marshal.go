package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// writer appends protobuf fields to b, or only counts their bytes when
// count is set, so that one encode method per message gives both the
// length prefix of a nested message and its bytes (no intermediate copies
// of large raw_data).
type writer struct {
	b     []byte
	count bool
	n     int
}

// message is a protobuf message this package can encode.
type message interface{ encode(w *writer) }

// sizeOf returns the encoded length of m.
func sizeOf(m message) int {
	w := writer{count: true}
	m.encode(&w)
	return w.n
}

// marshal returns the encoding of m.
func marshal(m message) []byte {
	w := writer{b: make([]byte, 0, sizeOf(m))}
	m.encode(&w)
	return w.b
}

func (w *writer) tag(num protowire.Number, t protowire.Type) {
	if w.count {
		w.n += protowire.SizeTag(num)
		return
	}
	w.b = protowire.AppendTag(w.b, num, t)
}

func (w *writer) varint(v uint64) {
	if w.count {
		w.n += protowire.SizeVarint(v)
		return
	}
	w.b = protowire.AppendVarint(w.b, v)
}

// int writes an int64 (or enum) field, even when zero.
func (w *writer) int(num protowire.Number, v int64) {
	w.tag(num, protowire.VarintType)
	w.varint(uint64(v))
}

// optInt writes an int64 field unless it is zero.
func (w *writer) optInt(num protowire.Number, v int64) {
	if v != 0 {
		w.int(num, v)
	}
}

// float writes a float field, even when zero.
func (w *writer) float(num protowire.Number, v float32) {
	w.tag(num, protowire.Fixed32Type)
	if w.count {
		w.n += 4
		return
	}
	w.b = protowire.AppendFixed32(w.b, math.Float32bits(v))
}

// bytes writes a length-delimited field, even when empty.
func (w *writer) bytes(num protowire.Number, v []byte) {
	w.tag(num, protowire.BytesType)
	w.varint(uint64(len(v)))
	if w.count {
		w.n += len(v)
		return
	}
	w.b = append(w.b, v...)
}

// str writes a string field unless it is empty.
func (w *writer) str(num protowire.Number, s string) {
	if s == "" {
		return
	}
	w.tag(num, protowire.BytesType)
	w.varint(uint64(len(s)))
	if w.count {
		w.n += len(s)
		return
	}
	w.b = append(w.b, s...)
}

// msg writes a nested message field.
func (w *writer) msg(num protowire.Number, m message) {
	n := sizeOf(m)
	w.tag(num, protowire.BytesType)
	w.varint(uint64(n))
	if w.count {
		w.n += n
		return
	}
	m.encode(w)
}

// packed writes n fixed-size or varint elements as one packed field.
func (w *writer) packed(num protowire.Number, n int, size func(i int) int, put func(i int)) {
	if n == 0 {
		return
	}
	total := 0
	for i := 0; i < n; i++ {
		total += size(i)
	}
	w.tag(num, protowire.BytesType)
	w.varint(uint64(total))
	if w.count {
		w.n += total
		return
	}
	for i := 0; i < n; i++ {
		put(i)
	}
}

func (w *writer) packedFloats(num protowire.Number, v []float32) {
	w.packed(num, len(v), func(int) int { return 4 }, func(i int) {
		w.b = protowire.AppendFixed32(w.b, math.Float32bits(v[i]))
	})
}

func (w *writer) packedDoubles(num protowire.Number, v []float64) {
	w.packed(num, len(v), func(int) int { return 8 }, func(i int) {
		w.b = protowire.AppendFixed64(w.b, math.Float64bits(v[i]))
	})
}

func (w *writer) packedVarints(num protowire.Number, n int, at func(i int) uint64) {
	w.packed(num, n, func(i int) int { return protowire.SizeVarint(at(i)) }, func(i int) {
		w.b = protowire.AppendVarint(w.b, at(i))
	})
}

// Marshal returns the model's protobuf encoding: the bytes of a .onnx file.
func (m *Model) Marshal() []byte { return marshal(m) }

func (m *Model) encode(w *writer) {
	w.int(1, m.IRVersion)
	w.str(2, m.ProducerName)
	w.str(3, m.ProducerVersion)
	w.str(4, m.Domain)
	w.optInt(5, m.ModelVersion)
	w.str(6, m.DocString)
	if m.Graph != nil {
		w.msg(7, m.Graph)
	}
	for i := range m.OpsetImport {
		w.msg(8, &m.OpsetImport[i])
	}
}

// Marshal returns the operator set id's protobuf encoding.
func (o *OperatorSetID) Marshal() []byte { return marshal(o) }

func (o *OperatorSetID) encode(w *writer) {
	w.str(1, o.Domain)
	w.int(2, o.Version)
}

// Marshal returns the graph's protobuf encoding.
func (g *Graph) Marshal() []byte { return marshal(g) }

func (g *Graph) encode(w *writer) {
	for _, n := range g.Node {
		w.msg(1, n)
	}
	w.str(2, g.Name)
	for _, t := range g.Initializer {
		w.msg(5, t)
	}
	w.str(10, g.DocString)
	for _, v := range g.Input {
		w.msg(11, v)
	}
	for _, v := range g.Output {
		w.msg(12, v)
	}
	for _, v := range g.ValueInfo {
		w.msg(13, v)
	}
}

// Marshal returns the node's protobuf encoding.
func (n *Node) Marshal() []byte { return marshal(n) }

func (n *Node) encode(w *writer) {
	// Inputs and outputs are positional: an empty name (an omitted
	// optional input) must still be written.
	for _, s := range n.Input {
		w.bytes(1, []byte(s))
	}
	for _, s := range n.Output {
		w.bytes(2, []byte(s))
	}
	w.str(3, n.Name)
	w.str(4, n.OpType)
	for _, a := range n.Attribute {
		w.msg(5, a)
	}
	w.str(6, n.DocString)
	w.str(7, n.Domain)
}

// Marshal returns the attribute's protobuf encoding. The value field that
// Type selects is always written, even when it is zero.
func (a *Attribute) Marshal() []byte { return marshal(a) }

func (a *Attribute) encode(w *writer) {
	w.str(1, a.Name)
	switch a.Type {
	case AttrFloat:
		w.float(2, a.F)
	case AttrInt:
		w.int(3, a.I)
	case AttrString:
		w.bytes(4, a.S)
	case AttrTensor:
		if a.T != nil {
			w.msg(5, a.T)
		}
	case AttrGraph:
		if a.G != nil {
			w.msg(6, a.G)
		}
	}
	// onnx.proto declares these repeated fields unpacked (proto2).
	for _, f := range a.Floats {
		w.float(7, f)
	}
	for _, i := range a.Ints {
		w.int(8, i)
	}
	for _, s := range a.Strings {
		w.bytes(9, s)
	}
	for _, t := range a.Tensors {
		w.msg(10, t)
	}
	for _, g := range a.Graphs {
		w.msg(11, g)
	}
	w.str(13, a.DocString)
	w.int(20, int64(a.Type))
}

// Marshal returns the tensor's protobuf encoding.
func (t *Tensor) Marshal() []byte { return marshal(t) }

func (t *Tensor) encode(w *writer) {
	for _, d := range t.Dims { // unpacked in onnx.proto
		w.int(1, d)
	}
	w.int(2, int64(t.DataType))
	w.packedFloats(4, t.FloatData)
	w.packedVarints(5, len(t.Int32Data), func(i int) uint64 { return uint64(int64(t.Int32Data[i])) })
	for _, s := range t.StringData {
		w.bytes(6, s)
	}
	w.packedVarints(7, len(t.Int64Data), func(i int) uint64 { return uint64(t.Int64Data[i]) })
	w.str(8, t.Name)
	if t.RawData != nil {
		w.bytes(9, t.RawData)
	}
	w.packedDoubles(10, t.DoubleData)
	w.packedVarints(11, len(t.Uint64Data), func(i int) uint64 { return t.Uint64Data[i] })
	w.str(12, t.DocString)
	for i := range t.ExternalData {
		w.msg(13, &t.ExternalData[i])
	}
	w.optInt(14, int64(t.DataLocation))
}

func (e *StringEntry) encode(w *writer) {
	w.str(1, e.Key)
	w.str(2, e.Value)
}

// Marshal returns the value info's protobuf encoding.
func (v *ValueInfo) Marshal() []byte { return marshal(v) }

func (v *ValueInfo) encode(w *writer) {
	w.str(1, v.Name)
	if v.Type != nil {
		w.msg(2, v.Type)
	}
	w.str(3, v.DocString)
}

func (t *Type) encode(w *writer) {
	if t.Tensor != nil {
		w.msg(1, t.Tensor)
	}
	w.str(6, t.Denotation)
}

func (t *TensorType) encode(w *writer) {
	w.int(1, int64(t.ElemType))
	if t.Shape != nil {
		w.msg(2, t.Shape)
	}
}

func (s *TensorShape) encode(w *writer) {
	for i := range s.Dim {
		w.msg(1, &s.Dim[i])
	}
}

func (d *Dimension) encode(w *writer) {
	if d.Param != "" {
		w.str(2, d.Param)
	} else {
		w.int(1, d.Value)
	}
	w.str(3, d.Denotation)
}
