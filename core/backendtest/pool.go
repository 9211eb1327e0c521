package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// refPool is PyTorch's max_pool / avg_pool evaluated in float64, extended
// to asymmetric padding. On each spatial axis output o reads the window of
// input positions o*S - Pb ... o*S - Pb + K - 1. Then
//   - max takes the largest value at positions inside the input: padding
//     never wins, even over negative data;
//   - avg sums the values inside the input and divides by the number of
//     window positions inside the input when count_include_pad is false,
//     or inside the input plus the declared padding [-Pb, in+Pa) when it
//     is true; positions past Pa, which only ceil mode creates, never count.
//
// The output extent is PyTorch's pooling_output_shape: (in + Pb + Pa - K)
// / S + 1 rounded down, or up in ceil mode, where a last window starting
// at or past in + Pb (in the trailing padding) is dropped.
func refPool(x []float64, xs core.Shape, p core.Pool) ([]float64, core.Shape) {
	d := len(xs) - 2
	stride := p.Kernel
	if p.Stride != nil {
		stride = p.Stride
	}
	pad := func(s []int, i int) int {
		if s == nil {
			return 0
		}
		return s[i]
	}
	os := core.Shape{xs[0]}
	for i := 0; i < d; i++ {
		in, k, s, pb, pa := xs[1+i], p.Kernel[i], stride[i], pad(p.PadBefore, i), pad(p.PadAfter, i)
		n := in + pb + pa - k
		out := n/s + 1
		if p.CeilMode {
			out = int(math.Ceil(float64(n)/float64(s))) + 1
			if (out-1)*s >= in+pb {
				out--
			}
		}
		os = append(os, out)
	}
	c := xs[d+1]
	os = append(os, c)
	var taps [][]int
	nk := core.Shape(p.Kernel).Size()
	for t := 0; t < nk; t++ {
		taps = append(taps, unravel(t, p.Kernel))
	}
	y := make([]float64, os.Size())
	pos := make([]int, d+2)
	for i := range y {
		o := unravel(i, os)
		best, sum, inInput, inDeclared := math.Inf(-1), 0.0, 0, 0
		for _, k := range taps {
			inside, declared := true, true
			pos[0], pos[d+1] = o[0], o[d+1]
			for a := 0; a < d; a++ {
				q := o[1+a]*stride[a] - pad(p.PadBefore, a) + k[a]
				pos[1+a] = q
				if q < 0 || q >= xs[1+a] {
					inside = false
				}
				if q < -pad(p.PadBefore, a) || q >= xs[1+a]+pad(p.PadAfter, a) {
					declared = false
				}
			}
			if declared {
				inDeclared++
			}
			if !inside {
				continue
			}
			v := x[offset(pos, xs)]
			best = math.Max(best, v)
			sum += v
			inInput++
		}
		switch {
		case p.Op == core.MaxPool:
			y[i] = best
		case p.CountIncludePad:
			y[i] = sum / float64(inDeclared)
		default:
			y[i] = sum / float64(inInput)
		}
	}
	return y, os
}

type poolCase struct {
	name string
	x    core.Shape
	p    core.Pool
}

var poolCases = []poolCase{
	{"1d_max_k3_s2", shapeOf(2, 9, 3), core.Pool{Op: core.MaxPool, Kernel: []int{3}, Stride: []int{2}}},
	{"1d_avg_k2_default_stride", shapeOf(2, 8, 3), core.Pool{Op: core.AvgPool, Kernel: []int{2}}},
	{"1d_avg_pad_include", shapeOf(1, 7, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3}, Stride: []int{2}, PadBefore: []int{1}, PadAfter: []int{1}, CountIncludePad: true}},
	{"1d_avg_pad_exclude_ceil", shapeOf(1, 8, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3}, Stride: []int{2}, PadBefore: []int{1}, PadAfter: []int{1}, CeilMode: true}},
	{"1d_max_ceil", shapeOf(2, 10, 3), core.Pool{Op: core.MaxPool, Kernel: []int{3}, Stride: []int{2}, CeilMode: true}},
	{"max_2x2", shapeOf(2, 6, 8, 3), core.Pool{Op: core.MaxPool, Kernel: []int{2, 2}}},
	{"avg_2x2", shapeOf(2, 6, 8, 3), core.Pool{Op: core.AvgPool, Kernel: []int{2, 2}}},
	{"max_3x3_s2", shapeOf(2, 7, 9, 4), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}}},
	{"max_3x3_s2_pad1", shapeOf(2, 8, 7, 3), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
	{"max_3x3_s1_pad1", shapeOf(1, 5, 5, 5), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
	{"max_ceil", shapeOf(2, 8, 7, 3), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true}},
	{"max_ceil_pad", shapeOf(1, 8, 6, 2), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true}},
	{"avg_pad_include", shapeOf(2, 5, 6, 3), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CountIncludePad: true}},
	{"avg_pad_exclude", shapeOf(2, 5, 6, 3), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}},
	{"avg_ceil_include", shapeOf(1, 6, 8, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true, CountIncludePad: true}},
	{"avg_ceil_exclude", shapeOf(1, 6, 8, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true}},
	{"avg_ceil_nopad", shapeOf(1, 7, 5, 2), core.Pool{Op: core.AvgPool, Kernel: []int{2, 2}, CeilMode: true, CountIncludePad: true}},
	{"avg_asymmetric_pad_include", shapeOf(2, 6, 5, 3), core.Pool{Op: core.AvgPool, Kernel: []int{3, 2}, Stride: []int{2, 1}, PadBefore: []int{0, 1}, PadAfter: []int{1, 0}, CountIncludePad: true}},
	{"avg_asymmetric_pad_exclude", shapeOf(2, 6, 5, 3), core.Pool{Op: core.AvgPool, Kernel: []int{3, 2}, Stride: []int{2, 1}, PadBefore: []int{0, 1}, PadAfter: []int{1, 0}}},
	{"max_asymmetric_pad", shapeOf(2, 6, 5, 3), core.Pool{Op: core.MaxPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{2, 0}, PadAfter: []int{0, 2}}},
	{"avg_asym_ceil_include", shapeOf(1, 7, 6, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 0}, PadAfter: []int{0, 1}, CeilMode: true, CountIncludePad: true}},
	{"max_window_1x3", shapeOf(1, 4, 9, 17), core.Pool{Op: core.MaxPool, Kernel: []int{1, 3}, Stride: []int{1, 3}}},
	{"avg_whole_map", shapeOf(2, 5, 7, 5), core.Pool{Op: core.AvgPool, Kernel: []int{5, 7}}},
	{"3d_max_2x2x2", shapeOf(2, 4, 6, 5, 3), core.Pool{Op: core.MaxPool, Kernel: []int{2, 2, 2}}},
	{"3d_avg_3x3x3_s2_pad1_include", shapeOf(1, 5, 6, 5, 2), core.Pool{Op: core.AvgPool, Kernel: []int{3, 3, 3}, Stride: []int{2, 2, 2}, PadBefore: []int{1, 1, 1}, PadAfter: []int{1, 1, 1}, CountIncludePad: true}},
	{"3d_avg_ceil_exclude", shapeOf(1, 5, 4, 7, 2), core.Pool{Op: core.AvgPool, Kernel: []int{2, 3, 2}, Stride: []int{2, 2, 2}, PadBefore: []int{1, 0, 1}, PadAfter: []int{0, 1, 1}, CeilMode: true}},
	{"3d_max_ceil_asymmetric", shapeOf(1, 5, 4, 7, 2), core.Pool{Op: core.MaxPool, Kernel: []int{2, 3, 2}, Stride: []int{2, 2, 2}, PadBefore: []int{1, 0, 1}, PadAfter: []int{0, 1, 1}, CeilMode: true}},
}

func testPool(t *testing.T, b core.Backend) {
	t.Run("hand_1d", func(t *testing.T) {
		x := tensor(t, b, shapeOf(1, 5, 1), []float32{1, 3, 2, 5, 4})
		// Hand: sliding max of [1 3 2 5 4] with width 2.
		y := must(t, "pool")(core.PoolND(x, core.Pool{Op: core.MaxPool, Kernel: []int{2}, Stride: []int{1}}))
		expectTensor(t, "max k2 s1", y, shapeOf(1, 4, 1), []float64{3, 3, 5, 5}, exact)
		// Hand: ceil mode keeps the lone last element: windows [1 3] [2 5] [4].
		y = must(t, "pool")(core.PoolND(x, core.Pool{Op: core.MaxPool, Kernel: []int{2}, CeilMode: true}))
		expectTensor(t, "max k2 s2 ceil", y, shapeOf(1, 3, 1), []float64{3, 5, 4}, exact)
		y = must(t, "pool")(core.PoolND(x, core.Pool{Op: core.AvgPool, Kernel: []int{2}, CeilMode: true, CountIncludePad: true}))
		// Hand: the ceil-mode position past the end never counts: 4/1.
		expectTensor(t, "avg k2 s2 ceil", y, shapeOf(1, 3, 1), []float64{2, 3.5, 4}, exact)
	})
	t.Run("hand_ceil_pad_divisor", func(t *testing.T) {
		// Hand (PyTorch avg_pool1d(arange(1,7), 3, 2, padding=1,
		// ceil_mode=True)): windows start at -1, 1, 3, 5 and read
		// {pad,1,2}, {2,3,4}, {4,5,6}, {6,pad,beyond}. Including padding the
		// divisors are 3, 3, 3, 2 (position 7 lies past the declared
		// padding): 3/3, 9/3, 15/3, 6/2. Excluding it: 3/2, 9/3, 15/3, 6/1.
		x := tensor(t, b, shapeOf(1, 6, 1), []float32{1, 2, 3, 4, 5, 6})
		p := core.Pool{Op: core.AvgPool, Kernel: []int{3}, Stride: []int{2}, PadBefore: []int{1}, PadAfter: []int{1}, CeilMode: true, CountIncludePad: true}
		y := must(t, "pool")(core.PoolND(x, p))
		expectTensor(t, "avg ceil include pad", y, shapeOf(1, 4, 1), []float64{1, 3, 5, 3}, exact)
		p.CountIncludePad = false
		y = must(t, "pool")(core.PoolND(x, p))
		expectTensor(t, "avg ceil exclude pad", y, shapeOf(1, 4, 1), []float64{1.5, 3, 5, 6}, exact)
	})
	t.Run("hand_pad_divisor_2d", func(t *testing.T) {
		// Hand: a 3x3 average with padding 1 over a map of ones: including
		// padding, corners see 4/9, edges 6/9, the centre 9/9; excluding
		// it every window averages ones.
		x := tensor(t, b, shapeOf(1, 3, 3, 1), []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
		p := core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{1, 1}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CountIncludePad: true}
		y := must(t, "pool")(core.PoolND(x, p))
		c, e := 4.0/9, 6.0/9
		expectTensor(t, "avg 3x3 pad 1 include", y, shapeOf(1, 3, 3, 1), []float64{c, e, c, e, 1, e, c, e, c}, rounding)
		p.CountIncludePad = false
		y = must(t, "pool")(core.PoolND(x, p))
		expectTensor(t, "avg 3x3 pad 1 exclude", y, shapeOf(1, 3, 3, 1), []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}, rounding)
	})
	t.Run("hand_max_ignores_padding", func(t *testing.T) {
		// Hand: all values negative, so a zero from the padding would win
		// if it were read.
		x := tensor(t, b, shapeOf(1, 3, 1), []float32{-5, -3, -4})
		y := must(t, "pool")(core.PoolND(x, core.Pool{Op: core.MaxPool, Kernel: []int{3}, Stride: []int{1}, PadBefore: []int{1}, PadAfter: []int{1}}))
		expectTensor(t, "max pad over negatives", y, shapeOf(1, 3, 1), []float64{-3, -3, -3}, exact)
	})
	t.Run("out_size", func(t *testing.T) {
		// Hand, from PyTorch's pooling_output_shape.
		for _, c := range []struct {
			in, k, s, pb, pa int
			ceil             bool
			want             int
		}{
			{4, 2, 2, 0, 0, false, 2},
			{5, 2, 2, 0, 0, false, 2},
			{5, 2, 2, 0, 0, true, 3},
			{6, 3, 2, 1, 1, true, 4},
			{6, 3, 2, 1, 1, false, 3},
			{5, 3, 2, 1, 1, true, 3}, // (5+2-3)/2 divides: ceil changes nothing
			{5, 2, 2, 1, 1, true, 3}, // windows start at -1, 1, 3; a 4th at 5 would start in the trailing padding
			{5, 2, 2, 1, 1, false, 3},
			{7, 2, 3, 0, 0, true, 3},    // starts 0, 3, 6: the last window holds one element
			{55, 3, 2, 0, 0, false, 27}, // AlexNet
			{13, 3, 2, 0, 0, true, 6},
			{112, 3, 2, 1, 1, false, 56}, // ResNet stem
		} {
			if got := core.PoolOutSize(c.in, c.k, c.s, c.pb, c.pa, c.ceil); got != c.want {
				t.Errorf("PoolOutSize(in %d, k %d, s %d, pad %d/%d, ceil %v) = %d, want %d", c.in, c.k, c.s, c.pb, c.pa, c.ceil, got, c.want)
			}
		}
	})
	for i, c := range poolCases {
		t.Run(c.name, func(t *testing.T) {
			// Max: exact (a max makes no rounding). Avg: rounding (a sum of
			// small integers is exact; the division rounds).
			g := core.NewRNG(uint64(300 + i))
			v := ints(g, c.x.Size(), -20, 20)
			tl := exact
			if c.p.Op == core.AvgPool {
				tl = rounding
			}
			want, os := refPool(f64(v), c.x, c.p)
			what := desc("pool %s %s x=%v kernel=%v stride=%v pad=%v/%v ceil=%v include_pad=%v",
				c.name, c.p.Op, c.x, c.p.Kernel, c.p.Stride, c.p.PadBefore, c.p.PadAfter, c.p.CeilMode, c.p.CountIncludePad)
			y := must(t, what)(core.PoolND(tensor(t, b, c.x, v), c.p))
			expectTensor(t, what, y, os, want, tl)
		})
	}
	t.Run("edges", func(t *testing.T) {
		g := core.NewRNG(15)
		for _, ch := range edgeCin {
			for _, h := range edgeSpatial[1:] {
				for _, op := range []core.PoolOp{core.MaxPool, core.AvgPool} {
					xs := shapeOf(2, h, h+1, ch)
					p := core.Pool{Op: op, Kernel: []int{2, 2}, Stride: []int{2, 2}, CeilMode: true, PadBefore: []int{1, 0}, PadAfter: []int{0, 1}}
					v := ints(g, xs.Size(), -9, 9)
					want, os := refPool(f64(v), xs, p)
					what := desc("pool %s x=%v 2x2 s2 ceil pad [1 0]/[0 1]", op, xs)
					y := must(t, what)(core.PoolND(tensor(t, b, xs, v), p))
					if !expectTensor(t, what, y, os, want, rounding) {
						t.FailNow()
					}
				}
			}
		}
	})
	t.Run("global", func(t *testing.T) {
		// Global pooling: the float64 mean / max of each (n, c) over every
		// spatial position. Avg: rounding; max: exact.
		g := core.NewRNG(16)
		for _, xs := range []core.Shape{shapeOf(2, 7, 3), shapeOf(2, 3, 5, 4), shapeOf(3, 1, 1, 17), shapeOf(1, 2, 3, 4, 5)} {
			v := ints(g, xs.Size(), -50, 50)
			c := xs[len(xs)-1]
			n := xs[0]
			sp := xs.Size() / (n * c)
			mean, mx := make([]float64, n*c), make([]float64, n*c)
			for i := range mx {
				mx[i] = math.Inf(-1)
			}
			for i, x := range v {
				j := (i/(sp*c))*c + i%c
				mean[j] += float64(x) / float64(sp)
				mx[j] = math.Max(mx[j], float64(x))
			}
			os := shapeOf(n)
			for range xs[1 : len(xs)-1] {
				os = append(os, 1)
			}
			os = append(os, c)
			y := must(t, "global avg")(core.GlobalAvgPool(tensor(t, b, xs, v)))
			expectTensor(t, desc("global avg %v", xs), y, os, mean, rounding)
			y = must(t, "global max")(core.GlobalMaxPool(tensor(t, b, xs, v)))
			expectTensor(t, desc("global max %v", xs), y, os, mx, exact)
		}
	})
}
