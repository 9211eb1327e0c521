package autograd_test

import (
	"fmt"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
)

// TestConvGrad checks dx, dw and db of every convolution variant against
// central differences, on both CPU backends.
func TestConvGrad(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, w core.Shape
		p    core.Conv
	}{
		{"plain 3x3", core.Shape{2, 5, 5, 3}, core.Shape{3, 3, 3, 4}, core.Conv{}},
		{"pad 1", core.Shape{1, 4, 5, 2}, core.Shape{3, 3, 2, 3}, core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"stride 2, unused last row and column", core.Shape{2, 8, 7, 2}, core.Shape{3, 3, 2, 3}, core.Conv{Stride: []int{2, 2}}},
		{"stride 2 asymmetric pad (Keras same)", core.Shape{1, 6, 6, 2}, core.Shape{3, 3, 2, 2}, core.Conv{Stride: []int{2, 2}, PadBefore: []int{0, 0}, PadAfter: []int{1, 1}}},
		{"asymmetric pad 2/0, 0/1", core.Shape{1, 5, 4, 2}, core.Shape{3, 2, 2, 2}, core.Conv{PadBefore: []int{2, 0}, PadAfter: []int{0, 1}}},
		{"dilation 2", core.Shape{1, 7, 7, 2}, core.Shape{3, 3, 2, 3}, core.Conv{Dilation: []int{2, 2}, PadBefore: []int{1, 2}, PadAfter: []int{2, 1}}},
		{"stride 2 dilation 2", core.Shape{2, 9, 8, 1}, core.Shape{2, 3, 1, 2}, core.Conv{Stride: []int{2, 3}, Dilation: []int{2, 2}}},
		{"groups 2", core.Shape{2, 5, 5, 4}, core.Shape{3, 3, 2, 6}, core.Conv{Groups: 2, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"depthwise stride 2", core.Shape{2, 6, 6, 3}, core.Shape{3, 3, 1, 3}, core.Conv{Groups: 3, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"depthwise multiplier 2", core.Shape{1, 5, 5, 2}, core.Shape{3, 3, 1, 4}, core.Conv{Groups: 2}},
		{"1x1 with pad 1 (padding wider than the kernel)", core.Shape{1, 3, 3, 2}, core.Shape{1, 1, 2, 2}, core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
		{"1x1 stride 2", core.Shape{2, 5, 5, 3}, core.Shape{1, 1, 3, 2}, core.Conv{Stride: []int{2, 2}}},
		{"1-D", core.Shape{2, 9, 2}, core.Shape{3, 2, 3}, core.Conv{Stride: []int{2}, PadBefore: []int{1}, PadAfter: []int{2}}},
		{"3-D", core.Shape{1, 4, 4, 3, 2}, core.Shape{2, 3, 2, 2, 2}, core.Conv{Stride: []int{1, 2, 1}, PadBefore: []int{0, 1, 1}, PadAfter: []int{1, 0, 0}}},
	} {
		for _, b := range backends {
			t.Run(fmt.Sprintf("%s/%s", tc.name, b.Name()), func(t *testing.T) {
				g := core.NewRNG(7)
				x := tensor(t, b, tc.x, randn(g, tc.x.Size(), 1))
				w := tensor(t, b, tc.w, randn(g, tc.w.Size(), 0.5))
				ys, err := core.ConvShape(tc.x, tc.w, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				bias := tensor(t, b, core.Shape{ys[ys.Rank()-1]}, randn(g, ys[ys.Rank()-1], 1))
				r := randn(g, ys.Size(), 1)
				dy := tensor(t, b, ys, r)
				fwd := func() (*core.Tensor, error) { return core.Convolve(x, w, bias, tc.p) }
				dx, err := autograd.ConvInputGrad(dy, w, tc.x, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "dx", x, r, fwd, dx)
				dw, err := autograd.ConvWeightGrad(x, dy, tc.w, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "dw", w, r, fwd, dw)
				db, err := autograd.BiasGrad(dy)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "db", bias, r, fwd, db)
			})
		}
	}
}

// TestConvGradExact checks one case by hand: a 1-D input [1, 2, 3]
// (N=1, W=3, C=1) and kernel [1, 2] (K=2) give y = [1*1+2*2, 2*1+3*2] =
// [5, 8]; with dy = [1, 10]: dx = [1*1, 1*2+10*1, 10*2] = [1, 12, 20],
// dw = [1*1+10*2, 1*2+10*3] = [21, 32], db = 11.
func TestConvGradExact(t *testing.T) {
	b := backends[0]
	x := tensor(t, b, core.Shape{1, 3, 1}, []float32{1, 2, 3})
	w := tensor(t, b, core.Shape{2, 1, 1}, []float32{1, 2})
	dy := tensor(t, b, core.Shape{1, 2, 1}, []float32{1, 10})
	dx, err := autograd.ConvInputGrad(dy, w, x.Shape(), core.Conv{})
	if err != nil {
		t.Fatal(err)
	}
	dw, err := autograd.ConvWeightGrad(x, dy, w.Shape(), core.Conv{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := autograd.BiasGrad(dy)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		t    *core.Tensor
		want []float32
	}{{"dx", dx, []float32{1, 12, 20}}, {"dw", dw, []float32{21, 32}}, {"db", db, []float32{11}}} {
		got, _ := c.t.Data()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCheckCatchesSmallErrors shows that the tolerance is tight: a
// gradient scaled by 1.03, or with one element off by 3% of the largest,
// fails the check that the exact one passes.
func TestCheckCatchesSmallErrors(t *testing.T) {
	b := backends[0]
	g := core.NewRNG(3)
	xs, ws := core.Shape{2, 5, 5, 2}, core.Shape{3, 3, 2, 3}
	x := tensor(t, b, xs, randn(g, xs.Size(), 1))
	w := tensor(t, b, ws, randn(g, ws.Size(), 0.5))
	r := randn(g, 2*3*3*3, 1)
	dy := tensor(t, b, core.Shape{2, 3, 3, 3}, r)
	fwd := func() (*core.Tensor, error) { return core.Convolve(x, w, nil, core.Conv{}) }
	dw, err := autograd.ConvWeightGrad(x, dy, ws, core.Conv{})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkErr(w, r, fwd, dw); err != nil {
		t.Fatalf("exact gradient: %v", err)
	}
	v, _ := dw.Data()
	var m float32
	for _, e := range v {
		m = max(m, e, -e)
	}
	for _, bad := range []struct {
		name string
		edit func([]float32)
	}{
		{"scaled by 1.03", func(v []float32) {
			for i := range v {
				v[i] *= 1.03
			}
		}},
		{"one element off by 3% of the largest", func(v []float32) { v[len(v)/2] += 0.03 * m }},
	} {
		u := append([]float32(nil), v...)
		bad.edit(u)
		if err := checkErr(w, r, fwd, tensor(t, b, ws, u)); err == nil {
			t.Errorf("gradient %s passed the check", bad.name)
		}
	}
}
