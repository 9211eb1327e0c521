package webgpu

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
)

// The cross-checks run each kernel on shapes around its tile and vector
// edges (channels 1, 3, 4, 5, 31, 32, 33; odd spatial sizes; M, N, K
// around the 16/32/64 tiles) on random normal data, against the CPU
// backend (its fast path, itself tested against the reference loops).
// Tolerance: |gpu - cpu| <= crossTol * max(1, |cpu|): both sum float32
// products, in different orders.
const crossTol = 1e-4

// host is the CPU backend the cross-checks compare with.
var host = cpu.New()

// pair holds the same tensors on the GPU and on the CPU.
type pair struct{ g, c *core.Tensor }

// crossData makes a tensor of normal values on both backends.
func crossData(t *testing.T, b *Backend, rng *core.RNG, s core.Shape) pair {
	t.Helper()
	v := make([]float32, s.Size())
	for i := range v {
		v[i] = rng.NormFloat32()
	}
	g, err := core.FromData(b, s, v)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.FromData(host, s, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Free)
	return pair{g, c}
}

// worst tracks the largest relative error a test saw.
type worst struct {
	err  float64
	what string
}

// compare reads both results and checks them within crossTol; it returns
// false on a mismatch.
func (w *worst) compare(t *testing.T, what string, g, c *core.Tensor) bool {
	t.Helper()
	defer g.Free()
	if !g.Shape().Equal(c.Shape()) {
		t.Errorf("%s: gpu shape %v, cpu %v", what, g.Shape(), c.Shape())
		return false
	}
	if c == nil {
		t.Fatalf("%s: no cpu result", what)
	}
	gv, err := g.Data()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	cv, _ := c.Data()
	bad := 0
	for i := range cv {
		e := math.Abs(float64(gv[i])-float64(cv[i])) / math.Max(1, math.Abs(float64(cv[i])))
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		if e > w.err {
			w.err, w.what = e, what
		}
		if e > crossTol {
			if bad < 3 {
				t.Errorf("%s: at %d gpu %v, cpu %v", what, i, gv[i], cv[i])
			}
			bad++
		}
	}
	return bad == 0
}

func (w *worst) log(t *testing.T, n int) {
	t.Logf("%d cases, largest relative error %.3g (%s)", n, w.err, w.what)
}

type convCross struct {
	x          core.Shape
	k          []int
	cout       int
	p          core.Conv
	bias       bool
	same       bool
	wantKernel convKind
}

func (c convCross) String() string {
	return fmt.Sprintf("conv x=%v k=%v cout=%d stride=%v dil=%v groups=%d same=%v bias=%v act=%s",
		c.x, c.k, c.cout, c.p.Stride, c.p.Dilation, c.p.Groups, c.same, c.bias, c.p.Act.Op)
}

func (c convCross) run(t *testing.T, b *Backend, rng *core.RNG, w *worst) bool {
	t.Helper()
	g := max(c.p.Groups, 1)
	ws := append(append(core.Shape(nil), c.k...), c.x[len(c.x)-1]/g, c.cout)
	x, wt := crossData(t, b, rng, c.x), crossData(t, b, rng, ws)
	var bias pair
	if c.bias {
		bias = crossData(t, b, rng, core.Shape{c.cout})
	}
	p := c.p
	if c.same {
		p = core.ConvPadding(p, c.x, c.k, core.Same)
	}
	out, err := core.ConvShape(c.x, ws, p)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	if _, kind, _ := convKernels(c.x, ws, out, p, c.bias, b.lim); kind != c.wantKernel {
		t.Errorf("%v: runs on the %v kernel, the case meant %v", c, kind, c.wantKernel)
	}
	yg, err := core.Convolve(x.g, wt.g, bias.g, p)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	yc, err := core.Convolve(x.c, wt.c, bias.c, p)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	return w.compare(t, c.String(), yg, yc)
}

func TestCrossConv(t *testing.T) {
	b := gpu(t)
	edge := []int{1, 3, 4, 5, 31, 32, 33}
	var cases []convCross
	// 3x3 "same" on every pair of edge channel counts; the odd 7x5 map
	// gives M = 70 output rows (two 32-row tiles and a partial one).
	for i, ci := range edge {
		for j, co := range edge {
			kind := convGEMM
			if ci == 1 {
				kind = convDepthwise
			}
			act := core.Unary{}
			if (i+j)%2 == 0 {
				act = core.Act(core.ReLU)
			}
			cases = append(cases, convCross{x: core.Shape{2, 7, 5, ci}, k: []int{3, 3}, cout: co, same: true, bias: (i+j)%3 != 0,
				p: core.Conv{Act: act}, wantKernel: kind})
		}
	}
	for _, ci := range []int{3, 4, 33} {
		for _, co := range []int{5, 32} {
			// Stride 2 on odd maps; dilation 2; a 5x5 kernel; valid padding.
			cases = append(cases,
				convCross{x: core.Shape{1, 9, 11, ci}, k: []int{3, 3}, cout: co, same: true, p: core.Conv{Stride: []int{2, 2}}, wantKernel: convGEMM},
				convCross{x: core.Shape{1, 9, 7, ci}, k: []int{3, 3}, cout: co, same: true, bias: true, p: core.Conv{Dilation: []int{2, 2}}, wantKernel: convGEMM},
				convCross{x: core.Shape{1, 11, 9, ci}, k: []int{5, 5}, cout: co, bias: true, p: core.Conv{Stride: []int{2, 1}}, wantKernel: convGEMM},
			)
		}
	}
	// 1x1 as a plain GEMM: M = 81 and 2*63, every edge channel count.
	for _, ci := range edge[1:] {
		for _, co := range []int{1, 4, 31, 33} {
			cases = append(cases, convCross{x: core.Shape{1, 9, 9, ci}, k: []int{1, 1}, cout: co, bias: true,
				p: core.Conv{Act: core.Act(core.ReLU6)}, wantKernel: convPointwise})
		}
	}
	cases = append(cases, convCross{x: core.Shape{2, 9, 7, 32}, k: []int{1, 1}, cout: 64, bias: true, wantKernel: convPointwise})
	// A deep patch (K = 3*3*64 = 576, 36 steps of 16) on M = 63, 64, 65.
	for _, hw := range [][2]int{{9, 7}, {8, 8}, {5, 13}} {
		cases = append(cases, convCross{x: core.Shape{1, hw[0], hw[1], 64}, k: []int{3, 3}, cout: 48, same: true, bias: true, wantKernel: convGEMM})
	}
	// Groups: ResNeXt-like (4 channels per group), 2 per group, uneven
	// widening; each group is a grid layer.
	for _, gc := range []struct{ cin, cout, groups int }{{32, 32, 8}, {8, 8, 4}, {6, 9, 3}, {64, 128, 2}, {12, 12, 2}} {
		cases = append(cases, convCross{x: core.Shape{2, 7, 6, gc.cin}, k: []int{3, 3}, cout: gc.cout, same: true, bias: true,
			p: core.Conv{Groups: gc.groups}, wantKernel: convGEMM})
	}
	// Depthwise on every edge channel count, multipliers 1 and 2, stride
	// 1 and 2, 3x3 and 5x5.
	for i, ch := range edge {
		for _, mult := range []int{1, 2} {
			st := 1 + i%2
			k := 3 + 2*(i%3/2)
			cases = append(cases, convCross{x: core.Shape{2, 9, 8, ch}, k: []int{k, k}, cout: ch * mult, same: true, bias: mult == 1,
				p: core.Conv{Groups: ch, Stride: []int{st, st}, Act: core.Act(core.ReLU6)}, wantKernel: convDepthwise})
		}
	}
	cases = append(cases,
		convCross{x: core.Shape{1, 9, 9, 8}, k: []int{3, 3}, cout: 8, p: core.Conv{Groups: 8, Dilation: []int{2, 2}}, same: true, wantKernel: convDepthwise},
		// 1-D and 3-D.
		convCross{x: core.Shape{2, 37, 5}, k: []int{5}, cout: 33, same: true, bias: true, wantKernel: convGEMM},
		convCross{x: core.Shape{1, 5, 6, 7, 4}, k: []int{3, 3, 3}, cout: 5, same: true, bias: true, p: core.Conv{Stride: []int{1, 2, 2}}, wantKernel: convGEMM},
	)
	rng := core.NewRNG(1)
	var w worst
	for _, c := range cases {
		c.run(t, b, rng, &w)
	}
	w.log(t, len(cases))
}

func TestCrossMatMul(t *testing.T) {
	b := gpu(t)
	rng := core.NewRNG(2)
	var w worst
	n := 0
	sizes := []int{1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100}
	ks := []int{1, 4, 15, 16, 17, 64, 65, 300}
	for i, m := range sizes {
		for j, nn := range sizes {
			k := ks[(i+2*j)%len(ks)]
			ta, tb := (i+j)%4 == 1, (i+j)%4 == 2
			as, bs := core.Shape{m, k}, core.Shape{k, nn}
			if ta {
				as = core.Shape{k, m}
			}
			if tb {
				bs = core.Shape{nn, k}
			}
			x, y := crossData(t, b, rng, as), crossData(t, b, rng, bs)
			var bias pair
			if (i+j)%2 == 0 {
				bias = crossData(t, b, rng, core.Shape{nn})
			}
			p := core.MatMul{TransA: ta, TransB: tb}
			what := fmt.Sprintf("matmul %v x %v transA=%v transB=%v bias=%v", as, bs, ta, tb, bias.g != nil)
			yg, err := core.MatMulT(x.g, y.g, bias.g, p)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			yc, err := core.MatMulT(x.c, y.c, bias.c, p)
			if err != nil {
				t.Fatalf("cpu: %v", err)
			}
			w.compare(t, what, yg, yc)
			n++
		}
	}
	w.log(t, n)
}

func TestCrossPool(t *testing.T) {
	b := gpu(t)
	rng := core.NewRNG(3)
	var w worst
	n := 0
	for _, ch := range []int{1, 3, 4, 5, 32, 33} {
		for _, p := range []core.Pool{
			{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true},
			{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}},
			{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true},
			{Op: core.AvgPool, Kernel: []int{3, 2}, Stride: []int{2, 1}, PadBefore: []int{1, 0}, PadAfter: []int{1, 1}, CountIncludePad: true, CeilMode: true},
			{Op: core.AvgPool, Kernel: []int{2, 2}},
		} {
			x := crossData(t, b, rng, core.Shape{2, 9, 8, ch})
			yg, err := core.PoolND(x.g, p)
			if err != nil {
				t.Fatal(err)
			}
			yc, err := core.PoolND(x.c, p)
			if err != nil {
				t.Fatalf("cpu: %v", err)
			}
			w.compare(t, fmt.Sprintf("pool %s k=%v s=%v pad=%v/%v ceil=%v include=%v c=%d", p.Op, p.Kernel, p.Stride, p.PadBefore, p.PadAfter, p.CeilMode, p.CountIncludePad, ch), yg, yc)
			n++
		}
	}
	w.log(t, n)
}

func TestCrossReduce(t *testing.T) {
	b := gpu(t)
	rng := core.NewRNG(4)
	var w worst
	n := 0
	for _, c := range []struct {
		s    core.Shape
		axes []int
	}{
		{core.Shape{2, 7, 7, 33}, []int{1, 2}},  // global pooling: one invocation per output
		{core.Shape{1, 30, 30, 8}, []int{1, 2}}, // 900 per output: a workgroup per output
		{core.Shape{4, 1000}, []int{1}},         // softmax's row maximum
		{core.Shape{8, 5, 5, 16}, []int{0, 1, 2}},
		{core.Shape{3, 4, 5, 6}, []int{0, 2}},
		{core.Shape{70000}, nil},
	} {
		x := crossData(t, b, rng, c.s)
		for _, op := range []core.ReduceOp{core.Sum, core.Mean, core.ReduceMax, core.ReduceMin} {
			yg, err := core.Reduce(x.g, op, c.axes...)
			if err != nil {
				t.Fatal(err)
			}
			yc, err := core.Reduce(x.c, op, c.axes...)
			if err != nil {
				t.Fatalf("cpu: %v", err)
			}
			w.compare(t, fmt.Sprintf("reduce %s %v over %v", op, c.s, c.axes), yg, yc)
			n++
		}
	}
	w.log(t, n)
}

// TestSplitDispatch forces grids of at most 3 workgroups per dimension, so
// that the linear kernels use two grid dimensions and the GEMMs split into
// several dispatches (mBase), against the CPU.
func TestSplitDispatch(t *testing.T) {
	b0 := gpu(t)
	b0.mu.Lock()
	saved := b0.lim
	b0.lim.maxWorkgroupsPerDim = 3
	b0.mu.Unlock()
	defer func() {
		b0.mu.Lock()
		b0.lim = saved
		b0.mu.Unlock()
	}()
	rng := core.NewRNG(5)
	var w worst
	for _, c := range []convCross{
		{x: core.Shape{2, 13, 11, 8}, k: []int{3, 3}, cout: 12, same: true, bias: true, wantKernel: convGEMM},
		{x: core.Shape{1, 17, 19, 8}, k: []int{1, 1}, cout: 8, bias: true, wantKernel: convPointwise},
		{x: core.Shape{1, 17, 19, 8}, k: []int{3, 3}, cout: 8, p: core.Conv{Groups: 8}, same: true, wantKernel: convDepthwise},
	} {
		c.run(t, b0, rng, &w)
	}
	x := crossData(t, b0, rng, core.Shape{3, 500})
	yg, err := core.Apply(x.g, core.Act(core.Tanh))
	if err != nil {
		t.Fatal(err)
	}
	yc, err := core.Apply(x.c, core.Act(core.Tanh))
	if err != nil {
		t.Fatalf("cpu: %v", err)
	}
	w.compare(t, "tanh [3 500]", yg, yc)
	yg, err = core.Reduce(x.g, core.Sum, 1)
	if err != nil {
		t.Fatal(err)
	}
	yc, err = core.Reduce(x.c, core.Sum, 1)
	if err != nil {
		t.Fatalf("cpu: %v", err)
	}
	w.compare(t, "sum [3 500] axis 1", yg, yc)
	w.log(t, 5)
}
