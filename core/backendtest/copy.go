package backendtest

import (
	"testing"

	"webcnn/core"
)

// refTranspose moves element x[idx] to y[o] with o[i] = idx[perm[i]].
func refTranspose(x []float64, xs core.Shape, perm []int) ([]float64, core.Shape) {
	os := make(core.Shape, len(perm))
	for i, p := range perm {
		os[i] = xs[p]
	}
	y := make([]float64, len(x))
	idx := make([]int, len(xs))
	for i := range y {
		o := unravel(i, os)
		for j, p := range perm {
			idx[p] = o[j]
		}
		y[i] = x[offset(idx, xs)]
	}
	return y, os
}

// refPad puts x at offset before inside a value-filled tensor.
func refPad(x []float64, xs core.Shape, before, after []int, value float64) ([]float64, core.Shape) {
	os := xs.Clone()
	for i := range os {
		os[i] += before[i] + after[i]
	}
	y := make([]float64, os.Size())
	idx := make([]int, len(xs))
	for i := range y {
		o := unravel(i, os)
		y[i] = value
		inside := true
		for a := range o {
			idx[a] = o[a] - before[a]
			if idx[a] < 0 || idx[a] >= xs[a] {
				inside = false
			}
		}
		if inside {
			y[i] = x[offset(idx, xs)]
		}
	}
	return y, os
}

// refConcat walks the output: on the axis, position p falls in the input
// whose running extent covers it.
func refConcat(ax int, xs []core.Shape, vs [][]float64) ([]float64, core.Shape) {
	os := xs[0].Clone()
	os[ax] = 0
	for _, s := range xs {
		os[ax] += s[ax]
	}
	y := make([]float64, os.Size())
	for i := range y {
		o := unravel(i, os)
		p := o[ax]
		for j, s := range xs {
			if p < s[ax] {
				o[ax] = p
				y[i] = vs[j][offset(o, s)]
				break
			}
			p -= s[ax]
		}
	}
	return y, os
}

// refSlice keeps positions start..start+size-1 of one axis.
func refSlice(x []float64, xs core.Shape, ax, start, size int) ([]float64, core.Shape) {
	os := xs.Clone()
	os[ax] = size
	y := make([]float64, os.Size())
	for i := range y {
		o := unravel(i, os)
		o[ax] += start
		y[i] = x[offset(o, xs)]
	}
	return y, os
}

func testCopy(t *testing.T, b core.Backend) {
	g := core.NewRNG(25)
	t.Run("concat", func(t *testing.T) {
		// Hand: [[1],[2]] and [[3,4],[5,6]] joined along axis 1.
		a := tensor(t, b, shapeOf(2, 1), []float32{1, 2})
		c := tensor(t, b, shapeOf(2, 2), []float32{3, 4, 5, 6})
		y := must(t, "concat")(core.Concat(1, a, c))
		expectTensor(t, "concat hand axis 1", y, shapeOf(2, 3), []float64{1, 3, 4, 2, 5, 6}, exact)
		for _, cc := range []struct {
			ax     int
			shapes []core.Shape
		}{
			{0, []core.Shape{shapeOf(1, 2, 3, 4), shapeOf(2, 2, 3, 4)}},
			{1, []core.Shape{shapeOf(2, 1, 3, 4), shapeOf(2, 3, 3, 4), shapeOf(2, 2, 3, 4)}},
			{2, []core.Shape{shapeOf(2, 2, 3, 4), shapeOf(2, 2, 1, 4)}},
			{-1, []core.Shape{shapeOf(2, 3, 3, 4), shapeOf(2, 3, 3, 1), shapeOf(2, 3, 3, 5), shapeOf(2, 3, 3, 3)}},
			{3, []core.Shape{shapeOf(1, 1, 1, 17), shapeOf(1, 1, 1, 16)}},
			{-1, []core.Shape{shapeOf(3, 7)}},
		} {
			var ts []*core.Tensor
			var vs [][]float64
			for _, s := range cc.shapes {
				v := ints(g, s.Size(), -99, 99)
				ts = append(ts, tensor(t, b, s, v))
				vs = append(vs, f64(v))
			}
			ax := cc.ax
			if ax < 0 {
				ax += len(cc.shapes[0])
			}
			want, os := refConcat(ax, cc.shapes, vs)
			what := desc("concat axis %d of %v", cc.ax, cc.shapes)
			y := must(t, what)(core.Concat(cc.ax, ts...))
			expectTensor(t, what, y, os, want, exact)
		}
	})
	t.Run("slice_split", func(t *testing.T) {
		s := shapeOf(2, 3, 4, 6)
		v := ints(g, s.Size(), -99, 99)
		x := tensor(t, b, s, v)
		for _, c := range [][3]int{{0, 1, 1}, {1, 1, 2}, {2, 0, 4}, {3, 2, 3}, {-1, 5, 1}} {
			ax := c[0]
			if ax < 0 {
				ax += len(s)
			}
			want, os := refSlice(f64(v), s, ax, c[1], c[2])
			what := desc("slice %v axis %d from %d size %d", s, c[0], c[1], c[2])
			y := must(t, what)(core.Slice(x, c[0], c[1], c[2]))
			expectTensor(t, what, y, os, want, exact)
		}
		// Channel split (ShuffleNet, grouped blocks): sizes 1, 3, 2 of 6.
		parts, err := core.Split(x, -1, 1, 3, 2)
		if err != nil {
			t.Fatalf("split: %v", err)
		}
		at := 0
		for i, p := range parts {
			t.Cleanup(p.Free)
			n := []int{1, 3, 2}[i]
			want, os := refSlice(f64(v), s, 3, at, n)
			expectTensor(t, desc("split %v channels part %d (%d from %d)", s, i, n, at), p, os, want, exact)
			at += n
		}
		// Splitting then concatenating gives x back.
		y := must(t, "concat split")(core.Concat(-1, parts...))
		expectTensor(t, "concat(split(x))", y, s, f64(v), exact)
	})
	t.Run("pad", func(t *testing.T) {
		s := shapeOf(2, 3, 2, 3)
		v := ints(g, s.Size(), -99, 99)
		x := tensor(t, b, s, v)
		for _, c := range []struct {
			before, after []int
			value         float32
		}{
			{[]int{0, 1, 1, 0}, []int{0, 1, 1, 0}, 0},
			{[]int{0, 0, 1, 0}, []int{0, 2, 0, 0}, 0},  // asymmetric, as Keras "same" stride 2
			{[]int{1, 2, 0, 1}, []int{0, 1, 3, 2}, -7}, // every axis, a constant
			{[]int{0, 0, 0, 0}, []int{0, 0, 0, 0}, 5},
		} {
			want, os := refPad(f64(v), s, c.before, c.after, float64(c.value))
			what := desc("pad %v by %v/%v with %v", s, c.before, c.after, c.value)
			y := must(t, what)(core.Pad(x, c.before, c.after, c.value))
			expectTensor(t, what, y, os, want, exact)
		}
	})
	t.Run("transpose", func(t *testing.T) {
		// Hand: the transpose of [[1,2,3],[4,5,6]].
		y := must(t, "transpose")(core.Transpose(tensor(t, b, shapeOf(2, 3), []float32{1, 2, 3, 4, 5, 6}), 1, 0))
		expectTensor(t, "transpose hand", y, shapeOf(3, 2), []float64{1, 4, 2, 5, 3, 6}, exact)
		for _, c := range []struct {
			s    core.Shape
			perm []int
		}{
			{shapeOf(2, 3, 4, 5), []int{0, 3, 1, 2}}, // NHWC -> NCHW
			{shapeOf(2, 5, 3, 4), []int{0, 2, 3, 1}}, // NCHW -> NHWC
			{shapeOf(3, 4, 5), []int{2, 0, 1}},
			{shapeOf(3, 4, 5), []int{0, 1, 2}},
			{shapeOf(17, 9), []int{1, 0}},
			{shapeOf(2, 3, 1, 4, 2), []int{4, 2, 0, 3, 1}},
			{shapeOf(3, 3, 4, 8), []int{3, 2, 0, 1}}, // HWIO -> OIHW, as the converter does
		} {
			v := ints(g, c.s.Size(), -99, 99)
			want, os := refTranspose(f64(v), c.s, c.perm)
			what := desc("transpose %v by %v", c.s, c.perm)
			y := must(t, what)(core.Transpose(tensor(t, b, c.s, v), c.perm...))
			expectTensor(t, what, y, os, want, exact)
		}
	})
	t.Run("region", func(t *testing.T) {
		// Backend.Copy by its definition: dst[DstOffset + i.DstStrides] =
		// src[SrcOffset + i.SrcStrides] for every i within Shape; the rest
		// of dst is untouched.
		src := make([]float32, 30)
		for i := range src {
			src[i] = float32(i + 1)
		}
		for _, c := range []struct {
			name string
			p    core.Copy
			n    int
		}{
			{"gather_2x3", core.Copy{Shape: []int{2, 3}, SrcOffset: 7, SrcStrides: []int{6, 2}, DstOffset: 1, DstStrides: []int{3, 1}}, 9},
			{"scatter_transposed", core.Copy{Shape: []int{3, 4}, SrcOffset: 2, SrcStrides: []int{4, 1}, DstOffset: 0, DstStrides: []int{1, 5}}, 20},
			{"reverse_negative_stride", core.Copy{Shape: []int{5}, SrcOffset: 9, SrcStrides: []int{-2}, DstOffset: 0, DstStrides: []int{1}}, 5},
			{"repeat_zero_stride", core.Copy{Shape: []int{3, 2}, SrcOffset: 4, SrcStrides: []int{0, 1}, DstOffset: 2, DstStrides: []int{2, 1}}, 8},
			{"rank3", core.Copy{Shape: []int{2, 2, 2}, SrcOffset: 0, SrcStrides: []int{12, 4, 1}, DstOffset: 3, DstStrides: []int{1, 2, 4}}, 12},
		} {
			// The reference: the same definition as nested loops.
			want := make([]float64, c.n)
			for i := range want {
				want[i] = -1
			}
			for i := 0; i < core.Shape(c.p.Shape).Size(); i++ {
				idx := unravel(i, c.p.Shape)
				so, do := c.p.SrcOffset, c.p.DstOffset
				for a, v := range idx {
					so += v * c.p.SrcStrides[a]
					do += v * c.p.DstStrides[a]
				}
				want[do] = float64(src[so])
			}
			fill := make([]float32, c.n)
			for i := range fill {
				fill[i] = -1
			}
			dst := tensor(t, b, shapeOf(c.n), fill)
			if err := core.CopyRegion(dst, tensor(t, b, shapeOf(30), src), c.p); err != nil {
				t.Errorf("copy %s: %v", c.name, err)
				continue
			}
			expectTensor(t, "copy "+c.name, dst, shapeOf(c.n), want, exact)
		}
	})
	t.Run("reshape_flatten", func(t *testing.T) {
		s := shapeOf(2, 3, 4, 5)
		v := ints(g, s.Size(), -99, 99)
		x := tensor(t, b, s, v)
		// A reshape is a view: same row-major values under a new shape.
		r, err := x.Reshape(6, -1, 5)
		if err != nil {
			t.Fatalf("reshape: %v", err)
		}
		expectTensor(t, "reshape [2 3 4 5] to [6 -1 5]", r, shapeOf(6, 4, 5), f64(v), exact)
		f, err := core.Flatten(x)
		if err != nil {
			t.Fatalf("flatten: %v", err)
		}
		expectTensor(t, "flatten [2 3 4 5]", f, shapeOf(2, 60), f64(v), exact)
		if _, err := x.Reshape(7, -1); err == nil {
			t.Errorf("reshape [2 3 4 5] (120) to [7 -1]: no error")
		}
		if _, err := x.Reshape(2, 3, 4, 4); err == nil {
			t.Errorf("reshape [2 3 4 5] to [2 3 4 4]: no error")
		}
		// An op on the view reads the shared buffer.
		y := must(t, "relu of view")(core.Apply(r, core.Act(core.ReLU)))
		want := make([]float64, len(v))
		for i, x := range v {
			want[i] = max(0, float64(x))
		}
		expectTensor(t, "relu of reshaped view", y, shapeOf(6, 4, 5), want, exact)
	})
}
