package core

import "fmt"

// PoolOutSize is the output size of pooling on one axis; with ceil it
// rounds up as PyTorch's ceil_mode does, dropping a last window that would
// start in the trailing padding.
func PoolOutSize(in, kernel, stride, padBefore, padAfter int, ceil bool) int {
	n := in + padBefore + padAfter - kernel
	if n < 0 {
		return 0
	}
	if !ceil {
		return n/stride + 1
	}
	out := (n+stride-1)/stride + 1
	if (out-1)*stride >= in+padBefore {
		out--
	}
	return out
}

// PoolShape returns the output shape of a pooling of x.
func PoolShape(x Shape, p Pool) (Shape, error) {
	d := x.Rank() - 2
	if d < 1 || d > 3 {
		return nil, fmt.Errorf("pool: input %v: want rank 3, 4 or 5 (N, spatial..., C)", x)
	}
	if p.Kernel == nil {
		return nil, fmt.Errorf("pool: input %v: no kernel size", x)
	}
	if err := checkSpatial(d, spatial{"kernel", p.Kernel, 1}, spatial{"stride", p.Stride, 1},
		spatial{"pad before", p.PadBefore, 0}, spatial{"pad after", p.PadAfter, 0}); err != nil {
		return nil, fmt.Errorf("pool %s: input %v: %w", p.Op, x, err)
	}
	out := Shape{x[0]}
	for i := 0; i < d; i++ {
		k := p.Kernel[i]
		s := k
		if p.Stride != nil {
			s = p.Stride[i]
		}
		pb, pa := atz(p.PadBefore, i), atz(p.PadAfter, i)
		if pb >= k || pa >= k {
			return nil, fmt.Errorf("pool %s: padding %d/%d must be smaller than the kernel %d", p.Op, pb, pa, k)
		}
		o := PoolOutSize(x[1+i], k, s, pb, pa, p.CeilMode)
		if o < 1 {
			return nil, fmt.Errorf("pool %s: kernel %v does not fit input %v", p.Op, p.Kernel, x)
		}
		out = append(out, o)
	}
	return append(out, x[d+1]), nil
}

// PoolND runs max or average pooling on x's spatial axes.
func PoolND(x *Tensor, p Pool) (*Tensor, error) {
	b := x.Backend()
	if err := same("pool", b, x); err != nil {
		return nil, err
	}
	if p.Op != MaxPool && p.Op != AvgPool {
		return nil, fmt.Errorf("pool: unknown op %d", p.Op)
	}
	out, err := PoolShape(x.Shape(), p)
	if err != nil {
		return nil, err
	}
	if p.Stride == nil {
		p.Stride = p.Kernel
	}
	dst, err := New(b, out)
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	if err := b.Pool(dst, x, p); err != nil {
		dst.Free()
		return nil, fmt.Errorf("pool %s %v: %w", p.Op, x.Shape(), err)
	}
	return dst, nil
}

// MaxPool2D is the usual k x k max pooling with stride s and no padding.
func MaxPool2D(x *Tensor, k, s int) (*Tensor, error) {
	return PoolND(x, Pool{Op: MaxPool, Kernel: []int{k, k}, Stride: []int{s, s}})
}

// AvgPool2D is the usual k x k average pooling with stride s and no padding.
func AvgPool2D(x *Tensor, k, s int) (*Tensor, error) {
	return PoolND(x, Pool{Op: AvgPool, Kernel: []int{k, k}, Stride: []int{s, s}})
}

// GlobalAvgPool averages each channel over all spatial positions: the
// lecture's global pooling, a "valid" pool whose window is the whole map.
// The result keeps rank: [N, 1.., C].
func GlobalAvgPool(x *Tensor) (*Tensor, error) { return globalPool(x, Mean) }

// GlobalMaxPool takes each channel's maximum over all spatial positions.
func GlobalMaxPool(x *Tensor) (*Tensor, error) { return globalPool(x, ReduceMax) }

func globalPool(x *Tensor, op ReduceOp) (*Tensor, error) {
	r := x.Shape().Rank()
	if r < 3 {
		return nil, fmt.Errorf("global %s pool: input %v: want rank >= 3 (N, spatial..., C)", op, x.Shape())
	}
	axes := make([]int, 0, r-2)
	for i := 1; i < r-1; i++ {
		axes = append(axes, i)
	}
	return Reduce(x, op, axes...)
}
