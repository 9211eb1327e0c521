package onnx_test

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"webcnn/tools/convert/onnx"
)

// sample is a model that uses every field the package knows.
func sample() *onnx.Model {
	w := onnx.FloatTensor("conv.weight", []int64{2, 1, 1, 1}, []float32{0.5, -2})
	sub := &onnx.Graph{
		Name:   "then",
		Node:   []*onnx.Node{{OpType: "Identity", Input: []string{"x"}, Output: []string{"y"}}},
		Output: []*onnx.ValueInfo{onnx.TensorInfo("y", 1)},
	}
	return &onnx.Model{
		IRVersion:       8,
		OpsetImport:     []onnx.OperatorSetID{{Version: 17}, {Domain: "com.microsoft", Version: 1}},
		ProducerName:    "test",
		ProducerVersion: "0.1",
		Domain:          "org.example",
		ModelVersion:    3,
		DocString:       "every field",
		Graph: &onnx.Graph{
			Name:      "g",
			DocString: "graph doc",
			Node: []*onnx.Node{
				{OpType: "Conv", Name: "conv", Input: []string{"input", "conv.weight", ""}, Output: []string{"c"},
					Attribute: []*onnx.Attribute{
						onnx.IntsAttr("pads", 0, 0, 0, 0), onnx.IntAttr("group", 1), onnx.IntAttr("zero", 0),
						onnx.FloatAttr("alpha", 0), onnx.FloatAttr("beta", -1.5), onnx.StringAttr("auto_pad", "NOTSET"),
						{Name: "fs", Type: onnx.AttrFloats, Floats: []float32{1, 2.5}},
						{Name: "ss", Type: onnx.AttrStrings, Strings: [][]byte{[]byte("a"), []byte("")}},
						{Name: "ts", Type: onnx.AttrTensors, Tensors: []*onnx.Tensor{onnx.Int64Tensor("", []int64{1}, []int64{-7})}},
						{Name: "gs", Type: onnx.AttrGraphs, Graphs: []*onnx.Graph{sub}},
						{Name: "then_branch", Type: onnx.AttrGraph, G: sub, DocString: "branch"},
					}, DocString: "node doc", Domain: ""},
				{OpType: "Constant", Output: []string{"k"}, Attribute: []*onnx.Attribute{
					onnx.TensorAttr("value", onnx.Int64Tensor("", []int64{2}, []int64{1, math.MinInt64}))}},
			},
			Initializer: []*onnx.Tensor{w,
				{Name: "fd", Dims: []int64{3}, DataType: onnx.Float, FloatData: []float32{1, -1, 3}},
				{Name: "i32", Dims: []int64{2}, DataType: onnx.Int32, Int32Data: []int32{-5, 5}},
				{Name: "d", Dims: []int64{1}, DataType: onnx.Double, DoubleData: []float64{math.Pi}},
				{Name: "u", Dims: []int64{1}, DataType: 13, Uint64Data: []uint64{math.MaxUint64}},
				{Name: "s", Dims: []int64{1}, DataType: 8, StringData: [][]byte{[]byte("str")}, DocString: "t doc"},
				{Name: "ext", Dims: []int64{4}, DataType: onnx.Float, DataLocation: 1,
					ExternalData: []onnx.StringEntry{{Key: "location", Value: "w.bin"}, {Key: "offset", Value: "0"}}},
			},
			Input: []*onnx.ValueInfo{onnx.TensorInfo("input", 1, 1, 2, 2)},
			Output: []*onnx.ValueInfo{{Name: "c", DocString: "out", Type: &onnx.Type{Denotation: "TENSOR",
				Tensor: &onnx.TensorType{ElemType: onnx.Float, Shape: &onnx.TensorShape{Dim: []onnx.Dimension{
					{Param: "N"}, {Value: 2, Denotation: "DATA_CHANNEL"}, {Value: 0}}}}}}},
			ValueInfo: []*onnx.ValueInfo{{Name: "k", Type: &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Int64}}}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	b := m.Marshal()
	var got onnx.Model
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Errorf("Unmarshal(Marshal(m)) differs:\n got %+v\nwant %+v", got.Graph, m.Graph)
	}
	if b2 := got.Marshal(); !bytes.Equal(b, b2) {
		t.Errorf("second Marshal differs: %d vs %d bytes", len(b2), len(b))
	}
	w, err := got.Graph.Initializer[0].Float32s()
	if err != nil || !reflect.DeepEqual(w, []float32{0.5, -2}) {
		t.Errorf("Float32s = %v, %v; want [0.5 -2]", w, err)
	}
	k, err := got.Graph.Node[1].Attr("value").T.Int64s()
	if err != nil || !reflect.DeepEqual(k, []int64{1, math.MinInt64}) {
		t.Errorf("Int64s = %v, %v", k, err)
	}
}

// TestReaderTolerance reads fields the way other writers emit them:
// packed where onnx.proto is unpacked and the reverse, unknown fields of
// every wire type, and a deprecated group.
func TestReaderTolerance(t *testing.T) {
	var tb []byte
	tb = protowire.AppendTag(tb, 1, protowire.BytesType) // dims packed
	tb = protowire.AppendBytes(tb, protowire.AppendVarint(protowire.AppendVarint(nil, 2), 3))
	tb = protowire.AppendTag(tb, 2, protowire.VarintType)
	tb = protowire.AppendVarint(tb, uint64(onnx.Float))
	for _, f := range []float32{1, 2, 3, 4, 5, 6} { // float_data unpacked
		tb = protowire.AppendTag(tb, 4, protowire.Fixed32Type)
		tb = protowire.AppendFixed32(tb, math.Float32bits(f))
	}
	tb = protowire.AppendTag(tb, 8, protowire.BytesType)
	tb = protowire.AppendString(tb, "w")
	tb = protowire.AppendTag(tb, 99, protowire.Fixed64Type)
	tb = protowire.AppendFixed64(tb, 7)
	tb = protowire.AppendTag(tb, 100, protowire.StartGroupType)
	tb = protowire.AppendTag(tb, 1, protowire.VarintType)
	tb = protowire.AppendVarint(tb, 1)
	tb = protowire.AppendTag(tb, 100, protowire.EndGroupType)

	var ab []byte // attribute with packed ints
	ab = protowire.AppendTag(ab, 1, protowire.BytesType)
	ab = protowire.AppendString(ab, "pads")
	ab = protowire.AppendTag(ab, 8, protowire.BytesType)
	ab = protowire.AppendBytes(ab, protowire.AppendVarint(protowire.AppendVarint(nil, 1), uint64(0xffffffffffffffff)))
	ab = protowire.AppendTag(ab, 20, protowire.VarintType)
	ab = protowire.AppendVarint(ab, uint64(onnx.AttrInts))

	var nb []byte
	nb = protowire.AppendTag(nb, 4, protowire.BytesType)
	nb = protowire.AppendString(nb, "Pad")
	nb = protowire.AppendTag(nb, 5, protowire.BytesType)
	nb = protowire.AppendBytes(nb, ab)
	nb = protowire.AppendTag(nb, 8, protowire.BytesType) // NodeProto.overload, unknown here
	nb = protowire.AppendString(nb, "x")

	var gb []byte
	gb = protowire.AppendTag(gb, 1, protowire.BytesType)
	gb = protowire.AppendBytes(gb, nb)
	gb = protowire.AppendTag(gb, 5, protowire.BytesType)
	gb = protowire.AppendBytes(gb, tb)
	gb = protowire.AppendTag(gb, 15, protowire.BytesType) // sparse_initializer, skipped
	gb = protowire.AppendBytes(gb, []byte{8, 1})

	var mb []byte
	mb = protowire.AppendTag(mb, 1, protowire.VarintType)
	mb = protowire.AppendVarint(mb, 9)
	mb = protowire.AppendTag(mb, 7, protowire.BytesType)
	mb = protowire.AppendBytes(mb, gb)
	mb = protowire.AppendTag(mb, 14, protowire.BytesType) // metadata_props, skipped
	mb = protowire.AppendBytes(mb, []byte{10, 1, 'k'})

	var m onnx.Model
	if err := m.Unmarshal(mb); err != nil {
		t.Fatal(err)
	}
	w, err := m.Graph.Initializer[0].Float32s()
	if err != nil || !reflect.DeepEqual(w, []float32{1, 2, 3, 4, 5, 6}) || !reflect.DeepEqual(m.Graph.Initializer[0].Dims, []int64{2, 3}) {
		t.Errorf("initializer %+v: floats %v, %v", m.Graph.Initializer[0], w, err)
	}
	if a := m.Graph.Node[0].Attr("pads"); a == nil || !reflect.DeepEqual(a.Ints, []int64{1, -1}) || a.Type != onnx.AttrInts {
		t.Errorf("attribute pads = %+v, want ints [1 -1]", a)
	}
	if m.IRVersion != 9 || m.Graph.Node[0].OpType != "Pad" {
		t.Errorf("model %+v", m)
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated tag", []byte{0x80}},
		{"truncated length", []byte{0x3a, 0x05, 1}},                             // graph: 5 bytes announced, 1 given
		{"wrong wire type", []byte{0x0d, 0, 0, 0, 0}},                           // ir_version as fixed32
		{"bad nested", []byte{0x3a, 0x02, 0x0a, 0x05}},                          // graph > node with truncated length
		{"field zero", []byte{0x00, 0x01}},                                      // field number 0 is invalid
		{"end group alone", []byte{0x0c}},                                       // field 1, end group
		{"bad packed floats", []byte{0x3a, 0x06, 0x2a, 0x04, 0x22, 0x02, 0, 0}}, // float_data with 2 bytes
	} {
		var m onnx.Model
		if err := m.Unmarshal(tc.b); err == nil {
			t.Errorf("%s: Unmarshal(%x) = nil error, want one", tc.name, tc.b)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	// Graph > node > attribute > graph ... deeper than the reader allows.
	var g []byte
	for i := 0; i < 100; i++ {
		var a []byte
		a = protowire.AppendTag(a, 6, protowire.BytesType)
		a = protowire.AppendBytes(a, g)
		var n []byte
		n = protowire.AppendTag(n, 5, protowire.BytesType)
		n = protowire.AppendBytes(n, a)
		g = protowire.AppendTag(nil, 1, protowire.BytesType)
		g = protowire.AppendBytes(g, n)
	}
	var gr onnx.Graph
	if err := gr.Unmarshal(g); err == nil {
		t.Error("Unmarshal of 100 nested graphs: nil error, want the depth limit")
	}
}

func FuzzUnmarshalModel(f *testing.F) {
	f.Add(sample().Marshal())
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m onnx.Model
		if err := m.Unmarshal(b); err != nil {
			return
		}
		// What was read must survive a round trip.
		var m2 onnx.Model
		if err := m2.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("re-reading a written model: %v", err)
		}
		if m2.Graph != nil {
			for _, t2 := range m2.Graph.Initializer {
				_, _ = t2.Float32s()
				_, _ = t2.Int64s()
			}
		}
	})
}
