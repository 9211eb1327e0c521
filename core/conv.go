package core

import "fmt"

// ConvOutSize is the lecture's output-size formula generalized to
// asymmetric padding and dilation: (D + Pb + Pa - dil*(F-1) - 1)/S + 1,
// which is (D - F + 2P)/S + 1 for symmetric padding and no dilation.
// It returns 0 when the kernel does not fit.
func ConvOutSize(in, kernel, stride, dilation, padBefore, padAfter int) int {
	span := dilation*(kernel-1) + 1
	n := in + padBefore + padAfter - span
	if n < 0 {
		return 0
	}
	return n/stride + 1
}

// SamePadding returns TensorFlow's "same" padding for one axis: the output
// has ceil(in/stride) positions and an odd total goes after (so a stride-2
// Keras conv pads 0 before and 1 after on even inputs).
func SamePadding(in, kernel, stride, dilation int) (before, after int) {
	span := dilation*(kernel-1) + 1
	out := (in + stride - 1) / stride
	total := (out-1)*stride + span - in
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

// Padding names the lecture's padding schemes.
type Padding int

// Padding schemes for ConvParams.
const (
	Valid Padding = iota // no padding: the map shrinks by F-1
	Same                 // TF "same": output = ceil(input/stride)
)

// ConvPadding fills p's padding so that x's spatial axes get "same" or
// "valid" padding for a kernel of the given spatial extents.
func ConvPadding(p Conv, x Shape, kernel []int, pad Padding) Conv {
	d := len(kernel)
	p.PadBefore, p.PadAfter = make([]int, d), make([]int, d)
	if pad == Same {
		for i := 0; i < d; i++ {
			p.PadBefore[i], p.PadAfter[i] = SamePadding(x[1+i], kernel[i], at(p.Stride, i), at(p.Dilation, i))
		}
	}
	return p
}

// at returns s[i], or 1 when s is nil (the default stride and dilation).
func at(s []int, i int) int {
	if s == nil {
		return 1
	}
	return s[i]
}

// atz returns s[i], or 0 when s is nil (the default padding).
func atz(s []int, i int) int {
	if s == nil {
		return 0
	}
	return s[i]
}

// spatial is one per-axis parameter of a conv or pool, for validation.
type spatial struct {
	name string
	s    []int
	min  int
}

// checkSpatial validates the per-axis slices of a conv or pool.
func checkSpatial(d int, params ...spatial) error {
	for _, p := range params {
		if p.s == nil {
			continue
		}
		if len(p.s) != d {
			return fmt.Errorf("%s has %d entries for %d spatial axes", p.name, len(p.s), d)
		}
		for _, v := range p.s {
			if v < p.min {
				return fmt.Errorf("%s %v: entries must be >= %d", p.name, p.s, p.min)
			}
		}
	}
	return nil
}

// ConvShape returns the output shape of a convolution of x by weights w,
// or an error naming what does not fit.
func ConvShape(x, w Shape, p Conv) (Shape, error) {
	d := x.Rank() - 2
	if d < 1 || d > 3 {
		return nil, fmt.Errorf("conv: input %v: want rank 3, 4 or 5 (N, spatial..., C)", x)
	}
	if w.Rank() != d+2 {
		return nil, fmt.Errorf("conv: weights %v: want rank %d (K1..K%d, Cin/groups, Cout) for input %v", w, d+2, d, x)
	}
	if err := checkSpatial(d, spatial{"stride", p.Stride, 1}, spatial{"dilation", p.Dilation, 1},
		spatial{"pad before", p.PadBefore, 0}, spatial{"pad after", p.PadAfter, 0}); err != nil {
		return nil, fmt.Errorf("conv: input %v weights %v: %w", x, w, err)
	}
	g := p.Groups
	if g == 0 {
		g = 1
	}
	cin, cout := x[d+1], w[d+1]
	if g < 1 || cin%g != 0 || cout%g != 0 {
		return nil, fmt.Errorf("conv: groups %d must divide input channels %d and output channels %d (input %v, weights %v)", g, cin, cout, x, w)
	}
	if w[d] != cin/g {
		return nil, fmt.Errorf("conv: weights %v expect %d input channels per group, input %v with %d groups has %d", w, w[d], x, g, cin/g)
	}
	out := Shape{x[0]}
	for i := 0; i < d; i++ {
		o := ConvOutSize(x[1+i], w[i], at(p.Stride, i), at(p.Dilation, i), atz(p.PadBefore, i), atz(p.PadAfter, i))
		if o < 1 {
			return nil, fmt.Errorf("conv: kernel %v (dilation %v) does not fit input %v padded by %v/%v", w[:d], p.Dilation, x, p.PadBefore, p.PadAfter)
		}
		out = append(out, o)
	}
	return append(out, cout), nil
}

// Convolve runs a convolution on x's backend; see Backend.Conv for the
// layouts. bias may be nil. The rank of x selects 1-D (N,W,C), 2-D
// (N,H,W,C) or 3-D (N,D,H,W,C) convolution.
func Convolve(x, w, bias *Tensor, p Conv) (*Tensor, error) {
	b := x.Backend()
	if err := same("conv", b, x, w, bias); err != nil {
		return nil, err
	}
	out, err := ConvShape(x.Shape(), w.Shape(), p)
	if err != nil {
		return nil, err
	}
	cout := out[len(out)-1]
	if bias != nil && !bias.Shape().Equal(Shape{cout}) {
		return nil, fmt.Errorf("conv: bias %v, want [%d]", bias.Shape(), cout)
	}
	if err := checkUnary("conv activation", p.Act); err != nil {
		return nil, err
	}
	dst, err := New(b, out)
	if err != nil {
		return nil, fmt.Errorf("conv: %w", err)
	}
	if err := b.Conv(dst, x, w, bias, p); err != nil {
		dst.Free()
		return nil, fmt.Errorf("conv %v * %v: %w", x.Shape(), w.Shape(), err)
	}
	return dst, nil
}
