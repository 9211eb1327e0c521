package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDepth bounds the nesting of graphs inside attributes (If, Loop), so
// that a hostile file cannot recurse without end.
const maxDepth = 64

// ErrDepth reports messages nested deeper than the reader accepts.
var ErrDepth = errors.New("onnx: messages nested too deeply")

// field is one decoded protobuf field: a varint or fixed value in u, or
// the bytes of a length-delimited value in b (aliasing the input).
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

// fields calls f for every field of the message encoded in b. Groups
// (deprecated, not used by ONNX) are skipped.
func fields(b []byte, f func(fd field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		fd := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			fd.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			fd.u = uint64(v)
		case protowire.Fixed64Type:
			fd.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			fd.b, n = protowire.ConsumeBytes(b)
		case protowire.StartGroupType:
			n = protowire.ConsumeFieldValue(num, typ, b)
		default:
			return fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.StartGroupType {
			continue
		}
		if err := f(fd); err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
	}
	return nil
}

func (fd field) want(t protowire.Type) error {
	if fd.typ != t {
		return fmt.Errorf("wire type %d, want %d", fd.typ, t)
	}
	return nil
}

func (fd field) int() (int64, error) {
	return int64(fd.u), fd.want(protowire.VarintType)
}

func (fd field) float() (float32, error) {
	return math.Float32frombits(uint32(fd.u)), fd.want(protowire.Fixed32Type)
}

func (fd field) str() (string, error) {
	return string(fd.b), fd.want(protowire.BytesType)
}

func (fd field) bytes() ([]byte, error) {
	return fd.b, fd.want(protowire.BytesType)
}

// varints appends the values of a repeated varint field, packed or not.
func (fd field) varints(dst []uint64) ([]uint64, error) {
	switch fd.typ {
	case protowire.VarintType:
		return append(dst, fd.u), nil
	case protowire.BytesType:
		for b := fd.b; len(b) > 0; {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return dst, protowire.ParseError(n)
			}
			dst = append(dst, v)
			b = b[n:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("wire type %d for a repeated varint", fd.typ)
}

func (fd field) int64s(dst []int64) ([]int64, error) {
	u, err := fd.varints(nil)
	for _, v := range u {
		dst = append(dst, int64(v))
	}
	return dst, err
}

// fixed32s appends the values of a repeated float field, packed or not.
func (fd field) floats(dst []float32) ([]float32, error) {
	switch fd.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(fd.u))), nil
	case protowire.BytesType:
		if len(fd.b)%4 != 0 {
			return dst, fmt.Errorf("packed floats: %d bytes", len(fd.b))
		}
		for b := fd.b; len(b) > 0; {
			v, _ := protowire.ConsumeFixed32(b)
			dst = append(dst, math.Float32frombits(v))
			b = b[4:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("wire type %d for a repeated float", fd.typ)
}

func (fd field) doubles(dst []float64) ([]float64, error) {
	switch fd.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(fd.u)), nil
	case protowire.BytesType:
		if len(fd.b)%8 != 0 {
			return dst, fmt.Errorf("packed doubles: %d bytes", len(fd.b))
		}
		for b := fd.b; len(b) > 0; {
			v, _ := protowire.ConsumeFixed64(b)
			dst = append(dst, math.Float64frombits(v))
			b = b[8:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("wire type %d for a repeated double", fd.typ)
}

// Unmarshal decodes a .onnx file. Byte fields (raw_data, strings of
// attributes) alias b; unknown fields are skipped.
func (m *Model) Unmarshal(b []byte) error {
	*m = Model{}
	err := fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			m.IRVersion, err = fd.int()
		case 2:
			m.ProducerName, err = fd.str()
		case 3:
			m.ProducerVersion, err = fd.str()
		case 4:
			m.Domain, err = fd.str()
		case 5:
			m.ModelVersion, err = fd.int()
		case 6:
			m.DocString, err = fd.str()
		case 7:
			m.Graph = new(Graph)
			err = sub(fd, func(b []byte) error { return m.Graph.decode(b, 0) })
		case 8:
			var o OperatorSetID
			if err = sub(fd, o.Unmarshal); err == nil {
				m.OpsetImport = append(m.OpsetImport, o)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("onnx: model: %w", err)
	}
	return nil
}

// sub decodes a nested message field with dec.
func sub(fd field, dec func([]byte) error) error {
	b, err := fd.bytes()
	if err != nil {
		return err
	}
	return dec(b)
}

// Unmarshal decodes an operator set id.
func (o *OperatorSetID) Unmarshal(b []byte) error {
	*o = OperatorSetID{}
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			o.Domain, err = fd.str()
		case 2:
			o.Version, err = fd.int()
		}
		return err
	})
}

// Unmarshal decodes a graph.
func (g *Graph) Unmarshal(b []byte) error { return g.decode(b, 0) }

func (g *Graph) decode(b []byte, depth int) error {
	if depth > maxDepth {
		return ErrDepth
	}
	*g = Graph{}
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			n := new(Node)
			if err = sub(fd, func(b []byte) error { return n.decode(b, depth) }); err == nil {
				g.Node = append(g.Node, n)
			} else {
				err = fmt.Errorf("node %d: %w", len(g.Node), err)
			}
		case 2:
			g.Name, err = fd.str()
		case 5:
			t := new(Tensor)
			if err = sub(fd, t.Unmarshal); err == nil {
				g.Initializer = append(g.Initializer, t)
			} else {
				err = fmt.Errorf("initializer %d: %w", len(g.Initializer), err)
			}
		case 10:
			g.DocString, err = fd.str()
		case 11, 12, 13:
			v := new(ValueInfo)
			if err = sub(fd, v.Unmarshal); err != nil {
				return err
			}
			switch fd.num {
			case 11:
				g.Input = append(g.Input, v)
			case 12:
				g.Output = append(g.Output, v)
			default:
				g.ValueInfo = append(g.ValueInfo, v)
			}
		}
		return err
	})
}

// Unmarshal decodes a node.
func (n *Node) Unmarshal(b []byte) error { return n.decode(b, 0) }

func (n *Node) decode(b []byte, depth int) error {
	*n = Node{}
	return fields(b, func(fd field) error {
		var err error
		var s string
		switch fd.num {
		case 1:
			if s, err = fd.str(); err == nil {
				n.Input = append(n.Input, s)
			}
		case 2:
			if s, err = fd.str(); err == nil {
				n.Output = append(n.Output, s)
			}
		case 3:
			n.Name, err = fd.str()
		case 4:
			n.OpType, err = fd.str()
		case 5:
			a := new(Attribute)
			if err = sub(fd, func(b []byte) error { return a.decode(b, depth) }); err == nil {
				n.Attribute = append(n.Attribute, a)
			}
		case 6:
			n.DocString, err = fd.str()
		case 7:
			n.Domain, err = fd.str()
		}
		return err
	})
}

// Unmarshal decodes an attribute.
func (a *Attribute) Unmarshal(b []byte) error { return a.decode(b, 0) }

func (a *Attribute) decode(b []byte, depth int) error {
	*a = Attribute{}
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			a.Name, err = fd.str()
		case 2:
			a.F, err = fd.float()
		case 3:
			a.I, err = fd.int()
		case 4:
			a.S, err = fd.bytes()
		case 5:
			a.T = new(Tensor)
			err = sub(fd, a.T.Unmarshal)
		case 6:
			a.G = new(Graph)
			err = sub(fd, func(b []byte) error { return a.G.decode(b, depth+1) })
		case 7:
			a.Floats, err = fd.floats(a.Floats)
		case 8:
			a.Ints, err = fd.int64s(a.Ints)
		case 9:
			var s []byte
			if s, err = fd.bytes(); err == nil {
				a.Strings = append(a.Strings, s)
			}
		case 10:
			t := new(Tensor)
			if err = sub(fd, t.Unmarshal); err == nil {
				a.Tensors = append(a.Tensors, t)
			}
		case 11:
			g := new(Graph)
			if err = sub(fd, func(b []byte) error { return g.decode(b, depth+1) }); err == nil {
				a.Graphs = append(a.Graphs, g)
			}
		case 13:
			a.DocString, err = fd.str()
		case 20:
			var t int64
			t, err = fd.int()
			a.Type = AttributeType(t)
		}
		return err
	})
}

// Unmarshal decodes a tensor; RawData aliases b.
func (t *Tensor) Unmarshal(b []byte) error {
	*t = Tensor{}
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			t.Dims, err = fd.int64s(t.Dims)
		case 2:
			var v int64
			v, err = fd.int()
			t.DataType = DataType(v)
		case 4:
			t.FloatData, err = fd.floats(t.FloatData)
		case 5:
			var u []uint64
			u, err = fd.varints(nil)
			for _, v := range u {
				t.Int32Data = append(t.Int32Data, int32(v))
			}
		case 6:
			var s []byte
			if s, err = fd.bytes(); err == nil {
				t.StringData = append(t.StringData, s)
			}
		case 7:
			t.Int64Data, err = fd.int64s(t.Int64Data)
		case 8:
			t.Name, err = fd.str()
		case 9:
			t.RawData, err = fd.bytes()
		case 10:
			t.DoubleData, err = fd.doubles(t.DoubleData)
		case 11:
			t.Uint64Data, err = fd.varints(t.Uint64Data)
		case 12:
			t.DocString, err = fd.str()
		case 13:
			var e StringEntry
			if err = sub(fd, e.unmarshal); err == nil {
				t.ExternalData = append(t.ExternalData, e)
			}
		case 14:
			var v int64
			v, err = fd.int()
			t.DataLocation = int32(v)
		}
		return err
	})
}

func (e *StringEntry) unmarshal(b []byte) error {
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			e.Key, err = fd.str()
		case 2:
			e.Value, err = fd.str()
		}
		return err
	})
}

// Unmarshal decodes a value info. Types other than tensors (sequences,
// maps) leave Type.Tensor nil.
func (v *ValueInfo) Unmarshal(b []byte) error {
	*v = ValueInfo{}
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			v.Name, err = fd.str()
		case 2:
			v.Type = new(Type)
			err = sub(fd, v.Type.unmarshal)
		case 3:
			v.DocString, err = fd.str()
		}
		return err
	})
}

func (t *Type) unmarshal(b []byte) error {
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			t.Tensor = new(TensorType)
			err = sub(fd, t.Tensor.unmarshal)
		case 6:
			t.Denotation, err = fd.str()
		}
		return err
	})
}

func (t *TensorType) unmarshal(b []byte) error {
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			var v int64
			v, err = fd.int()
			t.ElemType = DataType(v)
		case 2:
			t.Shape = new(TensorShape)
			err = sub(fd, t.Shape.unmarshal)
		}
		return err
	})
}

func (s *TensorShape) unmarshal(b []byte) error {
	return fields(b, func(fd field) error {
		if fd.num != 1 {
			return nil
		}
		var d Dimension
		if err := sub(fd, d.unmarshal); err != nil {
			return err
		}
		s.Dim = append(s.Dim, d)
		return nil
	})
}

func (d *Dimension) unmarshal(b []byte) error {
	return fields(b, func(fd field) error {
		var err error
		switch fd.num {
		case 1:
			d.Value, err = fd.int()
		case 2:
			d.Param, err = fd.str()
		case 3:
			d.Denotation, err = fd.str()
		}
		return err
	})
}
