package autograd_test

import (
	"fmt"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
)

func TestPoolGrad(t *testing.T) {
	two := []int{2, 2}
	for _, tc := range []struct {
		name string
		x    core.Shape
		p    core.Pool
	}{
		{"max 2x2/2", core.Shape{2, 4, 6, 3}, core.Pool{Op: core.MaxPool, Kernel: two}},
		{"max 3x3/2 pad 1 (overlapping)", core.Shape{1, 7, 6, 2}, core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: two, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"max 3x3/2 ceil mode", core.Shape{1, 6, 6, 2}, core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: two, CeilMode: true}},
		{"max 2x3/1 asymmetric pad", core.Shape{1, 4, 5, 2}, core.Pool{Op: core.MaxPool, Kernel: []int{2, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 0}, PadAfter: []int{0, 2}}},
		{"avg 2x2/2", core.Shape{2, 4, 6, 3}, core.Pool{Op: core.AvgPool, Kernel: two}},
		{"avg 3x3/1 pad 1", core.Shape{1, 5, 4, 2}, core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"avg 3x3/1 pad 1 count pad", core.Shape{1, 5, 4, 2}, core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CountIncludePad: true}},
		{"avg 3x3/2 pad 1 ceil count pad", core.Shape{1, 6, 5, 1}, core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: two, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true, CountIncludePad: true}},
		{"avg 1-D over channels (LRN's window)", core.Shape{6, 5, 1}, core.Pool{Op: core.AvgPool, Kernel: []int{5}, Stride: []int{1}, PadBefore: []int{2}, PadAfter: []int{2}, CountIncludePad: true}},
		{"max 3-D", core.Shape{1, 4, 4, 4, 2}, core.Pool{Op: core.MaxPool, Kernel: []int{2, 2, 2}, Stride: []int{2, 1, 2}}},
		{"avg 3-D", core.Shape{1, 4, 3, 4, 2}, core.Pool{Op: core.AvgPool, Kernel: []int{2, 2, 3}, Stride: []int{1, 1, 1}, PadBefore: []int{0, 1, 1}, PadAfter: []int{1, 0, 1}}},
	} {
		for _, b := range backends {
			t.Run(fmt.Sprintf("%s/%s", tc.name, b.Name()), func(t *testing.T) {
				g := core.NewRNG(5)
				// Distinct values 0.1 apart (a shuffled ramp) keep every
				// window's maximum unique under +-eps perturbations.
				v := make([]float32, tc.x.Size())
				for i := range v {
					v[i] = float32(i)*0.1 - float32(len(v))*0.05
				}
				for i := len(v) - 1; i > 0; i-- {
					j := g.IntN(i + 1)
					v[i], v[j] = v[j], v[i]
				}
				x := tensor(t, b, tc.x, v)
				y, err := core.PoolND(x, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				r := randn(g, y.Size(), 1)
				dy := tensor(t, b, y.Shape(), r)
				dx, err := autograd.PoolGrad(x, y, dy, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "dx", x, r, func() (*core.Tensor, error) { return core.PoolND(x, tc.p) }, dx)
			})
		}
	}
}

// TestMaxPoolGradTies gives a tied window's gradient to its first maximum
// in row-major order (PyTorch's rule), and overlapping windows add up:
// 1-D x = [1, 3, 3, 2], kernel 2 stride 1: y = [3, 3, 3] with windows
// {0,1}, {1,2}, {2,3}; maxima at 1, 1 (first of the tie), 2; dy = [1, 10,
// 100] gives dx = [0, 11, 100, 0].
func TestMaxPoolGradTies(t *testing.T) {
	b := backends[1]
	x := tensor(t, b, core.Shape{1, 4, 1}, []float32{1, 3, 3, 2})
	p := core.Pool{Op: core.MaxPool, Kernel: []int{2}, Stride: []int{1}}
	y, _ := core.PoolND(x, p)
	dy := tensor(t, b, core.Shape{1, 3, 1}, []float32{1, 10, 100})
	dx, err := autograd.PoolGrad(x, y, dy, p)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := dx.Data()
	if fmt.Sprint(got) != "[0 11 100 0]" {
		t.Errorf("dx = %v, want [0 11 100 0]", got)
	}
}

// TestReduceGrad covers global pooling (mean and max over the spatial
// axes) and sums.
func TestReduceGrad(t *testing.T) {
	b := backends[1]
	g := core.NewRNG(9)
	xs := core.Shape{2, 3, 4, 3}
	v := make([]float32, xs.Size())
	for i := range v {
		v[i] = float32((i*37)%len(v)) * 0.1
	}
	x := tensor(t, b, xs, v)
	for _, tc := range []struct {
		op   core.ReduceOp
		axes []int
	}{{core.Mean, []int{1, 2}}, {core.Sum, []int{0, 3}}, {core.ReduceMax, []int{1, 2}}, {core.ReduceMin, []int{1}}, {core.Mean, nil}} {
		y, err := core.Reduce(x, tc.op, tc.axes...)
		if err != nil {
			t.Fatal(err)
		}
		r := randn(g, y.Size(), 1)
		dy := tensor(t, b, y.Shape(), r)
		dx, err := autograd.ReduceGrad(x, y, dy, tc.op)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("%s over %v", tc.op, tc.axes), x, r, func() (*core.Tensor, error) { return core.Reduce(x, tc.op, tc.axes...) }, dx)
	}
}

// TestElementwiseGrad checks both operands of every binary op with
// broadcasting on each side.
func TestElementwiseGrad(t *testing.T) {
	b := backends[1]
	g := core.NewRNG(13)
	for _, op := range []core.BinaryOp{core.Add, core.Sub, core.Mul, core.Div, core.Max, core.Min} {
		for _, sh := range [][2]core.Shape{{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}}, {{2, 1, 4}, {2, 3, 1}}, {{1, 3, 1}, {2, 3, 4}}} {
			av := randn(g, sh[0].Size(), 1)
			bv := randn(g, sh[1].Size(), 1)
			if op == core.Div {
				for i := range bv {
					bv[i] = 1 + g.Float32()
				}
			}
			if op == core.Max || op == core.Min { // keep a and b apart
				for i := range av {
					av[i] = float32(i%5)*0.5 + 0.25
				}
				for i := range bv {
					bv[i] = float32((i*3)%4) * 0.5
				}
			}
			a, bb := tensor(t, b, sh[0], av), tensor(t, b, sh[1], bv)
			out, _ := core.BroadcastShape(sh[0], sh[1])
			r := randn(g, out.Size(), 1)
			dy := tensor(t, b, out, r)
			da, db, err := autograd.ElementwiseGrad(a, bb, dy, op)
			if err != nil {
				t.Fatal(err)
			}
			fwd := func() (*core.Tensor, error) { return core.Elementwise(a, bb, op) }
			check(t, fmt.Sprintf("%s %v %v da", op, sh[0], sh[1]), a, r, fwd, da)
			check(t, fmt.Sprintf("%s %v %v db", op, sh[0], sh[1]), bb, r, fwd, db)
		}
	}
}
