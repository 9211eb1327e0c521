package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"webcnn/core/weights"
)

// vector is huggingface/safetensors' bindings/python/tests/test_simple.py
// test_serialization: save({"test": np.int32 [[0, 0], [0, 1]]}), written
// before the header was padded to 8 bytes.
const vector = "<\x00\x00\x00\x00\x00\x00\x00" + `{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"

func TestReferenceVector(t *testing.T) {
	ts, meta, err := Read(strings.NewReader(vector), int64(len(vector)), "test.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := []weights.Tensor{{Name: "test", Shape: []int{2, 2}, Data: []float32{0, 0, 0, 1}}}
	if !reflect.DeepEqual(ts, want) || meta != nil {
		t.Errorf("got %+v %v, want %+v", ts, meta, want)
	}
	// Write gives the same bytes with the header padded to 64 bytes with
	// spaces, as safetensors does since it forces 8-byte alignment.
	var buf bytes.Buffer
	if err := Write(&buf, want, "I32", nil); err != nil {
		t.Fatal(err)
	}
	padded := "@" + vector[1:8] + vector[8:68] + "    " + vector[68:]
	if buf.String() != padded {
		t.Errorf("Write:\n%q\nwant\n%q", buf.String(), padded)
	}
}

func bf16(f float32) float32 {
	b := math.Float32bits(f)
	return math.Float32frombits((b + 0x7fff + (b >> 16 & 1)) &^ 0xffff)
}

// TestRoundTrip writes and reads every dtype. F32 and F64 of float32
// values are exact; F16 and BF16 give the nearest representable value
// (weights.F32ToF16, and bfloat16's round to nearest even of the top 16
// bits); the integer types give the integers back.
func TestRoundTrip(t *testing.T) {
	vals := []float32{0.1, -2.5, 3e-5, 65000, -7, 1.0 / 3}
	ints := []float32{0, -2, 3, 100, -7, 1}
	ts := func(v []float32) []weights.Tensor {
		return []weights.Tensor{
			{Name: "conv.weight", Shape: []int{2, 3}, Data: v},
			{Name: "scalar", Shape: []int{}, Data: v[:1]},
			{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
			{Name: "fc.bias", Shape: []int{6}, Data: v},
		}
	}
	round := func(f func(float32) float32) []float32 {
		out := make([]float32, len(vals))
		for i, v := range vals {
			out[i] = f(v)
		}
		return out
	}
	for _, tc := range []struct {
		dtype    string
		in, want []float32
	}{
		{"F32", vals, vals}, {"F64", vals, vals},
		{"F16", vals, round(func(f float32) float32 { return weights.F16ToF32(weights.F32ToF16(f)) })},
		{"BF16", vals, round(bf16)},
		{"I64", ints, ints}, {"I32", ints, ints}, {"I16", ints, ints}, {"I8", ints, ints},
		{"U8", []float32{0, 2, 3, 100, 255, 1}, []float32{0, 2, 3, 100, 255, 1}},
		{"BOOL", ints, []float32{0, 1, 1, 1, 1, 1}},
	} {
		name := filepath.Join(t.TempDir(), "m.safetensors")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		meta := map[string]string{"format": "pt"}
		if err := Write(f, ts(tc.in), tc.dtype, meta); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, gotMeta, err := ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v", tc.dtype, err)
		}
		// Read orders by data offset, which is Write's order here.
		want := ts(tc.want)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotMeta, meta) {
			t.Errorf("%s: got %+v %v\nwant %+v %v", tc.dtype, got, gotMeta, want, meta)
		}
	}
}

// file builds a safetensors file from a header and data.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestBadHeaders(t *testing.T) {
	data := make([]byte, 32)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "3 bytes, shorter than the header length"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 1000), "header of 1000 bytes in a file of 8"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<62), "header of 4611686018427387904 bytes"},
		{"not json", file("{", data), "header: unexpected end of JSON input"},
		{"not an object", file("[1]", data), "header: json: cannot unmarshal array"},
		{"bad metadata", file(`{"__metadata__":{"a":1}}`, data), "__metadata__ must map strings to strings"},
		{"unknown dtype", file(`{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}`, data), `tensor "w": dtype "F8_E4M3" is not supported`},
		{"negative dim", file(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, data), `tensor "w": shape [-1]`},
		{"huge shape", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, data), `tensor "w": shape [4294967296 4294967296]`},
		{"one offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, data), `tensor "w": data_offsets [0], want [begin, end]`},
		{"past the data", file(`{"w":{"dtype":"F32","shape":[9],"data_offsets":[0,36]}}`, data), `tensor "w": data_offsets [0 36] out of the 32 bytes of data`},
		{"reversed", file(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, data), `tensor "w": data_offsets [8 4] out of`},
		{"wrong length", file(`{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}`, data), `tensor "w": F16 [3] needs 6 bytes, data_offsets [0 8] hold 8`},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, data),
			`tensor "b" at bytes [12 20] overlaps tensor "a" at [0 16]`},
		{"shape not ints", file(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, data), `tensor "w": json: cannot unmarshal number 1.5`},
	} {
		_, _, err := Read(bytes.NewReader(tc.file), int64(len(tc.file)), "m.safetensors")
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "m.safetensors") {
			t.Errorf("%s: error %v, want ErrFormat naming m.safetensors with %q", tc.name, err, tc.want)
		}
	}
}

// FuzzSafetensorsHeader reads files made of a fuzzed header and data: no
// panic, and whatever is accepted is consistent (values match shapes, and
// the tensors' bytes fit in the data without overlapping, so the output
// is bounded by the input).
func FuzzSafetensorsHeader(f *testing.F) {
	f.Add([]byte(`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}`), make([]byte, 16))
	f.Add([]byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[],"data_offsets":[6,8]}}`), make([]byte, 8))
	f.Add([]byte(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1,1],"data_offsets":[4,12]}}`), make([]byte, 16))
	f.Fuzz(func(t *testing.T, header, data []byte) {
		b := file(string(header), data)
		ts, _, err := Read(bytes.NewReader(b), int64(len(b)), "fuzz.safetensors")
		if err != nil {
			return
		}
		total := 0
		for _, x := range ts {
			if int64(len(x.Data)) != (&weights.Entry{Shape: x.Shape}).Elements() {
				t.Fatalf("tensor %q: %d values for shape %v", x.Name, len(x.Data), x.Shape)
			}
			total += len(x.Data)
		}
		if total > len(data) {
			t.Fatalf("%d values from %d bytes of data", total, len(data))
		}
	})
}
