package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// binary64 is each BinaryOp's formula in float64.
func binary64(op core.BinaryOp, a, b float64) float64 {
	switch op {
	case core.Add:
		return a + b
	case core.Sub:
		return a - b
	case core.Mul:
		return a * b
	case core.Div:
		return a / b
	case core.Max:
		return math.Max(a, b)
	case core.Min:
		return math.Min(a, b)
	}
	panic("backendtest: no reference for binary op " + op.String())
}

// refBinary is numpy broadcasting written out: shapes align on the right,
// missing leading axes count as 1, and an axis of extent 1 repeats its
// single element along the other operand's extent.
func refBinary(a []float64, as core.Shape, b []float64, bs core.Shape, op core.BinaryOp) ([]float64, core.Shape) {
	r := max(len(as), len(bs))
	ext := func(s core.Shape, i int) int {
		if j := i - (r - len(s)); j >= 0 {
			return s[j]
		}
		return 1
	}
	os := make(core.Shape, r)
	for i := range os {
		os[i] = max(ext(as, i), ext(bs, i))
	}
	// read returns the element of an operand at output index o.
	read := func(v []float64, s core.Shape, o []int) float64 {
		idx := make([]int, len(s))
		for j := range s {
			if s[j] != 1 {
				idx[j] = o[j+r-len(s)]
			}
		}
		return v[offset(idx, s)]
	}
	y := make([]float64, os.Size())
	for i := range y {
		o := unravel(i, os)
		y[i] = binary64(op, read(a, as, o), read(b, bs, o))
	}
	return y, os
}

var binaryOps = []core.BinaryOp{core.Add, core.Sub, core.Mul, core.Div, core.Max, core.Min}

func testBinary(t *testing.T, b core.Backend) {
	t.Run("hand", func(t *testing.T) {
		// Hand: [2,1] + [1,3] broadcasts both sides to [2,3].
		x := tensor(t, b, shapeOf(2, 1), []float32{10, 20})
		y := tensor(t, b, shapeOf(1, 3), []float32{1, 2, 3})
		z := must(t, "add")(core.Elementwise(x, y, core.Add))
		expectTensor(t, "add [2 1] + [1 3]", z, shapeOf(2, 3), []float64{11, 12, 13, 21, 22, 23}, exact)
		z = must(t, "sub")(core.Elementwise(y, x, core.Sub))
		expectTensor(t, "sub [1 3] - [2 1]", z, shapeOf(2, 3), []float64{-9, -8, -7, -19, -18, -17}, exact)
	})
	for _, c := range []struct {
		name   string
		as, bs core.Shape
	}{
		{"same_shape", shapeOf(2, 3, 4), shapeOf(2, 3, 4)},
		{"both_sides_2x1x3_1x4x1", shapeOf(2, 1, 3), shapeOf(1, 4, 1)},
		{"both_sides_1x4x1_2x1x3", shapeOf(1, 4, 1), shapeOf(2, 1, 3)},
		{"channels_vector", shapeOf(2, 3, 4, 5), shapeOf(5)},
		{"vector_first", shapeOf(5), shapeOf(2, 3, 1, 5)},
		{"lower_rank_middle", shapeOf(2, 3, 4), shapeOf(3, 1)},
		{"scalar_like", shapeOf(2, 3, 4), shapeOf(1)},
		{"se_scale_N11C_NHWC", shapeOf(2, 1, 1, 5), shapeOf(2, 3, 4, 5)},
		{"se_scale_NHWC_N11C", shapeOf(2, 3, 4, 5), shapeOf(2, 1, 1, 5)},
		{"per_sample", shapeOf(3, 2, 2, 4), shapeOf(3, 1, 1, 1)},
		{"rank5", shapeOf(2, 1, 3, 1, 2), shapeOf(1, 2, 1, 4, 1)},
		{"edge_17", shapeOf(1, 17), shapeOf(9, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := core.NewRNG(uint64(400 + len(c.name)))
			av, bv := ints(g, c.as.Size(), -9, 9), ints(g, c.bs.Size(), -9, 9)
			for i := range bv {
				if bv[i] == 0 {
					bv[i] = 7 // keep Div finite
				}
			}
			x, y := tensor(t, b, c.as, av), tensor(t, b, c.bs, bv)
			for _, op := range binaryOps {
				// Exact on small integers, except Div: rounding.
				tl := exact
				if op == core.Div {
					tl = rounding
				}
				want, os := refBinary(f64(av), c.as, f64(bv), c.bs, op)
				what := desc("%s %v, %v", op, c.as, c.bs)
				z := must(t, what)(core.Elementwise(x, y, op))
				expectTensor(t, what, z, os, want, tl)
			}
		})
	}
	t.Run("in_place", func(t *testing.T) {
		// Backend.Binary allows dst to alias a or b when shapes equal dst's.
		g := core.NewRNG(17)
		s := shapeOf(2, 3, 4)
		for _, op := range binaryOps {
			av, bv := ints(g, s.Size(), -9, 9), ints(g, s.Size(), 1, 9)
			want, _ := refBinary(f64(av), s, f64(bv), s, op)
			tl := exact
			if op == core.Div {
				tl = rounding
			}
			x, y := tensor(t, b, s, av), tensor(t, b, s, bv)
			if err := b.Binary(x, x, y, op); err != nil {
				t.Fatalf("%s in place into a: %v", op, err)
			}
			expectTensor(t, desc("%s in place into a", op), x, s, want, tl)
			x = tensor(t, b, s, av)
			if err := b.Binary(y, x, y, op); err != nil {
				t.Fatalf("%s in place into b: %v", op, err)
			}
			expectTensor(t, desc("%s in place into b", op), y, s, want, tl)
			// Broadcast operand, dst aliasing the full-size one.
			cv := ints(g, 4, 1, 9)
			want, _ = refBinary(f64(av), s, f64(cv), shapeOf(1, 1, 4), op)
			x = tensor(t, b, s, av)
			if err := b.Binary(x, x, tensor(t, b, shapeOf(1, 1, 4), cv), op); err != nil {
				t.Fatalf("%s in place broadcast: %v", op, err)
			}
			expectTensor(t, desc("%s in place, b [1 1 4]", op), x, s, want, tl)
		}
	})
}
