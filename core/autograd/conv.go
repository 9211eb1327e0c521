package autograd

import (
	"fmt"

	"webcnn/core"
)

// The three gradients of y = Conv(x, w, b, p) (identity activation; a
// fused activation is differentiated first with UnaryGrad). Each is itself
// a convolution or a reduction, so every Backend runs them with the
// kernels it already has:
//
//   - dL/dx is the transposed convolution: dy, spread out by the stride
//     (zeros between its entries) and placed in a zero border, convolved
//     ("valid", dilation as in the forward pass) with the kernel flipped
//     on every spatial axis and with its two channel axes swapped;
//   - dL/dw correlates x with dy: a convolution whose batch is x's
//     channels, whose "kernel" is dy and whose channels are the batch,
//     with stride and dilation exchanged;
//   - dL/db sums dy over every axis but the channels.

// convDims are a convolution's extents per spatial axis.
type convDims struct {
	d                    int // spatial axes
	in, out, k           []int
	stride, dil, pb, pa  []int
	n, cin, cout, groups int
}

func dims(x, w, y core.Shape, p core.Conv) (convDims, error) {
	d := x.Rank() - 2
	want, err := core.ConvShape(x, w, p)
	if err != nil {
		return convDims{}, err
	}
	if !want.Equal(y) {
		return convDims{}, fmt.Errorf("conv gradient: dy %v, the convolution of %v by %v gives %v", y, x, w, want)
	}
	cd := convDims{d: d, n: x[0], cin: x[d+1], cout: w[d+1], groups: max(p.Groups, 1)}
	for i := 0; i < d; i++ {
		cd.in = append(cd.in, x[1+i])
		cd.out = append(cd.out, y[1+i])
		cd.k = append(cd.k, w[i])
		cd.stride = append(cd.stride, at(p.Stride, i, 1))
		cd.dil = append(cd.dil, at(p.Dilation, i, 1))
		cd.pb = append(cd.pb, at(p.PadBefore, i, 0))
		cd.pa = append(cd.pa, at(p.PadAfter, i, 0))
	}
	return cd, nil
}

// ConvInputGrad returns dL/dx for y = Conv(x, w, p), given dy = dL/dy and
// x's shape (p.Act must already be differentiated: it is ignored).
func ConvInputGrad(dy, w *core.Tensor, x core.Shape, p core.Conv) (*core.Tensor, error) {
	cd, err := dims(x, w.Shape(), dy.Shape(), p)
	if err != nil {
		return nil, err
	}
	b := dy.Backend()
	var c calc
	d := cd.d
	// Spread dy into a zero tensor of extent L = in + (k-1)*dil per axis:
	// output o lands at o*stride + (k-1)*dil - padBefore. Outputs landing
	// outside [0, L) only ever read padding, so they contribute nothing.
	ls := core.Shape{cd.n}
	region := []int{cd.n}
	src := make([]int, d+2)
	dstIdx := make([]int, d+2)
	for i := 0; i < d; i++ {
		span := (cd.k[i] - 1) * cd.dil[i]
		ls = append(ls, cd.in[i]+span)
		lo := 0
		if cd.pb[i] > span {
			lo = (cd.pb[i] - span + cd.stride[i] - 1) / cd.stride[i]
		}
		hi := min(cd.out[i], (cd.in[i]-1+cd.pb[i])/cd.stride[i]+1)
		if hi <= lo { // no output reads an input position: dx = 0
			return core.New(b, x)
		}
		region = append(region, hi-lo)
		src[1+i] = lo
		dstIdx[1+i] = lo*cd.stride[i] + span - cd.pb[i]
	}
	ls = append(ls, cd.cout)
	region = append(region, cd.cout)
	spread := c.zeros(b, ls)
	lst := contiguous(ls)
	dstSt := append([]int(nil), lst...)
	for i := 0; i < d; i++ {
		dstSt[1+i] *= cd.stride[i]
	}
	c.copyRegion(spread, dy, core.Copy{Shape: region, SrcOffset: offset(contiguous(dy.Shape()), src), SrcStrides: contiguous(dy.Shape()),
		DstOffset: offset(lst, dstIdx), DstStrides: dstSt})
	wt := c.flipSwap(w, cd)
	return c.result(c.conv(spread, wt, core.Conv{Dilation: cd.dil, Groups: cd.groups}))
}

// flipSwap returns the kernel of the transposed convolution:
// wt[k', j, g*CinG + i] = w[K-1-k', i, g*CoutG + j], [K..., CoutG, Cin],
// by one strided copy (negative strides flip the spatial axes).
func (c *calc) flipSwap(w *core.Tensor, cd convDims) *core.Tensor {
	if c.err != nil {
		return nil
	}
	d := cd.d
	ws := w.Shape()
	cinG, coutG := ws[d], cd.cout/cd.groups
	wst := contiguous(ws)
	out := append(ws[:d].Clone(), coutG, cd.cin)
	wt := c.zeros(w.Backend(), out)
	// Iterate over wt as [K..., CoutG, G, CinG] (contiguous).
	region := append(ws[:d].Clone(), coutG, cd.groups, cinG)
	srcSt := make([]int, d+3)
	off := 0
	for i := 0; i < d; i++ {
		srcSt[i] = -wst[i]
		off += (ws[i] - 1) * wst[i]
	}
	srcSt[d], srcSt[d+1], srcSt[d+2] = 1, coutG, wst[d] // j, g, i
	c.copyRegion(wt, w, core.Copy{Shape: region, SrcOffset: off, SrcStrides: srcSt, DstStrides: contiguous(region)})
	return wt
}

// ConvWeightGrad returns dL/dw for y = Conv(x, w, p), given x and dy, as
// one grouped convolution: x rearranged to [CinG, S..., G*N] (batch: the
// input channel within its group; channels: group-major batch samples)
// convolved with dy rearranged to [O..., N, Cout] as the kernel, with
// the forward dilation as stride, the forward stride as dilation and G
// groups, gives [CinG, K..., Cout], which is transposed to w's layout.
func ConvWeightGrad(x, dy *core.Tensor, w core.Shape, p core.Conv) (*core.Tensor, error) {
	cd, err := dims(x.Shape(), w, dy.Shape(), p)
	if err != nil {
		return nil, err
	}
	b := x.Backend()
	var c calc
	d := cd.d
	cinG := w[d]
	xs := x.Shape()
	xst := contiguous(xs)
	// xt[i, s..., g*N + n] = x[n, s..., g*CinG + i]
	xtShape := core.Shape{cinG}
	xtShape = append(xtShape, cd.in...)
	xtShape = append(xtShape, cd.groups*cd.n)
	xt := c.zeros(b, xtShape)
	region := append(xtShape[:d+1].Clone(), cd.groups, cd.n)
	srcSt := []int{1}
	srcSt = append(srcSt, xst[1:d+1]...)
	srcSt = append(srcSt, cinG, xst[0])
	c.copyRegion(xt, x, core.Copy{Shape: region, SrcStrides: srcSt, DstStrides: contiguous(region)})
	// dyt[o..., n, co] = dy[n, o..., co]
	perm := make([]int, 0, d+2)
	for i := 1; i <= d; i++ {
		perm = append(perm, i)
	}
	perm = append(perm, 0, d+1)
	dyt := c.transpose(dy, perm)
	// Trailing input positions that no forward window reached would make
	// the result longer than K: pad only up to the last one reached and
	// keep the first K positions.
	pa := make([]int, d)
	for i := 0; i < d; i++ {
		need := (cd.k[i]-1)*cd.dil[i] + (cd.out[i]-1)*cd.stride[i] - cd.pb[i] - (cd.in[i] - 1)
		pa[i] = max(0, need)
	}
	g := c.conv(xt, dyt, core.Conv{Stride: cd.dil, Dilation: cd.stride, PadBefore: cd.pb, PadAfter: pa, Groups: cd.groups})
	if c.err != nil {
		return c.result(nil)
	}
	// dw[k..., i, co] = g[i, k..., co]
	gs := g.Shape()
	gst := contiguous(gs)
	dw := c.zeros(b, w)
	src := append(append([]int(nil), gst[1:d+1]...), gst[0], 1)
	c.copyRegion(dw, g, core.Copy{Shape: w.Clone(), SrcStrides: src, DstStrides: contiguous(w)})
	return c.result(dw)
}

// transpose permutes axes into a new temporary.
func (c *calc) transpose(x *core.Tensor, perm []int) *core.Tensor {
	if c.err != nil {
		return nil
	}
	return c.tmp(core.Transpose(x, perm...))
}

// BiasGrad returns dL/db for a bias added on the last axis: dy summed
// over every other axis, shape [C].
func BiasGrad(dy *core.Tensor) (*core.Tensor, error) {
	s := dy.Shape()
	axes := make([]int, s.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	var c calc
	r := c.reduce(dy, core.Sum, axes...)
	return c.result(c.view(r, s[s.Rank()-1]))
}
