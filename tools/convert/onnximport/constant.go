package onnximport

import (
	"encoding/binary"
	"fmt"
	"math"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
)

// Symbolic extents of a value's dims (ONNX order). The batch is axis 0
// of the graph input, whatever extent the file declares: imported graphs
// run at any batch. Shape turns these into integer constants, so shape
// arithmetic (Shape -> Slice -> Concat -> Reshape) carries them through.
const (
	dimUnknown int64 = -1 // an extent the importer cannot know (a dynamic size)
	dimBatch   int64 = -2 // the batch
)

// maxFold bounds the elements a folded constant may have, so that a
// hostile file cannot make the importer allocate without end.
const maxFold = 1 << 22

// constant is a tensor known at import: an initializer, a Constant node's
// value, or folded shape arithmetic. Floating types decode to f, integer
// and bool types to i (which may hold dimBatch and dimUnknown when they
// come from Shape).
type constant struct {
	name  string
	dims  []int64
	f     []float32
	i     []int64
	isInt bool
	typ   onnx.DataType // the element type it was decoded from (0: computed at import)
}

// size is the number of elements.
func (c *constant) size() int {
	if c.isInt {
		return len(c.i)
	}
	return len(c.f)
}

// floats returns the values as float32 (integers converted).
func (c *constant) floats() []float32 {
	if !c.isInt {
		return c.f
	}
	out := make([]float32, len(c.i))
	for k, v := range c.i {
		out[k] = float32(v)
	}
	return out
}

// ints returns the values as int64 (floats truncated toward zero).
func (c *constant) ints() []int64 {
	if c.isInt {
		return c.i
	}
	out := make([]int64, len(c.f))
	for k, v := range c.f {
		out[k] = int64(v)
	}
	return out
}

// scalar reports whether c holds one element, and returns it.
func (c *constant) scalar() (float32, bool) {
	if c.size() != 1 {
		return 0, false
	}
	return c.floats()[0], true
}

// decodeTensor decodes an ONNX tensor of a numeric or bool type.
func decodeTensor(t *onnx.Tensor) (*constant, error) {
	if t == nil {
		return nil, fmt.Errorf("missing tensor")
	}
	if t.DataLocation == 1 || len(t.ExternalData) > 0 {
		return nil, fmt.Errorf("tensor %q: external data is not supported", t.Name)
	}
	n, err := t.Size()
	if err != nil {
		return nil, err
	}
	c := &constant{name: t.Name, dims: append([]int64{}, t.Dims...), typ: t.DataType}
	switch t.DataType {
	case onnx.Float:
		c.f, err = t.Float32s()
		return c, err
	case onnx.Int64:
		c.isInt = true
		c.i, err = t.Int64s()
		return c, err
	case onnx.Double:
		c.f = make([]float32, 0, min(n, len(t.RawData)/8+len(t.DoubleData)))
		err = fixed(t, n, 8, len(t.DoubleData), func(k int, raw []byte) {
			v := t.DoubleData
			if raw != nil {
				c.f = append(c.f, float32(math.Float64frombits(binary.LittleEndian.Uint64(raw))))
				return
			}
			c.f = append(c.f, float32(v[k]))
		})
		return c, err
	case onnx.Float16:
		c.f = make([]float32, 0, min(n, len(t.RawData)/2+len(t.Int32Data)))
		err = fixed(t, n, 2, len(t.Int32Data), func(k int, raw []byte) {
			h := uint16(0)
			if raw != nil {
				h = binary.LittleEndian.Uint16(raw)
			} else {
				h = uint16(t.Int32Data[k])
			}
			c.f = append(c.f, weights.F16ToF32(h))
		})
		return c, err
	}
	it, ok := intTypes[t.DataType]
	width, signed := it.width, it.signed
	if !ok {
		return nil, fmt.Errorf("tensor %q: data type %d is not supported", t.Name, t.DataType)
	}
	c.isInt = true
	typed := len(t.Int32Data)
	if t.DataType == onnx.DataType(12) || t.DataType == onnx.DataType(13) { // uint32, uint64
		typed = len(t.Uint64Data)
	}
	c.i = make([]int64, 0, min(n, len(t.RawData)/width+typed))
	err = fixed(t, n, width, typed, func(k int, raw []byte) {
		if raw == nil {
			if t.DataType == onnx.DataType(12) || t.DataType == onnx.DataType(13) {
				c.i = append(c.i, int64(t.Uint64Data[k]))
			} else {
				c.i = append(c.i, int64(t.Int32Data[k]))
			}
			return
		}
		var u uint64
		switch width {
		case 1:
			u = uint64(raw[0])
		case 2:
			u = uint64(binary.LittleEndian.Uint16(raw))
		case 4:
			u = uint64(binary.LittleEndian.Uint32(raw))
		case 8:
			u = binary.LittleEndian.Uint64(raw)
		}
		if signed {
			shift := 64 - 8*width
			c.i = append(c.i, int64(u<<shift)>>shift)
		} else {
			c.i = append(c.i, int64(u))
		}
	})
	return c, err
}

// intTypes are the integer element types: width in bytes, signedness.
var intTypes = map[onnx.DataType]struct {
	width  int
	signed bool
}{
	onnx.Uint8: {1, false}, onnx.Int8: {1, true}, 4: {2, false}, 5: {2, true},
	onnx.Int32: {4, true}, 9: {1, false}, 12: {4, false}, 13: {8, false},
}

// fixed walks n elements of width bytes from raw_data, or from a typed
// field of typed entries, checking the count first.
func fixed(t *onnx.Tensor, n, width, typed int, put func(k int, raw []byte)) error {
	if t.RawData != nil {
		if len(t.RawData) != n*width {
			return fmt.Errorf("tensor %q: %d raw bytes for dims %v", t.Name, len(t.RawData), t.Dims)
		}
		for k := 0; k < n; k++ {
			put(k, t.RawData[k*width:(k+1)*width])
		}
		return nil
	}
	if typed != n {
		return fmt.Errorf("tensor %q: %d values for dims %v", t.Name, typed, t.Dims)
	}
	for k := 0; k < n; k++ {
		put(k, nil)
	}
	return nil
}

// product multiplies known extents; ok is false when one is symbolic or
// the product passes maxFold.
func product(dims []int64) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 || (d > 0 && int64(n) > math.MaxInt32/d) {
			return 0, false
		}
		n *= int(d)
	}
	return n, true
}

// strides returns row-major strides of dims (all known).
func strides(dims []int64) []int {
	s := make([]int, len(dims))
	k := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = k
		k *= int(dims[i])
	}
	return s
}

// permuteData returns the elements of a row-major array of the given
// dims with its axes permuted: output axis i is input axis perm[i].
func permuteData[T any](v []T, dims []int64, perm []int) []T {
	out := make([]T, len(v))
	if len(v) == 0 {
		return out
	}
	in := strides(dims)
	od := make([]int64, len(perm))
	for i, p := range perm {
		od[i] = dims[p]
	}
	idx := make([]int, len(perm))
	for o := range out {
		src := 0
		for i, x := range idx {
			src += x * in[perm[i]]
		}
		out[o] = v[src]
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if int64(idx[i]) < od[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// permuteConst returns c with its axes permuted.
func permuteConst(c *constant, perm []int) *constant {
	out := &constant{name: c.name, dims: permuteDims(c.dims, perm), isInt: c.isInt}
	if c.isInt {
		out.i = permuteData(c.i, c.dims, perm)
	} else {
		out.f = permuteData(c.f, c.dims, perm)
	}
	return out
}

// permuteDims returns dims with output axis i taken from input axis perm[i].
func permuteDims(dims []int64, perm []int) []int64 {
	out := make([]int64, len(perm))
	for i, p := range perm {
		out[i] = dims[p]
	}
	return out
}

// checkPerm reports whether perm is a permutation of 0..r-1.
func checkPerm(perm []int64, r int) ([]int, error) {
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	out := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of rank %d", perm, r)
		}
		seen[p] = true
		out[i] = int(p)
	}
	return out, nil
}

// toLast is the permutation that moves axis 1 (channels) last:
// [0, 2, ..., r-1, 1]. toFirst is its inverse.
func toLast(r int) []int {
	p := []int{0}
	for i := 2; i < r; i++ {
		p = append(p, i)
	}
	return append(p, 1)
}

func toFirst(r int) []int {
	p := []int{0, r - 1}
	for i := 1; i < r-1; i++ {
		p = append(p, i)
	}
	return p
}

// ints converts int64 attribute values to int, bounded.
func ints(v []int64) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x < -(1<<31) || x > 1<<31 {
			return nil, fmt.Errorf("value %d out of range", x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// finite checks that attribute values can be written as JSON numbers.
func finite(vs ...float32) error {
	for _, v := range vs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("value %v is not finite", v)
		}
	}
	return nil
}
