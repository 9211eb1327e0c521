// Package onnx reads and writes the subset of ONNX's protobuf messages
// that a CNN needs (model, graph, node, attribute, tensor, value info), and
// exports an nn layer tree as an ONNX graph (Export) so that an independent
// runtime can check our forward pass.
//
// The messages are plain Go structs with Marshal and Unmarshal methods
// written on google.golang.org/protobuf/encoding/protowire; no generated
// code. Field numbers are onnx.proto's (onnx/onnx.proto, IR version 8+) and
// are stated next to each field. The reader skips fields it does not know,
// accepts repeated scalars packed or not, and never panics on bad input.
package onnx

// IRVersion is the ONNX IR version Export writes (IR 8: opsets up to 17).
const IRVersion = 8

// Model is onnx.ModelProto.
type Model struct {
	IRVersion       int64           // 1
	OpsetImport     []OperatorSetID // 8
	ProducerName    string          // 2
	ProducerVersion string          // 3
	Domain          string          // 4
	ModelVersion    int64           // 5
	DocString       string          // 6
	Graph           *Graph          // 7
}

// OperatorSetID is onnx.OperatorSetIdProto; Domain "" is the default
// "ai.onnx" operator set.
type OperatorSetID struct {
	Domain  string // 1
	Version int64  // 2
}

// Graph is onnx.GraphProto.
type Graph struct {
	Node        []*Node      // 1
	Name        string       // 2
	Initializer []*Tensor    // 5
	DocString   string       // 10
	Input       []*ValueInfo // 11
	Output      []*ValueInfo // 12
	ValueInfo   []*ValueInfo // 13
}

// Node is onnx.NodeProto.
type Node struct {
	Input     []string     // 1
	Output    []string     // 2
	Name      string       // 3
	OpType    string       // 4
	Attribute []*Attribute // 5
	DocString string       // 6
	Domain    string       // 7
}

// AttributeType is onnx.AttributeProto.AttributeType.
type AttributeType int32

// Attribute types (the values of onnx.proto's enum).
const (
	AttrUndefined AttributeType = 0
	AttrFloat     AttributeType = 1
	AttrInt       AttributeType = 2
	AttrString    AttributeType = 3
	AttrTensor    AttributeType = 4
	AttrGraph     AttributeType = 5
	AttrFloats    AttributeType = 6
	AttrInts      AttributeType = 7
	AttrStrings   AttributeType = 8
	AttrTensors   AttributeType = 9
	AttrGraphs    AttributeType = 10
)

// Attribute is onnx.AttributeProto. Type says which value field is used.
type Attribute struct {
	Name      string        // 1
	Type      AttributeType // 20
	F         float32       // 2
	I         int64         // 3
	S         []byte        // 4
	T         *Tensor       // 5
	G         *Graph        // 6
	Floats    []float32     // 7
	Ints      []int64       // 8
	Strings   [][]byte      // 9
	Tensors   []*Tensor     // 10
	Graphs    []*Graph      // 11
	DocString string        // 13
}

// DataType is onnx.TensorProto.DataType.
type DataType int32

// Element types (the values of onnx.proto's enum) this package uses.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Int32     DataType = 6
	Int64     DataType = 7
	Float16   DataType = 10
	Double    DataType = 11
)

// Tensor is onnx.TensorProto. Element data lives in exactly one of the
// typed fields or RawData (little-endian, fixed width).
type Tensor struct {
	Dims         []int64       // 1
	DataType     DataType      // 2
	FloatData    []float32     // 4
	Int32Data    []int32       // 5
	StringData   [][]byte      // 6
	Int64Data    []int64       // 7
	Name         string        // 8
	RawData      []byte        // 9
	DoubleData   []float64     // 10
	Uint64Data   []uint64      // 11
	DocString    string        // 12
	ExternalData []StringEntry // 13
	DataLocation int32         // 14 (1: external)
}

// StringEntry is onnx.StringStringEntryProto.
type StringEntry struct {
	Key   string // 1
	Value string // 2
}

// ValueInfo is onnx.ValueInfoProto: a graph input, output or
// intermediate value with its type.
type ValueInfo struct {
	Name      string // 1
	Type      *Type  // 2
	DocString string // 3
}

// Type is onnx.TypeProto; only the tensor case is kept.
type Type struct {
	Tensor     *TensorType // 1 (tensor_type)
	Denotation string      // 6
}

// TensorType is onnx.TypeProto.Tensor. A nil Shape is an unknown rank.
type TensorType struct {
	ElemType DataType     // 1
	Shape    *TensorShape // 2
}

// TensorShape is onnx.TensorShapeProto.
type TensorShape struct {
	Dim []Dimension // 1
}

// Dimension is onnx.TensorShapeProto.Dimension: a size (Value) or a
// symbolic name (Param, when not "").
type Dimension struct {
	Value      int64  // 1 (dim_value)
	Param      string // 2 (dim_param)
	Denotation string // 3
}
