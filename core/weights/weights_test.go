package weights_test

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"webcnn/core/weights"
)

// write converts two tensors into dir with the given options.
func write(t *testing.T, dir string, o weights.WriterOptions, tensors map[string][]float32, shapes map[string][]int, order []string) *weights.Manifest {
	t.Helper()
	w, err := weights.NewWriter(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range order {
		if err := w.Add(n, shapes[n], tensors[n]); err != nil {
			t.Fatal(err)
		}
	}
	m := &weights.Manifest{Model: "test", Arch: &weights.Arch{ID: "lenet5"}, Input: weights.Input{Shape: []int{1, 4, 4, 1}, ChannelOrder: "GRAY", Scale: 1}}
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func ramp(n int, k float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = k * float32(i%13-6)
	}
	return v
}

var (
	order  = []string{"conv.weight", "conv.bias", "fc.weight"}
	shapes = map[string][]int{"conv.weight": {3, 3, 2, 4}, "conv.bias": {4}, "fc.weight": {64, 10}}
	values = map[string][]float32{"conv.weight": ramp(72, 0.25), "conv.bias": ramp(4, 1), "fc.weight": ramp(640, 0.125)}
)

func TestRoundTripF32(t *testing.T) {
	dir := t.TempDir()
	m := write(t, dir, weights.WriterOptions{ChunkSize: 1024}, values, shapes, order)
	// conv.weight 288 B + conv.bias 16 B fit one 1 KiB chunk; fc.weight
	// (2560 B) is larger than a chunk and gets its own: a tensor never spans.
	if len(m.Chunks) != 2 || m.Tensors[2].Chunk != 1 || m.Tensors[1].Offset != 288 {
		t.Fatalf("chunks %+v tensors %+v", m.Chunks, m.Tensors)
	}
	for _, c := range m.Chunks {
		if c.File != c.SHA256[:16]+".bin" {
			t.Errorf("chunk %s is not named by its sha256 %s", c.File, c.SHA256)
		}
	}
	got, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range values {
		for i, v := range got.Tensors[n] {
			if v != want[i] {
				t.Fatalf("%s[%d] = %v, want %v (f32 must round-trip exactly)", n, i, v, want[i])
			}
		}
	}
	// 4 bytes per value of the three tensors: (72+4+640)*4.
	if m.Memory.ParamBytes != 2864 {
		t.Errorf("param bytes %d, want 2864", m.Memory.ParamBytes)
	}
}

func TestQuantizedRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		d   weights.DType
		tol float64 // relative to the channel's max |x|
	}{{weights.F16, 1.0 / 2048}, {weights.Int8, 0.5 / 127}} {
		dir := t.TempDir()
		m := write(t, dir, weights.WriterOptions{DType: tc.d}, values, shapes, order)
		got, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tc.d == weights.Int8 && m.Tensors[1].DType != weights.F32 {
			t.Errorf("int8: the 1-D bias should stay f32, is %s", m.Tensors[1].DType)
		}
		for n, want := range values {
			c := shapes[n][len(shapes[n])-1]
			maxAbs := make([]float64, c)
			for i, v := range want {
				maxAbs[i%c] = math.Max(maxAbs[i%c], math.Abs(float64(v)))
			}
			for i, v := range got.Tensors[n] {
				if d := math.Abs(float64(v - want[i])); d > tc.tol*maxAbs[i%c]+1e-12 {
					t.Fatalf("%s %s[%d] = %v, want %v within %g of the channel max", tc.d, n, i, v, want[i], tc.tol)
				}
			}
		}
	}
}

func TestF16(t *testing.T) {
	// IEEE 754 binary16 encodings (exact values from the standard).
	for _, tc := range []struct {
		f float32
		h uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1.0 / (1 << 24), 0x0001}, {0.5, 0x3800}, {float32(math.Inf(1)), 0x7c00}, {1e6, 0x7c00}, {0, 0}} {
		if got := weights.F32ToF16(tc.f); got != tc.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", tc.f, got, tc.h)
		}
		if tc.f <= 65504 && weights.F16ToF32(tc.h) != tc.f {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", tc.h, weights.F16ToF32(tc.h), tc.f)
		}
	}
	// 0.1 is not representable: the nearest half is 0x2e66 = 0.0999755859375.
	if got := weights.F32ToF16(0.1); got != 0x2e66 {
		t.Errorf("F32ToF16(0.1) = %#04x, want 0x2e66", got)
	}
	// Every half converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		f := weights.F16ToF32(uint16(h))
		if f != f { // NaN
			continue
		}
		if back := weights.F32ToF16(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
}

// fsOf copies a written model into a map FS the tests can damage.
func fsOf(t *testing.T, dir string) fstest.MapFS {
	m := fstest.MapFS{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = &fstest.MapFile{Data: b}
	}
	return m
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	m := write(t, dir, weights.WriterOptions{ChunkSize: 1024}, values, shapes, order)
	c0 := m.Chunks[0].File
	for _, tc := range []struct {
		name   string
		damage func(fstest.MapFS)
		is     error
		want   string
	}{
		{"corrupted chunk", func(f fstest.MapFS) { f[c0].Data = append([]byte(nil), f[c0].Data...); f[c0].Data[7] ^= 1 }, weights.ErrIntegrity, c0 + ": sha256"},
		{"truncated chunk", func(f fstest.MapFS) { f[c0].Data = f[c0].Data[:100] }, weights.ErrIntegrity, c0 + ": 100 bytes, manifest says 304"},
		{"missing chunk", func(f fstest.MapFS) { delete(f, c0) }, fs.ErrNotExist, "chunk " + c0},
		{"wrong version", func(f fstest.MapFS) {
			f["manifest.json"].Data = []byte(strings.Replace(string(f["manifest.json"].Data), `"format": 1`, `"format": 9`, 1))
		}, weights.ErrManifest, "format 9, this runtime reads 1"},
		{"tensor out of bounds", func(f fstest.MapFS) {
			f["manifest.json"].Data = []byte(strings.Replace(string(f["manifest.json"].Data), `"offset": 288`, `"offset": 300`, 1))
		}, weights.ErrManifest, `tensor "conv.bias" at bytes [300, 316) is out of bounds of chunk ` + c0},
		{"length does not match shape", func(f fstest.MapFS) {
			f["manifest.json"].Data = []byte(strings.Replace(string(f["manifest.json"].Data), `"length": 16`, `"length": 12`, 1))
		}, weights.ErrManifest, `tensor "conv.bias" [4] f32 needs 16 bytes, manifest says 12`},
		{"not json", func(f fstest.MapFS) { f["manifest.json"].Data = []byte("{") }, weights.ErrManifest, "manifest.json"},
	} {
		f := fsOf(t, dir)
		tc.damage(f)
		_, err := weights.Load(context.Background(), f, ".", weights.LoadOptions{})
		if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %v containing %q", tc.name, err, tc.is, tc.want)
		}
	}
}

// countFS counts opened files.
type countFS struct {
	fs.FS
	opens map[string]int
}

func (c *countFS) Open(name string) (fs.File, error) {
	c.opens[name]++
	return c.FS.Open(name)
}

func TestBudgetRefusesBeforeReading(t *testing.T) {
	dir := t.TempDir()
	m := write(t, dir, weights.WriterOptions{}, values, shapes, order)
	c := &countFS{FS: os.DirFS(dir), opens: map[string]int{}}
	_, err := weights.Load(context.Background(), c, ".", weights.LoadOptions{Budget: m.Memory.ParamBytes - 1})
	if !errors.Is(err, weights.ErrBudget) {
		t.Fatalf("error %v, want ErrBudget", err)
	}
	if len(c.opens) != 1 || c.opens["manifest.json"] != 1 {
		t.Errorf("opened %v before refusing, want only manifest.json", c.opens)
	}
}

func TestProgressAndSharedChunks(t *testing.T) {
	root := t.TempDir()
	// Two models sharing a backbone tensor: its chunk has the same content,
	// hence the same name, and is read once through a shared Cache.
	backbone := map[string][]float32{"b": ramp(300, 1)}
	write(t, filepath.Join(root, "a"), weights.WriterOptions{ChunkSize: 1200}, map[string][]float32{"b": backbone["b"], "head": ramp(10, 2)},
		map[string][]int{"b": {300}, "head": {10}}, []string{"b", "head"})
	write(t, filepath.Join(root, "bb"), weights.WriterOptions{ChunkSize: 1200}, map[string][]float32{"b": backbone["b"], "head": ramp(10, 3)},
		map[string][]int{"b": {300}, "head": {10}}, []string{"b", "head"})
	cache := &weights.Cache{}
	var calls []int64
	var total int64
	for _, d := range []string{"a", "bb"} {
		if _, err := weights.Load(context.Background(), os.DirFS(root), d, weights.LoadOptions{Cache: cache, Parallel: 1,
			Progress: func(done, tot int64) { calls = append(calls, done); total = tot }}); err != nil {
			t.Fatal(err)
		}
	}
	// Each model: chunk 1 = b (1200 B), chunk 2 = head (40 B); b is shared.
	if cache.Reads != 3 {
		t.Errorf("chunk reads %d, want 3 (the shared backbone chunk once)", cache.Reads)
	}
	if total != 1240 || calls[len(calls)-1] != 1240 || calls[0] != 1200 {
		t.Errorf("progress calls %v total %d, want 1200 then 1240 of 1240", calls, total)
	}
}

func TestWriterLeavesNothingOnFailure(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	w, err := weights.NewWriter(dir, weights.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("x", []int{2, 2}, []float32{1, 2, 3}); err == nil {
		t.Fatal("Add accepted 3 values for shape [2 2]")
	}
	_ = w.Add("y", []int{2}, []float32{1, 2})
	// A manifest without arch or graph fails validation at Commit.
	if err := w.Commit(&weights.Manifest{Model: "bad"}); err == nil {
		t.Fatal("Commit accepted a manifest without arch or graph")
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 0 {
		t.Errorf("a failed conversion left %v", ents)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"format":1,"model":"m","arch":{"id":"lenet5"},"tensors":[{"name":"a","shape":[2],"dtype":"f32","chunk":0,"offset":0,"length":8}],"chunks":[{"file":"x.bin","size":8,"sha256":"` + strings.Repeat("0", 64) + `"}]}`))
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := weights.Parse(b)
		if err == nil && m.Validate() != nil {
			t.Fatal("Parse returned a manifest that does not validate")
		}
	})
}
