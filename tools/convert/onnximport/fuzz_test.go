package onnximport

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// seedModels are small valid models: a few op cases.
func seedModels(tb testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"conv batchnorm relu (folded)", "hard swish as Add Clip Mul Div",
		"view(x.size(0), -1) via Shape Gather Concat", "squeeze unsqueeze (axes inputs)", "reduce mean and sum"} {
		out = append(out, caseModel(tb, name))
	}
	return out
}

// suiteSeeds are models of ONNX's backend test suite that import (the
// tests of testdata/onnx-suite-pass.txt, small files first, at most max),
// when the suite is installed.
func suiteSeeds(max int) [][]byte {
	names, err := readPassList()
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(suiteDir, filepath.FromSlash(name), "model.onnx"))
		if err != nil || len(b) > 4<<10 {
			continue
		}
		if out = append(out, b); len(out) == max {
			break
		}
	}
	return out
}

// FuzzImport feeds arbitrary bytes to Import (seeded with the small
// models above and with models of ONNX's backend test suite): malformed protobuf or
// graphs are errors, never panics; what imports also builds (Import
// plans the graph). Run with go test -fuzz FuzzImport; plain go test runs
// the seeds.
func FuzzImport(f *testing.F) {
	for _, s := range seedModels(f) {
		f.Add(s)
	}
	for _, s := range suiteSeeds(200) {
		f.Add(s)
	}
	for i, c := range append(quantCases(), resizeCases()[95:]...) {
		f.Add(c.model(1, i))
	}
	f.Add([]byte{})
	f.Add([]byte("\x3a\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		_, _, _ = Import(b, "fuzz")
		_, _, _ = ImportWith(b, SuiteOptions)
	})
}

// TestMutations imports truncated and corrupted versions of the seed
// models (every prefix, every byte inverted, and random multi-byte
// edits): errors or working graphs, never a panic.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	for _, s := range seedModels(t) {
		for i := range s {
			_, _, _ = Import(s[:i], "prefix")
			c := append([]byte(nil), s...)
			c[i] ^= 0xff
			_, _, _ = Import(c, "flip")
			n += 2
		}
		for range 300 {
			c := append([]byte(nil), s...)
			for range 1 + rng.IntN(4) {
				c[rng.IntN(len(c))] = byte(rng.UintN(256))
			}
			_, _, _ = Import(c, "edit")
			n++
		}
	}
	// Models of ONNX's backend suite: every op the suite exercises, each
	// cut short and edited at random.
	for _, s := range suiteSeeds(200) {
		for i := 0; i < len(s); i += 1 + len(s)/16 {
			_, _, _ = ImportWith(s[:i], SuiteOptions)
			n++
		}
		for range 20 {
			c := append([]byte(nil), s...)
			for range 1 + rng.IntN(4) {
				c[rng.IntN(len(c))] = byte(rng.UintN(256))
			}
			_, _, _ = Import(c, "edit")
			_, _, _ = ImportWith(c, SuiteOptions)
			n += 2
		}
	}
	t.Logf("%d corrupted models imported without a panic", n)
}
