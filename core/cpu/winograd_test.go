package cpu

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

// winogradCases are convs for the Winograd path: sizes around its
// edges (a tile is 2x2 output pixels, a block at most winoTiles = 192
// tiles, a GEMM row block 96 of them, a GEMM depth block 256 input
// channels, the path needs 16 channels in and out), odd and even outputs (the last tile row or column half outside),
// a 1x1 input, padding 0, 1, 2 and asymmetric, batch 2, and a 1x3x3
// kernel in three dimensions.
func winogradCases() []convCase {
	c2 := func(batch, h, w, cin, cout, pt, pl, pb, pr int) convCase {
		return convCase{batch: batch, in: []int{h, w}, k: []int{3, 3}, cin: cin, cout: cout, groups: 1,
			padB: []int{pt, pl}, padA: []int{pb, pr}}
	}
	return []convCase{
		c2(1, 1, 1, 16, 16, 1, 1, 1, 1),   // one pixel: a single tile, 3 of 4 outputs dropped
		c2(2, 1, 2, 17, 16, 1, 1, 1, 1),   // 1x2
		c2(2, 3, 3, 16, 17, 0, 0, 0, 0),   // 1x1 output, no padding
		c2(1, 4, 4, 33, 16, 0, 0, 0, 0),   // 2x2 output: one full tile
		c2(2, 5, 7, 16, 33, 1, 1, 1, 1),   // odd height and width
		c2(1, 6, 8, 17, 17, 1, 1, 1, 1),   // even
		c2(2, 7, 6, 33, 33, 0, 1, 1, 0),   // asymmetric (PyTorch's "same" on even sizes shifts it)
		c2(1, 7, 7, 16, 64, 1, 0, 0, 1),   // asymmetric the other way
		c2(2, 9, 5, 64, 16, 2, 1, 0, 2),   // padding 2 and 0
		c2(1, 8, 9, 16, 16, 0, 0, 1, 1),   // TensorFlow's stride-1 "same" is symmetric; after only
		c2(2, 20, 19, 17, 18, 1, 1, 1, 1), // 2*10*10 = 200 tiles: two blocks, the last of 8
		c2(1, 23, 24, 16, 20, 1, 1, 1, 1), // 144 tiles: one block, two GEMM row blocks
		c2(2, 40, 39, 16, 16, 1, 1, 1, 1), // 800 tiles: five blocks
		c2(1, 5, 4, 257, 19, 1, 1, 1, 1),  // two GEMM depth blocks
		c2(1, 7, 7, 64, 64, 1, 1, 1, 1),   // ResNet's last stage at a smaller width
		{batch: 2, in: []int{3, 5, 6}, k: []int{1, 3, 3}, cin: 16, cout: 17, groups: 1,
			padB: []int{0, 1, 1}, padA: []int{0, 1, 0}},
	}
}

// TestWinograd checks convWinograd (called directly: convFast takes it
// only for outputs of about 6x6 and more) against the reference loops
// with checkConv's two checks: random data within 1e-5 of the sum of
// |terms| (the worst measured on these cases was 1.1e-7 of it), and small
// integers bit for bit: every value of the transforms is then a multiple
// of 1/4 below 2^21 in magnitude, so each float32 operation is exact.
func TestWinograd(t *testing.T) {
	g := core.NewRNG(4)
	for i, c := range winogradCases() {
		p := core.Conv{PadBefore: c.padB, PadAfter: c.padA, Act: acts[i%len(acts)]}
		for _, exact := range []bool{false, true} {
			checkConvWith(t, g, fmt.Sprintf("winograd %v act=%v exact=%v", c, p.Act.Op, exact), c, p, i%3 != 2, exact, winogradConv)
		}
	}
}

// winogradConv runs convWinograd on tensors, for checkConvWith.
func winogradConv(dst, x, w, bias *core.Tensor, p core.Conv) error {
	ws := w.Shape()
	d := ws.Rank() - 2
	g := newGeom(x.Shape(), dst.Shape(), ws[:d], p.Stride, p.Dilation, p.PadBefore, p.PadAfter)
	if g.k != [3]int{1, 3, 3} || g.stride != [3]int{1, 1, 1} || g.dil != [3]int{1, 1, 1} || max(p.Groups, 1) != 1 {
		return fmt.Errorf("not a conv for Winograd: %+v", g)
	}
	convWinograd(data(dst), data(x), data(w), &g, newEpilogue(data(bias), p.Act))
	return nil
}

// TestWinogradPaths checks which convs take the Winograd path.
func TestWinogradPaths(t *testing.T) {
	for _, c := range []struct {
		c    convCase
		want bool
	}{
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1}, true},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 15, cout: 16, groups: 1}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 16, cout: 15, groups: 1}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 32, cout: 32, groups: 2}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, stride: []int{2, 2}}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, stride: []int{1, 2}}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, dil: []int{2, 2}}, false},
		{convCase{batch: 1, in: []int{8, 8}, k: []int{3, 5}, cin: 16, cout: 16, groups: 1}, false},
		{convCase{batch: 1, in: []int{8}, k: []int{3}, cin: 16, cout: 16, groups: 1}, false},
		{convCase{batch: 1, in: []int{4, 8, 8}, k: []int{3, 3, 3}, cin: 16, cout: 16, groups: 1}, false},
		{convCase{batch: 1, in: []int{4, 8, 8}, k: []int{1, 3, 3}, cin: 16, cout: 16, groups: 1, padB: []int{1, 1, 1}, padA: []int{1, 1, 1}}, false},
		{convCase{batch: 1, in: []int{4, 8, 8}, k: []int{1, 3, 3}, cin: 16, cout: 16, groups: 1, padB: []int{0, 1, 1}, padA: []int{0, 1, 1}}, true},
		// Saved multiply-adds per channel pair, 9*pixels - 16*tiles, against
		// winoMinSaved = 160: 7x7 185, 6x6 180, 5x5 81, 4x4 80, two 5x5 162.
		{convCase{batch: 1, in: []int{7, 7}, k: []int{3, 3}, cin: 512, cout: 512, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}}, true},
		{convCase{batch: 1, in: []int{6, 6}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}}, true},
		{convCase{batch: 1, in: []int{5, 5}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}}, false},
		{convCase{batch: 1, in: []int{4, 4}, k: []int{3, 3}, cin: 512, cout: 512, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}}, false},
		{convCase{batch: 2, in: []int{5, 5}, k: []int{3, 3}, cin: 16, cout: 16, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}}, true},
	} {
		xs := append(append(core.Shape{c.c.batch}, c.c.in...), c.c.cin)
		ws := append(append(core.Shape{}, c.c.k...), c.c.cin/c.c.groups, c.c.cout)
		p := core.Conv{Stride: c.c.stride, Dilation: c.c.dil, PadBefore: c.c.padB, PadAfter: c.c.padA, Groups: c.c.groups}
		ds, err := core.ConvShape(xs, ws, p)
		if err != nil {
			t.Fatalf("%v: %v", c.c, err)
		}
		geo := newGeom(xs, ds, ws[:len(c.c.in)], p.Stride, p.Dilation, p.PadBefore, p.PadAfter)
		if got := geo.winograd(c.c.groups); got != c.want {
			t.Errorf("%v: winograd %v, want %v", c.c, got, c.want)
		}
	}
}

// TestWinogradByHand convolves, with convWinograd, an input of ones (16 channels) with
// weights w[ky, kx, c, o] = o+1 and bias -o: output channel o at a pixel
// is 16*(o+1)*n - o, n the number of the 3x3 window's taps inside the
// input, counted by hand below (exact in float32: integers below 2^24).
func TestWinogradByHand(t *testing.T) {
	const cin, cout = 16, 16
	for _, c := range []struct {
		h, w       int
		padB, padA []int
		taps       [][]int // n per output pixel
	}{
		// 3x3 padded by 1: corners see 4 taps, edges 6, the center 9.
		{3, 3, []int{1, 1}, []int{1, 1}, [][]int{{4, 6, 4}, {6, 9, 6}, {4, 6, 4}}},
		// 3x3 padded by 1 after only: a 2x2 output; the first window is the
		// whole input, the others lose the padded row or column.
		{3, 3, []int{0, 0}, []int{1, 1}, [][]int{{9, 6}, {6, 4}}},
		// 2x3 padded by 1 before the rows and 2 after the columns.
		{2, 3, []int{1, 0}, []int{0, 2}, [][]int{{6, 4, 2}}},
	} {
		x := make([]float32, c.h*c.w*cin)
		for i := range x {
			x[i] = 1
		}
		w := make([]float32, 9*cin*cout)
		for i := range w {
			w[i] = float32(i%cout + 1)
		}
		bias := make([]float32, cout)
		for o := range bias {
			bias[o] = float32(-o)
		}
		p := core.Conv{PadBefore: c.padB, PadAfter: c.padA}
		xs, ws := core.Shape{1, c.h, c.w, cin}, core.Shape{3, 3, cin, cout}
		ds, err := core.ConvShape(xs, ws, p)
		if err != nil {
			t.Fatal(err)
		}
		if ds[1] != len(c.taps) || ds[2] != len(c.taps[0]) {
			t.Fatalf("%dx%d pad %v/%v: output %v, the table has %dx%d", c.h, c.w, c.padB, c.padA, ds, len(c.taps), len(c.taps[0]))
		}
		dst := tensor(t, ds, make([]float32, ds.Size()))
		if err := winogradConv(dst, tensor(t, xs, x), tensor(t, ws, w), tensor(t, core.Shape{cout}, bias), p); err != nil {
			t.Fatal(err)
		}
		got := data(dst)
		for y, row := range c.taps {
			for xx, n := range row {
				for o := 0; o < cout; o++ {
					want := float32(16*(o+1)*n - o)
					if v := got[(y*ds[2]+xx)*cout+o]; v != want {
						t.Errorf("%dx%d pad %v/%v: out[%d,%d,%d] = %v, want %v", c.h, c.w, c.padB, c.padA, y, xx, o, v, want)
					}
				}
			}
		}
	}
}

// TestWinogradError measures the largest error of the Winograd path and
// of the im2col GEMM path against the reference on random data in
// [-1, 1), ResNet-18's stride-1 shapes (the first two at reduced sizes),
// relative to the sum of |terms| per element and to the largest
// |output|, and requires the Winograd path to stay within 1e-6 of the sum
// of |terms| (8x the 1.2e-7 measured for either path) and within 4x the
// GEMM path's error relative to the largest output (about 1x measured).
func TestWinogradError(t *testing.T) {
	g := core.NewRNG(5)
	for _, c := range []struct{ hw, ch int }{{28, 64}, {14, 128}, {7, 256}, {7, 512}} {
		xs, ws := core.Shape{1, c.hw, c.hw, c.ch}, core.Shape{3, 3, c.ch, c.ch}
		p := core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}
		xv, wv := fill(g, xs.Size(), false), fill(g, ws.Size(), false)
		run := func(x, w []float32, conv func(dst []float32, g *geom, x, w []float32)) []float32 {
			dst := make([]float32, xs.Size())
			geo := newGeom(xs, xs, ws[:2], nil, nil, p.PadBefore, p.PadAfter)
			conv(dst, &geo, x, w)
			return dst
		}
		ref := func(dst []float32, _ *geom, x, w []float32) {
			d := tensor(t, xs, dst)
			if err := convRef(d, tensor(t, xs, x), tensor(t, ws, w), nil, p); err != nil {
				t.Fatal(err)
			}
			copy(dst, data(d))
		}
		want, scale := run(xv, wv, ref), run(abs(xv), abs(wv), ref)
		wino := run(xv, wv, func(dst []float32, g *geom, x, w []float32) { convWinograd(dst, x, w, g, epilogue{}) })
		gemm := run(xv, wv, func(dst []float32, g *geom, x, w []float32) { convGEMM(dst, x, w, g, 1, epilogue{}) })
		var top float64
		for _, v := range want {
			top = math.Max(top, math.Abs(float64(v)))
		}
		worst := func(got []float32) (terms, out float64) {
			for i := range got {
				e := math.Abs(float64(got[i]) - float64(want[i]))
				terms = math.Max(terms, e/float64(scale[i]))
				out = math.Max(out, e/top)
			}
			return terms, out
		}
		wt, wo := worst(wino)
		gt, gom := worst(gemm)
		t.Logf("3x3 %dx%dx%d -> %d: max |err| / sum|terms|: winograd %.2g, im2col+gemm %.2g; / max|out|: winograd %.2g, im2col+gemm %.2g",
			c.hw, c.hw, c.ch, c.ch, wt, gt, wo, gom)
		if wt > 1e-6 || wo > 4*gom {
			t.Errorf("3x3 %dx%dx%d -> %d: winograd error %.2g of sum|terms|, %.2g of max|out| (im2col+gemm %.2g)", c.hw, c.hw, c.ch, c.ch, wt, wo, gom)
		}
	}
}
