package weights_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"webcnn/core/weights"
)

// FuzzLoad feeds a manifest and the bytes of its one chunk to Load, the
// path every chunk a browser or a Worker downloads goes through: the
// harness makes the chunk's name, size and hash agree with the fuzzed
// bytes (so the fuzzer reaches tensor decoding rather than stopping at
// the hash check), and Load must return an error or tensors whose
// element counts match their entries, never panic.
func FuzzLoad(f *testing.F) {
	hdr := func(tensors string) string {
		return `{"format":1,"model":"m","arch":{"id":"lenet5"},"input":{"shape":[1,28,28,1],"channel_order":"GRAY","scale":1},` +
			`"tensors":[` + tensors + `],"chunks":[{"file":"x.bin","size":0,"sha256":"` + strings.Repeat("0", 64) + `"}]}`
	}
	f.Add([]byte(hdr(`{"name":"a","shape":[2],"dtype":"f32","chunk":0,"offset":0,"length":8}`)), make([]byte, 8))
	f.Add([]byte(hdr(`{"name":"a","shape":[3],"dtype":"f16","chunk":0,"offset":2,"length":6}`)), []byte{1, 2, 0, 60, 0, 124, 0, 252})
	f.Add([]byte(hdr(`{"name":"a","shape":[2,2],"dtype":"int8","chunk":0,"offset":0,"length":4,"scales":[0.5,2]},`+
		`{"name":"b","shape":[1],"dtype":"f32","chunk":0,"offset":4,"length":4}`)), []byte{129, 127, 0, 1, 0, 0, 128, 63})
	f.Fuzz(func(t *testing.T, manifest, chunk []byte) {
		if len(chunk) > 1<<16 {
			return
		}
		var m weights.Manifest
		if json.Unmarshal(manifest, &m) != nil || len(m.Chunks) != 1 {
			return
		}
		sum := sha256.Sum256(chunk)
		m.Chunks[0] = weights.Chunk{File: hex.EncodeToString(sum[:8]) + ".bin", Size: int64(len(chunk)), SHA256: hex.EncodeToString(sum[:])}
		raw, err := json.Marshal(&m)
		if err != nil {
			return
		}
		fsys := fstest.MapFS{
			"m/manifest.json":       {Data: raw},
			"m/" + m.Chunks[0].File: {Data: chunk},
		}
		model, err := weights.Load(context.Background(), fsys, "m", weights.LoadOptions{Budget: 1 << 24})
		if err != nil {
			return
		}
		for _, e := range model.Manifest.Tensors {
			v, ok := model.Tensors[e.Name]
			if !ok {
				t.Fatalf("tensor %q listed but not loaded", e.Name)
			}
			if int64(len(v)) != e.Elements() {
				t.Fatalf("tensor %q: %d values, want %d", e.Name, len(v), e.Elements())
			}
		}
	})
}
