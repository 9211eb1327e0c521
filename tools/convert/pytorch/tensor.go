package pytorch

import (
	"encoding/binary"
	"fmt"
	"math"

	"webcnn/core/weights"
)

// elements checks the view against its storage and returns its number
// of elements. A view with more elements than its storage (expanded or
// overlapping) is refused: no state_dict saves one, and a file could
// otherwise ask for far more memory than its size.
func (t *tensor) elements() (int, error) {
	st := t.st
	if t.offset < 0 {
		return 0, fmt.Errorf("storage offset %d", t.offset)
	}
	n, last := 1, t.offset
	for i, d := range t.size {
		if d < 0 || t.stride[i] < 0 || d > maxElements || t.stride[i] > maxElements {
			return 0, fmt.Errorf("size %v, stride %v", t.size, t.stride)
		}
		if d == 0 {
			return 0, nil
		}
		if d > st.numel/n {
			return 0, fmt.Errorf("view (size %v, stride %v) has more elements than its storage %q (%d)", t.size, t.stride, st.key, st.numel)
		}
		n *= d
		if last += (d - 1) * t.stride[i]; last > maxElements {
			return 0, fmt.Errorf("view (size %v, stride %v) has more elements than its storage %q (%d)", t.size, t.stride, st.key, st.numel)
		}
	}
	if last >= st.numel {
		return 0, fmt.Errorf("view (offset %d, size %v, stride %v) reads element %d of storage %q, which has %d",
			t.offset, t.size, t.stride, last, st.key, st.numel)
	}
	return n, nil
}

// float32s gathers a strided view of its storage in row-major order,
// converting each element to float32 (float64 and 64-bit integers are
// rounded to the nearest float32; bfloat16 and float16 widen exactly).
func (t *tensor) float32s() ([]float32, error) {
	st := t.st
	n, err := t.elements()
	if err != nil || n == 0 {
		return []float32{}, err
	}
	b, err := st.bytes()
	if err != nil {
		return nil, err
	}
	at, err := elementReader(st.dt, b)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if contiguous(t.size, t.stride) {
		for i := range out {
			out[i] = at(t.offset + i)
		}
		return out, nil
	}
	idx := make([]int, len(t.size))
	pos := t.offset
	for i := range out {
		out[i] = at(pos)
		for k := len(idx) - 1; k >= 0; k-- { // odometer over the sizes
			idx[k]++
			pos += t.stride[k]
			if idx[k] < t.size[k] {
				break
			}
			pos -= idx[k] * t.stride[k]
			idx[k] = 0
		}
	}
	return out, nil
}

// contiguous reports row-major strides (dimensions of size 1 may have any).
func contiguous(size, stride []int) bool {
	want := 1
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

// elementReader returns element i of a storage as float32.
func elementReader(dt dtype, b []byte) (func(i int) float32, error) {
	le := binary.LittleEndian
	switch dt.class {
	case "FloatStorage":
		return func(i int) float32 { return math.Float32frombits(le.Uint32(b[4*i:])) }, nil
	case "HalfStorage":
		return func(i int) float32 { return weights.F16ToF32(le.Uint16(b[2*i:])) }, nil
	case "BFloat16Storage":
		return func(i int) float32 { return math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16) }, nil
	case "DoubleStorage":
		return func(i int) float32 { return float32(math.Float64frombits(le.Uint64(b[8*i:]))) }, nil
	case "CharStorage":
		return func(i int) float32 { return float32(int8(b[i])) }, nil
	case "ByteStorage", "BoolStorage":
		return func(i int) float32 { return float32(b[i]) }, nil
	case "ShortStorage":
		return func(i int) float32 { return float32(int16(le.Uint16(b[2*i:]))) }, nil
	case "IntStorage":
		return func(i int) float32 { return float32(int32(le.Uint32(b[4*i:]))) }, nil
	case "LongStorage":
		return func(i int) float32 { return float32(int64(le.Uint64(b[8*i:]))) }, nil
	}
	return nil, fmt.Errorf("%s is not supported", dt.class)
}
