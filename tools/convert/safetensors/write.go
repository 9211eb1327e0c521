package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"webcnn/core/weights"
)

// Write saves tensors in the given order with dtype (any the reader
// reads; F16 and BF16 round to nearest even, integers truncate toward
// zero, BOOL is x != 0) and optional metadata. The header is padded with spaces to a multiple
// of 8 bytes, as the reference implementation does.
func Write(w io.Writer, ts []weights.Tensor, dtype string, meta map[string]string) error {
	es, ok := dtypes[dtype]
	if !ok {
		return fmt.Errorf("safetensors: cannot write dtype %q", dtype)
	}
	var h bytes.Buffer
	h.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
		h.WriteString(`"__metadata__":`)
		h.Write(m)
	}
	var off int64
	for i, t := range ts {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v needs %d values, got %d", t.Name, t.Shape, n, len(t.Data))
		}
		if i > 0 || len(meta) > 0 {
			h.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sh, _ := json.Marshal(shape)
		end := off + int64(n*es)
		fmt.Fprintf(&h, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, sh, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint64(nil, uint64(h.Len()))); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, t := range ts {
		if _, err := w.Write(encode(dtype, t.Data)); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

func encode(dtype string, v []float32) []byte {
	le := binary.LittleEndian
	var b []byte
	for _, x := range v {
		switch dtype {
		case "F32":
			b = le.AppendUint32(b, math.Float32bits(x))
		case "F16":
			b = le.AppendUint16(b, weights.F32ToF16(x))
		case "BF16":
			u := math.Float32bits(x)
			if x != x { // NaN stays NaN
				b = le.AppendUint16(b, uint16(u>>16)|0x40)
				continue
			}
			b = le.AppendUint16(b, uint16((u+0x7fff+(u>>16&1))>>16))
		case "F64":
			b = le.AppendUint64(b, math.Float64bits(float64(x)))
		case "I64":
			b = le.AppendUint64(b, uint64(int64(x)))
		case "I32":
			b = le.AppendUint32(b, uint32(int32(x)))
		case "I16":
			b = le.AppendUint16(b, uint16(int16(x)))
		case "I8", "U8":
			b = append(b, byte(int(x)))
		case "BOOL":
			if x != 0 {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b
}
