// Package safetensors reads (and, for tests and exports, writes) the
// safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {"dtype", "shape", "data_offsets": [begin, end]}, with an
// optional "__metadata__" of strings}, then the tensors' little-endian
// bytes, offsets counted from the end of the header.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"webcnn/core/weights"
)

// ErrFormat reports a file that breaks the format.
var ErrFormat = errors.New("not a valid safetensors file")

// MaxHeader bounds the JSON header (the reference implementation's limit).
const MaxHeader = 100 << 20

// dtypes are the element types read, with their sizes in bytes; all
// convert to float32 (F64 and the 64-bit integers round to nearest).
var dtypes = map[string]int{"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

// info is one tensor of the header.
type info struct {
	name    string
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// ReadFile reads every tensor of a .safetensors file and its metadata.
func ReadFile(name string) ([]weights.Tensor, map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return Read(f, fi.Size(), name)
}

// Read reads every tensor of a safetensors file of size bytes, in the
// order of their data, converted to float32, and the header's
// __metadata__. Every tensor's offsets must lie in the data, match its
// dtype and shape exactly and not overlap another's; errors name the
// file (name) and the tensor.
func Read(r io.ReaderAt, size int64, name string) ([]weights.Tensor, map[string]string, error) {
	ts, meta, err := read(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: %w", name, err)
	}
	return ts, meta, nil
}

func read(r io.ReaderAt, size int64) ([]weights.Tensor, map[string]string, error) {
	infos, meta, start, err := header(r, size)
	if err != nil {
		return nil, nil, err
	}
	out := make([]weights.Tensor, len(infos))
	for i, t := range infos {
		b := make([]byte, t.Offsets[1]-t.Offsets[0])
		if _, err := r.ReadAt(b, start+t.Offsets[0]); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", t.name, err)
		}
		out[i] = weights.Tensor{Name: t.name, Shape: t.Shape, Data: decode(t.DType, b)}
	}
	return out, meta, nil
}

// header reads and validates the header; it returns the tensors sorted by
// their data offsets and where the data starts.
func header(r io.ReaderAt, size int64) ([]info, map[string]string, int64, error) {
	var nb [8]byte
	if size < 8 {
		return nil, nil, 0, fmt.Errorf("%w: %d bytes, shorter than the header length", ErrFormat, size)
	}
	if _, err := r.ReadAt(nb[:], 0); err != nil {
		return nil, nil, 0, err
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > MaxHeader {
		return nil, nil, 0, fmt.Errorf("%w: header of %d bytes in a file of %d", ErrFormat, n, size)
	}
	if n > uint64(size-8) {
		return nil, nil, 0, fmt.Errorf("%w: header of %d bytes in a file of %d: %w", ErrFormat, n, size, io.ErrUnexpectedEOF)
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, nil, 0, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	start := 8 + int64(n)
	data := size - start
	var meta map[string]string
	infos := make([]info, 0, len(raw))
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, 0, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrFormat, err)
			}
			continue
		}
		t := info{name: k}
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, nil, 0, fmt.Errorf("%w: tensor %q: %w", ErrFormat, k, err)
		}
		if err := t.check(data); err != nil {
			return nil, nil, 0, fmt.Errorf("%w: tensor %q: %w", ErrFormat, k, err)
		}
		infos = append(infos, t)
	}
	sort.Slice(infos, func(i, j int) bool {
		a, b := infos[i].Offsets, infos[j].Offsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		if a[1] != b[1] {
			return a[1] < b[1]
		}
		return infos[i].name < infos[j].name
	})
	var prev *info
	for i := range infos {
		t := &infos[i]
		if t.Offsets[0] == t.Offsets[1] {
			continue // empty: overlaps nothing
		}
		if prev != nil && t.Offsets[0] < prev.Offsets[1] {
			return nil, nil, 0, fmt.Errorf("%w: tensor %q at bytes %v overlaps tensor %q at %v", ErrFormat, t.name, t.Offsets, prev.name, prev.Offsets)
		}
		prev = t
	}
	return infos, meta, start, nil
}

// check validates a tensor's dtype, shape and offsets against data bytes.
func (t *info) check(data int64) error {
	es, ok := dtypes[t.DType]
	if !ok {
		return fmt.Errorf("dtype %q is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)", t.DType)
	}
	if t.Shape == nil {
		t.Shape = []int{} // a scalar
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/8/int64(d)) {
			return fmt.Errorf("shape %v", t.Shape)
		}
		n *= int64(d)
	}
	if len(t.Offsets) != 2 {
		return fmt.Errorf("data_offsets %v, want [begin, end]", t.Offsets)
	}
	b, e := t.Offsets[0], t.Offsets[1]
	if b < 0 || e < b {
		return fmt.Errorf("data_offsets %v out of the %d bytes of data", t.Offsets, data)
	}
	if e > data {
		return fmt.Errorf("data_offsets %v out of the %d bytes of data: %w", t.Offsets, data, io.ErrUnexpectedEOF)
	}
	if e-b != n*int64(es) {
		return fmt.Errorf("%s %v needs %d bytes, data_offsets %v hold %d", t.DType, t.Shape, n*int64(es), t.Offsets, e-b)
	}
	return nil
}

// decode converts little-endian elements of dtype d to float32.
func decode(d string, b []byte) []float32 {
	le := binary.LittleEndian
	es := dtypes[d]
	out := make([]float32, len(b)/es)
	for i := range out {
		p := b[i*es:]
		switch d {
		case "F32":
			out[i] = math.Float32frombits(le.Uint32(p))
		case "F16":
			out[i] = weights.F16ToF32(le.Uint16(p))
		case "BF16":
			out[i] = math.Float32frombits(uint32(le.Uint16(p)) << 16)
		case "F64":
			out[i] = float32(math.Float64frombits(le.Uint64(p)))
		case "I64":
			out[i] = float32(int64(le.Uint64(p)))
		case "I32":
			out[i] = float32(int32(le.Uint32(p)))
		case "I16":
			out[i] = float32(int16(le.Uint16(p)))
		case "I8":
			out[i] = float32(int8(p[0]))
		case "U8", "BOOL":
			out[i] = float32(p[0])
		}
	}
	return out
}
