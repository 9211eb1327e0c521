package safetensors_test

import (
	"bytes"
	"fmt"

	"webcnn/core/weights"
	"webcnn/tools/convert/safetensors"
)

// Tensors written as bfloat16 read back as the nearest bfloat16 values.
func ExampleRead() {
	var buf bytes.Buffer
	ts := []weights.Tensor{{Name: "w", Shape: []int{3}, Data: []float32{1, 0.1, -2.5}}}
	if err := safetensors.Write(&buf, ts, "BF16", map[string]string{"format": "pt"}); err != nil {
		panic(err)
	}
	got, meta, err := safetensors.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "w.safetensors")
	if err != nil {
		panic(err)
	}
	fmt.Println(got[0].Name, got[0].Shape, got[0].Data, meta)
	// Output: w [3] [1 0.100097656 -2.5] map[format:pt]
}
