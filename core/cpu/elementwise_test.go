package cpu

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
)

// The row walks of Binary, Unary and Copy (strided.go) are checked
// against their reference loops bit for bit: each element is one float32
// operation (or a move) in both, so any difference is a wrong index.
// Shapes put extents 1 (dropped axes), broadcast axes (merged or not with
// their neighbours) and rows around the 4-wide loops in every position.

// equalBits reports the first index where got and want differ in bits.
func equalBits(got, want []float32) (int, bool) {
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i, false
		}
	}
	return 0, true
}

func TestFastBinary(t *testing.T) {
	g := core.NewRNG(4)
	shapes := []core.Shape{{1}, {5}, {7, 1}, {2, 3, 4}, {3, 1, 9}, {1, 4, 4, 3}, {2, 5, 6, 8}, {2, 1, 3, 1, 5}}
	for _, ds := range shapes {
		// Every subset of broadcast axes for each operand: bit i of m set
		// means the operand has extent 1 on axis i.
		for ma := 0; ma < 1<<len(ds); ma++ {
			for _, mb := range []int{0, ma ^ (1<<len(ds) - 1), (ma + 1) % (1 << len(ds)), 1<<len(ds) - 1} {
				as, bs := ds.Clone(), ds.Clone()
				for i := range ds {
					if ma>>i&1 == 1 {
						as[i] = 1
					}
					if mb>>i&1 == 1 {
						bs[i] = 1
					}
				}
				av, bv := fill(g, as.Size(), false), fill(g, bs.Size(), false)
				for _, op := range []core.BinaryOp{core.Add, core.Sub, core.Mul, core.Div, core.Max, core.Min} {
					got := tensor(t, ds, make([]float32, ds.Size()))
					want := tensor(t, ds, make([]float32, ds.Size()))
					if err := New().Binary(got, tensor(t, as, av), tensor(t, bs, bv), op); err != nil {
						t.Fatal(err)
					}
					if err := binaryRef(want, tensor(t, as, av), tensor(t, bs, bv), op); err != nil {
						t.Fatal(err)
					}
					if i, ok := equalBits(data(got), data(want)); !ok {
						t.Errorf("binary %v %v %v -> %v: [%d] got %v want %v", as, op, bs, ds, i, data(got)[i], data(want)[i])
					}
				}
			}
		}
	}
	// dst aliasing an operand of its shape.
	for _, n := range []int{3, 4, 9} {
		s, bs := core.Shape{2, n}, core.Shape{1, n}
		av, bv := fill(g, s.Size(), false), fill(g, n, false)
		x := tensor(t, s, append([]float32(nil), av...))
		if err := New().Binary(x, x, tensor(t, bs, bv), core.Mul); err != nil {
			t.Fatal(err)
		}
		want := tensor(t, s, make([]float32, s.Size()))
		if err := binaryRef(want, tensor(t, s, av), tensor(t, bs, bv), core.Mul); err != nil {
			t.Fatal(err)
		}
		if i, ok := equalBits(data(x), data(want)); !ok {
			t.Errorf("binary in place %v * %v: [%d] got %v want %v", s, bs, i, data(x)[i], data(want)[i])
		}
	}
}

func TestFastUnary(t *testing.T) {
	g := core.NewRNG(5)
	for _, n := range []int{1, 3, 4, 5, 8, 31} {
		v := fill(g, n, false)
		v[0] = float32(math.NaN())
		for _, op := range []core.UnaryOp{core.Identity, core.ReLU, core.ReLU6, core.Sigmoid} {
			f := core.Act(op)
			s := core.Shape{n}
			for _, inPlace := range []bool{false, true} {
				x := tensor(t, s, append([]float32(nil), v...))
				dst := x
				if !inPlace {
					dst = tensor(t, s, make([]float32, n))
				}
				if err := New().Unary(dst, x, f); err != nil {
					t.Fatal(err)
				}
				want := tensor(t, s, make([]float32, n))
				if err := NewReference().Unary(want, tensor(t, s, v), f); err != nil {
					t.Fatal(err)
				}
				for i, w := range data(want) {
					gv := data(dst)[i]
					if math.Float32bits(gv) != math.Float32bits(w) && !(gv != gv && w != w) {
						t.Errorf("unary %v n=%d in place %v: [%d] = %v, want %v", op, n, inPlace, i, gv, w)
						break
					}
				}
			}
		}
	}
}

func TestFastCopy(t *testing.T) {
	g := core.NewRNG(6)
	src := fill(g, 4*5*6*7, false)
	ss := core.Shape{4, 5, 6, 7}
	st := ss.Strides()
	type region struct {
		name string
		p    core.Copy
		dlen int
	}
	var cases []region
	// Transposes: dst row-major in the permuted shape.
	for _, perm := range [][]int{{0, 1, 2, 3}, {0, 2, 1, 3}, {3, 2, 1, 0}, {0, 1, 3, 2}, {1, 0, 2, 3}} {
		shape, sst := make([]int, 4), make([]int, 4)
		for i, p := range perm {
			shape[i], sst[i] = ss[p], st[p]
		}
		cases = append(cases, region{fmt.Sprint("transpose ", perm),
			core.Copy{Shape: shape, SrcStrides: sst, DstStrides: core.Shape(shape).Strides()}, ss.Size()})
	}
	// Pads: src into the middle of a bigger dst (rows contiguous in both
	// when the two last axes are whole).
	for _, pad := range [][2][4]int{{{0, 1, 1, 0}, {0, 1, 1, 0}}, {{0, 0, 1, 0}, {0, 0, 0, 0}}, {{1, 0, 0, 2}, {0, 3, 0, 1}}} {
		ds := make(core.Shape, 4)
		off := 0
		for i := range ds {
			ds[i] = ss[i] + pad[0][i] + pad[1][i]
		}
		dst := ds.Strides()
		for i := range ds {
			off += pad[0][i] * dst[i]
		}
		cases = append(cases, region{fmt.Sprint("pad ", pad),
			core.Copy{Shape: ss, SrcStrides: st, DstStrides: dst, DstOffset: off}, ds.Size()})
	}
	// Slices with offsets, a broadcast (stride 0) read and extents 1.
	cases = append(cases,
		region{"slice", core.Copy{Shape: []int{2, 3, 4, 5}, SrcOffset: st[0] + 2*st[2] + 1, SrcStrides: st, DstStrides: []int{60, 20, 5, 1}}, 120},
		region{"strided", core.Copy{Shape: []int{2, 5, 3, 4}, SrcOffset: 3, SrcStrides: []int{2 * st[0], st[1], 2 * st[2], st[3]}, DstStrides: []int{60, 12, 4, 1}}, 120},
		region{"broadcast", core.Copy{Shape: []int{3, 4, 7}, SrcStrides: []int{0, st[2], 1}, DstStrides: []int{28, 7, 1}}, 84},
		region{"ones", core.Copy{Shape: []int{1, 5, 1, 1}, SrcOffset: 2, SrcStrides: []int{9, st[1], 9, 9}, DstOffset: 1, DstStrides: []int{0, 2, 0, 0}}, 11},
		region{"empty", core.Copy{Shape: []int{3, 0, 2}, SrcStrides: []int{1, 1, 1}, DstStrides: []int{1, 1, 1}}, 4},
	)
	for _, c := range cases {
		x := tensor(t, ss, src)
		got := tensor(t, core.Shape{c.dlen}, fill(g, c.dlen, false))
		want := tensor(t, core.Shape{c.dlen}, append([]float32(nil), data(got)...))
		if err := New().Copy(got, x, c.p); err != nil {
			t.Fatal(err)
		}
		if err := NewReference().Copy(want, x, c.p); err != nil {
			t.Fatal(err)
		}
		if i, ok := equalBits(data(got), data(want)); !ok {
			t.Errorf("copy %s %+v: [%d] got %v want %v", c.name, c.p, i, data(got)[i], data(want)[i])
		}
	}
}
