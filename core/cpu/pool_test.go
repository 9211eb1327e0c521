package cpu

import (
	"math"
	"testing"

	"webcnn/core"
)

// TestMaxPoolSpecials: the float32 max path decides as math.Max does,
// computed here directly: a NaN in the window gives NaN, +0 beats -0
// whichever comes first, a window in the padding only gives -Inf.
func TestMaxPoolSpecials(t *testing.T) {
	b := New()
	nan := float32(math.NaN())
	negz := float32(math.Copysign(0, -1))
	// One channel, 1x4 input: [-0, +0, NaN, -1]; kernel 2 stride 1, with
	// 3 positions of padding after (the last window sees padding only).
	x, err := core.FromData(b, core.Shape{1, 1, 4, 1}, []float32{negz, 0, nan, -1})
	if err != nil {
		t.Fatal(err)
	}
	y, err := core.New(b, core.Shape{1, 1, 6, 1})
	if err != nil {
		t.Fatal(err)
	}
	p := core.Pool{Op: core.MaxPool, Kernel: []int{1, 2}, Stride: []int{1, 1}, PadBefore: []int{0, 1}, PadAfter: []int{0, 2}}
	if err := b.Pool(y, x, p); err != nil {
		t.Fatal(err)
	}
	got, _ := y.Data()
	// Windows: [pad,-0] [-0,+0] [+0,NaN] [NaN,-1] [-1,pad] [pad,pad].
	want := []float64{math.Copysign(0, -1), 0, math.NaN(), math.NaN(), -1, math.Inf(-1)}
	for i, w := range want {
		g := float64(got[i])
		same := g == w && math.Signbit(g) == math.Signbit(w) || math.IsNaN(g) && math.IsNaN(w)
		if !same {
			t.Errorf("window %d: %v, want %v (all %v)", i, g, w, got)
		}
	}
}
