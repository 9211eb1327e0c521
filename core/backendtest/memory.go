package backendtest

import (
	"strings"
	"testing"

	"webcnn/core"
)

// testMemory checks the memory half of the contract: Alloc is zero-filled,
// Write and Read honour their element offsets, a freed tensor is refused.
func testMemory(t *testing.T, b core.Backend) {
	t.Run("alloc_zero", func(t *testing.T) {
		for _, n := range []int{1, 3, 4, 5, 17, 1000} {
			buf, err := b.Alloc(n)
			if err != nil {
				t.Fatalf("alloc %d: %v", n, err)
			}
			if buf.Len() != n {
				t.Errorf("alloc %d: Len %d", n, buf.Len())
			}
			got := make([]float32, n)
			for i := range got {
				got[i] = -1
			}
			if err := b.Read(buf, 0, got); err != nil {
				t.Fatalf("read %d: %v", n, err)
			}
			// Hand: a fresh buffer holds zeros.
			expectValues(t, desc("alloc %d", n), shapeOf(n), got, make([]float64, n), exact)
			b.Free(buf)
		}
	})
	t.Run("write_read_offset", func(t *testing.T) {
		buf, err := b.Alloc(10)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Free(buf)
		if err := b.Write(buf, 3, []float32{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		if err := b.Write(buf, 9, []float32{-5}); err != nil {
			t.Fatal(err)
		}
		all := make([]float32, 10)
		if err := b.Read(buf, 0, all); err != nil {
			t.Fatal(err)
		}
		// Hand: zeros except the two writes.
		expectValues(t, "write at 3 and 9, read all", shapeOf(10), all, []float64{0, 0, 0, 1, 2, 3, 4, 0, 0, -5}, exact)
		part := make([]float32, 3)
		if err := b.Read(buf, 4, part); err != nil {
			t.Fatal(err)
		}
		expectValues(t, "read 3 at 4", shapeOf(3), part, []float64{2, 3, 4}, exact)
	})
	t.Run("tensor_roundtrip", func(t *testing.T) {
		v := ints(core.NewRNG(1), 2*3*4*5, -100, 100)
		x := tensor(t, b, shapeOf(2, 3, 4, 5), v)
		expectTensor(t, "from data", x, shapeOf(2, 3, 4, 5), f64(v), exact)
		z, err := core.New(b, shapeOf(7, 3))
		z = must(t, "new")(z, err)
		expectTensor(t, "new", z, shapeOf(7, 3), make([]float64, 21), exact)
	})
	t.Run("use_after_free", func(t *testing.T) {
		x, err := core.FromData(b, shapeOf(2, 2), []float32{1, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		x.Free()
		y, err := core.Apply(x, core.Act(core.ReLU))
		if err == nil {
			y.Free()
			t.Fatalf("relu of a freed tensor: no error")
		}
		if !strings.Contains(err.Error(), "freed") {
			t.Errorf("relu of a freed tensor: error %q does not say freed", err)
		}
	})
}
