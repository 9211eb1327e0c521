package pytorch

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core/weights"
)

// FuzzReadPickle feeds malformed files to Read: it must return an error
// or tensors, never panic, hang or allocate far beyond the input (every
// pickle length is checked against the bytes present, storages are read
// only as far as their records go). Seeds: gopickle's real torch files
// (legacy files are raw pickles, so the pickle decoder is fuzzed through
// them) and a zip state_dict of ours.
func FuzzReadPickle(f *testing.F) {
	dir := gopickleTestdata(&testing.T{})
	for _, n := range []string{"tensor_float32_proto2.pt", "tensor_float16_proto5.pt", "tensor_int64_proto1.pt",
		"tensor_bfloat16_proto4.pt", "tensor_float32_proto3_zip.pt", "tensor_bool_proto5_zip.pt"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	if err := Write(&buf, sample(3)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	st := map[string][]float32{"a": {0, 1, 2, 3, 4, 5}}
	f.Add(legacyFile([]view{{name: "w", key: "a", size: []int{2, 3}, stride: []int{1, 2}}}, st, []string{"a"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		ts, err := Read(bytes.NewReader(b), int64(len(b)), "fuzz.pth")
		if err != nil {
			return
		}
		var n int
		for _, x := range ts {
			n += len(x.Data)
			if int64(len(x.Data)) != (&weights.Entry{Shape: x.Shape}).Elements() {
				t.Fatalf("tensor %q: %d values for shape %v", x.Name, len(x.Data), x.Shape)
			}
		}
		// A tensor is a view of bytes in the file, but views may repeat them.
		_ = n
	})
}
