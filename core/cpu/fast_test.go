package cpu

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

// The fast paths (blocked GEMM, gemv, im2col, depthwise loop) are checked
// against the reference loops at sizes around every tile and block edge:
// the micro-tile is gemmMR x gemmNR = 3x3 (4x8 with wasm SIMD), the depth is padded to a
// multiple of gemmKU = 4 and blocked by gemmKC = 256, rows are blocked by
// gemmMC = 96 and im2col gathers convRows = 192 pixels at a time.
//
// Two checks per case:
//   - random data in [-1, 1): |fast - ref| <= 1e-5 * S, where S is the
//     reference op on |x|, |w| and |bias| (the sum of |terms|). The fast
//     paths accumulate in float32, the references in float64; float32
//     summation of K terms errs by at most about K*2^-24*S, and 1e-5
//     leaves room for K up to ~170 in the worst case, far more in the
//     random-sign average. Activations are 1-Lipschitz, so the bound
//     holds after them too.
//   - small integers in [-3, 3]: every partial sum is an integer below
//     2^24, exact in float32, so fast and reference must agree bit for bit.

// acts are the fused activations tested: the float32 fast ones and some
// that go through unaryFunc, all 1-Lipschitz.
var acts = []core.Unary{{}, core.Act(core.ReLU), core.Act(core.ReLU6), core.Act(core.Sigmoid), {Op: core.LeakyReLU, Alpha: 0.1}}

// fill returns n values: uniform in [-1, 1) or, if ints, integers in [-3, 3].
func fill(g *core.RNG, n int, ints bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		if ints {
			v[i] = float32(g.IntN(7) - 3)
		} else {
			v[i] = g.Float32()*2 - 1
		}
	}
	return v
}

// tensor makes a cpu tensor of shape s holding v (nil v: nil tensor).
func tensor(t *testing.T, s core.Shape, v []float32) *core.Tensor {
	t.Helper()
	if v == nil {
		return nil
	}
	x, err := core.FromData(New(), s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// abs returns |v| elementwise (nil stays nil).
func abs(v []float32) []float32 {
	if v == nil {
		return nil
	}
	a := make([]float32, len(v))
	for i, x := range v {
		a[i] = float32(math.Abs(float64(x)))
	}
	return a
}

// compare checks got against want: bit for bit if exact, else within
// 1e-5 * scale[i].
func compare(t *testing.T, name string, got, want, scale []float32, exact bool) {
	t.Helper()
	bad := 0
	for i := range want {
		ok := math.Float32bits(got[i]) == math.Float32bits(want[i])
		if !exact && !ok {
			ok = math.Abs(float64(got[i])-float64(want[i])) <= 1e-5*float64(scale[i])
		}
		if !ok {
			if bad < 3 && exact {
				t.Errorf("%s: [%d] got %v want %v exactly", name, i, got[i], want[i])
			} else if bad < 3 {
				t.Errorf("%s: [%d] got %v want %v (sum |terms| %v)", name, i, got[i], want[i], scale[i])
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d elements differ", name, bad, len(want))
	}
}

// matMulSizes are extents around the tile (3), the depth unrolling (4),
// the row block (96) and the depth block (256).
var (
	matMulM = []int{1, 2, 3, 4, 5, 95, 96, 97, 193}
	matMulN = []int{1, 2, 3, 4, 5, 17, 64, 65}
	matMulK = []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 520}
)

func TestFastMatMul(t *testing.T) {
	g := core.NewRNG(1)
	i := 0
	for _, m := range matMulM {
		for _, n := range matMulN {
			for _, k := range matMulK {
				p := core.MatMul{TransA: i%2 == 1, TransB: i/2%2 == 1, Act: acts[i%len(acts)]}
				withBias := i%3 != 0
				exact := i%5 == 0
				i++
				name := fmt.Sprintf("matmul m=%d n=%d k=%d %+v bias=%v exact=%v", m, n, k, p, withBias, exact)
				checkMatMul(t, g, name, m, n, k, p, withBias, exact)
			}
		}
	}
}

// checkMatMul runs one MatMul case on the fast path and the reference.
func checkMatMul(t *testing.T, g *core.RNG, name string, m, n, k int, p core.MatMul, withBias, exact bool) {
	t.Helper()
	as, bs := core.Shape{m, k}, core.Shape{k, n}
	if p.TransA {
		as = core.Shape{k, m}
	}
	if p.TransB {
		bs = core.Shape{n, k}
	}
	av, bv := fill(g, as.Size(), exact), fill(g, bs.Size(), exact)
	var biasv []float32
	if withBias {
		biasv = fill(g, n, exact)
	}
	out := func(a, b, bias []float32, pp core.MatMul, fast bool) []float32 {
		dst := tensor(t, core.Shape{m, n}, make([]float32, m*n))
		x, y, bb := tensor(t, as, a), tensor(t, bs, b), tensor(t, core.Shape{n}, bias)
		if fast {
			if err := New().matMulFast(dst, x, y, bb, pp); err != nil {
				t.Fatal(err)
			}
		} else if err := matMulRef(dst, x, y, bb, pp); err != nil {
			t.Fatal(err)
		}
		return data(dst)
	}
	got, want := out(av, bv, biasv, p, true), out(av, bv, biasv, p, false)
	var scale []float32
	if !exact {
		scale = out(abs(av), abs(bv), abs(biasv), core.MatMul{TransA: p.TransA, TransB: p.TransB}, false)
	}
	compare(t, name, got, want, scale, exact)
}

// convCase is one convolution: spatial input extents, kernel extents,
// channels, groups, and the per-axis stride, dilation and padding.
type convCase struct {
	batch                   int
	in, k                   []int
	cin, cout, groups       int
	stride, dil, padB, padA []int
}

func (c convCase) String() string {
	return fmt.Sprintf("conv n=%d in=%v k=%v cin=%d cout=%d groups=%d stride=%v dil=%v pad=%v/%v",
		c.batch, c.in, c.k, c.cin, c.cout, c.groups, c.stride, c.dil, c.padB, c.padA)
}

// convCases covers every path of convFast: pointwise GEMM, im2col (with
// and without the contiguous-run copy, with row blocks of convRows), and
// the depthwise loop, in 1, 2 and 3 spatial dimensions.
func convCases() []convCase {
	var cs []convCase
	chans := []int{1, 3, 4, 5, 31, 32, 33}
	i := 0
	for _, k := range []int{1, 3, 5, 7} {
		for _, s := range []int{1, 2, 3} {
			for _, d := range []int{1, 2} {
				c := chans[i%len(chans)]
				i++
				cs = append(cs, convCase{batch: 1 + 2*(i%2), in: []int{11, 9}, k: []int{k, k},
					cin: c, cout: chans[(i+3)%len(chans)], groups: 1, stride: []int{s, s}, dil: []int{d, d},
					padB: []int{k / 2, k - 1}, padA: []int{k / 2, 0}})
			}
		}
	}
	return append(cs,
		// 1x1 stride 1 unpadded: the direct GEMM, more rows than one block.
		convCase{batch: 3, in: []int{10, 11}, k: []int{1, 1}, cin: 33, cout: 5, groups: 1},
		convCase{batch: 1, in: []int{14, 14}, k: []int{1, 1}, cin: 64, cout: 64, groups: 2},
		// One and two pixels (gemv): squeeze-and-excitation, a classifier.
		convCase{batch: 1, in: []int{1, 1}, k: []int{1, 1}, cin: 33, cout: 17, groups: 1},
		convCase{batch: 2, in: []int{1, 1}, k: []int{1, 1}, cin: 12, cout: 10, groups: 2},
		convCase{batch: 1, in: []int{1, 2}, k: []int{1, 1}, cin: 300, cout: 5, groups: 1},
		convCase{batch: 1, in: []int{7, 7}, k: []int{1, 1}, cin: 4, cout: 4, groups: 1, stride: []int{2, 2}},
		convCase{batch: 1, in: []int{7, 7}, k: []int{1, 1}, cin: 4, cout: 4, groups: 1, padB: []int{1, 0}, padA: []int{0, 1}},
		// 1x3 and 3x1, and many row blocks of im2col.
		convCase{batch: 1, in: []int{20, 21}, k: []int{1, 3}, cin: 5, cout: 7, groups: 1, padB: []int{0, 1}, padA: []int{0, 1}},
		convCase{batch: 2, in: []int{21, 20}, k: []int{3, 1}, cin: 3, cout: 4, groups: 1, stride: []int{2, 1}, padB: []int{1, 0}, padA: []int{1, 0}},
		// Grouped: 2 groups, and 32-like groups of 2 channels.
		convCase{batch: 1, in: []int{9, 8}, k: []int{3, 3}, cin: 6, cout: 10, groups: 2, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 3, in: []int{6, 7}, k: []int{3, 3}, cin: 64, cout: 64, groups: 32, stride: []int{2, 2}, padB: []int{0, 1}, padA: []int{1, 1}},
		// Depthwise, multiplier 1 (channels around the 4-wide loop) and 2.
		convCase{batch: 1, in: []int{9, 10}, k: []int{3, 3}, cin: 33, cout: 33, groups: 33, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 3, in: []int{9, 10}, k: []int{5, 5}, cin: 32, cout: 32, groups: 32, stride: []int{2, 2}, padB: []int{1, 2}, padA: []int{2, 1}},
		convCase{batch: 1, in: []int{12, 12}, k: []int{7, 7}, cin: 4, cout: 4, groups: 4, stride: []int{3, 3}, dil: []int{2, 2}, padB: []int{3, 3}, padA: []int{3, 3}},
		convCase{batch: 2, in: []int{8, 9}, k: []int{3, 3}, cin: 5, cout: 10, groups: 5, dil: []int{2, 1}, padB: []int{2, 1}, padA: []int{2, 1}},
		convCase{batch: 1, in: []int{6, 6}, k: []int{3, 3}, cin: 1, cout: 3, groups: 1, padB: []int{1, 1}, padA: []int{1, 1}},
		// Depthwise 3x3, stride 1 and 2 (depthwise3x3): even and odd
		// widths (a pair loop with and without a last single pixel),
		// TensorFlow's and PyTorch's padding, none (Keras pads first),
		// inputs narrower than the window, strides differing per axis.
		convCase{batch: 1, in: []int{7, 8}, k: []int{3, 3}, cin: 5, cout: 5, groups: 5, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 2, in: []int{8, 7}, k: []int{3, 3}, cin: 6, cout: 6, groups: 6, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 2, in: []int{8, 9}, k: []int{3, 3}, cin: 6, cout: 6, groups: 6, stride: []int{2, 2}, padB: []int{0, 0}, padA: []int{1, 1}},
		convCase{batch: 1, in: []int{9, 10}, k: []int{3, 3}, cin: 4, cout: 4, groups: 4, stride: []int{2, 2}, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 1, in: []int{13, 11}, k: []int{3, 3}, cin: 3, cout: 3, groups: 3, stride: []int{2, 2}},
		convCase{batch: 1, in: []int{12, 12}, k: []int{3, 3}, cin: 7, cout: 7, groups: 7},
		convCase{batch: 1, in: []int{3, 3}, k: []int{3, 3}, cin: 2, cout: 2, groups: 2},
		convCase{batch: 1, in: []int{2, 2}, k: []int{3, 3}, cin: 3, cout: 3, groups: 3, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 1, in: []int{5, 1}, k: []int{3, 3}, cin: 3, cout: 3, groups: 3, stride: []int{1, 2}, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 1, in: []int{9, 9}, k: []int{3, 3}, cin: 5, cout: 5, groups: 5, stride: []int{2, 1}, padB: []int{1, 1}, padA: []int{1, 1}},
		convCase{batch: 1, in: []int{9, 9}, k: []int{3, 3}, cin: 5, cout: 5, groups: 5, stride: []int{1, 2}, padB: []int{2, 0}, padA: []int{0, 2}},
		// 1-D and 3-D.
		convCase{batch: 3, in: []int{30}, k: []int{5}, cin: 3, cout: 8, groups: 1, stride: []int{2}, padB: []int{2}, padA: []int{1}},
		convCase{batch: 1, in: []int{17}, k: []int{3}, cin: 8, cout: 8, groups: 8, dil: []int{3}, padB: []int{3}, padA: []int{3}},
		convCase{batch: 2, in: []int{5, 6, 7}, k: []int{3, 3, 3}, cin: 4, cout: 6, groups: 1, padB: []int{1, 1, 1}, padA: []int{1, 0, 1}},
		convCase{batch: 1, in: []int{5, 6, 7}, k: []int{1, 1, 1}, cin: 5, cout: 3, groups: 1},
		convCase{batch: 1, in: []int{6, 5, 7}, k: []int{3, 2, 3}, cin: 6, cout: 6, groups: 6, stride: []int{2, 1, 2}, dil: []int{1, 2, 1}, padB: []int{1, 1, 0}, padA: []int{0, 1, 2}},
		convCase{batch: 1, in: []int{5, 6, 7}, k: []int{2, 3, 3}, cin: 4, cout: 4, groups: 2, stride: []int{1, 2, 2}, padB: []int{1, 1, 1}, padA: []int{0, 1, 1}},
	)
}

func TestFastConv(t *testing.T) {
	g := core.NewRNG(2)
	for i, c := range convCases() {
		for _, exact := range []bool{false, true} {
			p := core.Conv{Stride: c.stride, Dilation: c.dil, PadBefore: c.padB, PadAfter: c.padA,
				Groups: c.groups, Act: acts[i%len(acts)]}
			checkConv(t, g, fmt.Sprintf("%v act=%v exact=%v", c, p.Act.Op, exact), c, p, i%2 == 0, exact)
		}
	}
}

// checkConv runs one Conv case on the fast path and the reference.
func checkConv(t *testing.T, g *core.RNG, name string, c convCase, p core.Conv, withBias, exact bool) {
	t.Helper()
	checkConvWith(t, g, name, c, p, withBias, exact, New().convFast)
}

// checkConvWith runs one Conv case on fast and the reference.
func checkConvWith(t *testing.T, g *core.RNG, name string, c convCase, p core.Conv, withBias, exact bool,
	fast func(dst, x, w, bias *core.Tensor, p core.Conv) error) {
	t.Helper()
	xs := append(append(core.Shape{c.batch}, c.in...), c.cin)
	ws := append(append(core.Shape{}, c.k...), c.cin/c.groups, c.cout)
	ds, err := core.ConvShape(xs, ws, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	xv, wv := fill(g, xs.Size(), exact), fill(g, ws.Size(), exact)
	var biasv []float32
	if withBias {
		biasv = fill(g, c.cout, exact)
	}
	out := func(x, w, bias []float32, pp core.Conv, isFast bool) []float32 {
		dst := tensor(t, ds, make([]float32, ds.Size()))
		xt, wt, bt := tensor(t, xs, x), tensor(t, ws, w), tensor(t, core.Shape{c.cout}, bias)
		if isFast {
			if err := fast(dst, xt, wt, bt, pp); err != nil {
				t.Fatal(err)
			}
		} else if err := convRef(dst, xt, wt, bt, pp); err != nil {
			t.Fatal(err)
		}
		return data(dst)
	}
	got, want := out(xv, wv, biasv, p, true), out(xv, wv, biasv, p, false)
	var scale []float32
	if !exact {
		q := p
		q.Act = core.Unary{}
		scale = out(abs(xv), abs(wv), abs(biasv), q, false)
	}
	compare(t, name, got, want, scale, exact)
}

// TestFastActivationsExact checks that the float32 activations of the
// epilogue equal the float64 definitions of unaryFunc bit for bit.
func TestFastActivationsExact(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 0.5, -0.5, 6,
		math.Nextafter32(6, 7), math.Nextafter32(6, 5), 7, -7, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	g := core.NewRNG(3)
	for i := 0; i < 1000; i++ {
		vals = append(vals, g.Float32()*16-8)
	}
	for _, op := range []core.UnaryOp{core.Identity, core.ReLU, core.ReLU6} {
		ep := newEpilogue(nil, core.Act(op))
		ref := unaryFunc(core.Act(op))
		row := append([]float32(nil), vals...)
		ep.apply(row)
		for i, v := range vals {
			want := float32(ref(float64(v)))
			nan := row[i] != row[i] && want != want // payloads may differ
			if math.Float32bits(row[i]) != math.Float32bits(want) && !nan {
				t.Errorf("%v(%v): got %v (%#x) want %v (%#x)", op, v, row[i], math.Float32bits(row[i]), want, math.Float32bits(want))
			}
		}
	}
}
