package webgpu

import (
	"fmt"

	"webcnn/core"
)

// convKind names the kernel a convolution runs on.
type convKind int

const (
	convGEMM      convKind = iota // implicit GEMM (conv.wgsl)
	convPointwise                 // 1x1, stride 1, no padding, one group: a plain GEMM (matmul.wgsl)
	convDepthwise                 // one input channel per group (depthwise.wgsl)
)

func (k convKind) String() string {
	return [...]string{"implicit-gemm", "pointwise-gemm", "depthwise"}[k]
}

// chooseConv picks the kernel for a convolution of geometry g.
func chooseConv(g geom, groups int) convKind {
	switch {
	case g.cin/groups == 1:
		// Depthwise (with any channel multiplier) and single-channel
		// inputs: each output reads one input channel, no reduction over
		// channels to tile.
		return convDepthwise
	case groups == 1 && g.taps() == 1 && g.stride == [3]int{1, 1, 1} && g.padB == [3]int{} && g.padA == [3]int{}:
		return convPointwise
	}
	return convGEMM
}

// convKernels plans dst = act(conv(x, w) + bias). See conv.wgsl for the
// implicit GEMM: M = N*OD*OH*OW output positions, N = Cout/G channels,
// K = KD*KH*KW*Cin/G, one grid layer per group.
func convKernels(xs, ws, ds core.Shape, p core.Conv, bias bool, lim limits) ([]*kernel, convKind, error) {
	sd := xs.Rank() - 2
	g := newGeom(xs, ds, ws[:sd], p.Stride, p.Dilation, p.PadBefore, p.PadAfter)
	groups := max(p.Groups, 1)
	kind := chooseConv(g, groups)
	switch kind {
	case convPointwise:
		ks, err := matmulKernels(g.outPixels(), g.cout, g.cin, false, false, bias, p.Act, lim)
		return ks, kind, err
	case convDepthwise:
		k, err := depthwiseKernel(g, groups, bias, p.Act, lim)
		return []*kernel{k}, kind, err
	}
	if err := checkAct(p.Act); err != nil {
		return nil, kind, err
	}
	if groups > lim.maxWorkgroupsPerDim {
		return nil, kind, fmt.Errorf("webgpu: conv with %d groups of %d channels: at most %d groups", groups, g.cin/groups, lim.maxWorkgroupsPerDim)
	}
	cinG, coutG := g.cin/groups, g.cout/groups
	m, kdim := g.outPixels(), g.taps()*cinG
	t := chooseTile(m, coutG)
	d := defs{"TM": t.tm, "TN": t.tn, "BK": tileK}
	if cinG%4 == 0 {
		d["VEC_A"] = 1
	}
	if coutG%4 == 0 {
		d["VEC_B"], d["VEC_OUT"] = 1, 1
	}
	var ks []*kernel
	starts, counts := rowChunks(m, t.bm(), lim.maxWorkgroupsPerDim)
	for i := range starts {
		var q params
		q.vec(4, 1, g.in[:]...).vec(4, 1, g.out[:]...).vec(4, 1, g.k[:]...).vec(4, 1, g.stride[:]...)
		q.vec(4, 1, g.dil[:]...).vec(4, 0, g.padB[:]...)
		q.i(g.cin, g.cout, cinG, coutG, m, kdim, starts[i], int(p.Act.Op), flag(bias)).f(p.Act.Alpha, p.Act.Beta)
		ks = append(ks, &kernel{shader: "conv", defs: d, params: q.words(),
			groups: [3]int{ceilDiv(coutG, t.bn()), counts[i], groups}})
	}
	return ks, kind, nil
}

// depthwiseKernel plans a convolution whose groups each read one input
// channel: one invocation per output position and channel, or per four
// channels when the multiplier is 1 and C % 4 == 0.
func depthwiseKernel(g geom, groups int, bias bool, act core.Unary, lim limits) (*kernel, error) {
	if err := checkAct(act); err != nil {
		return nil, err
	}
	d := defs{"WG": wgSize}
	mult := g.cout / groups
	c := g.cout
	if mult == 1 && c%4 == 0 {
		d["VEC4"] = 1
		c /= 4
	}
	n := g.outPixels() * c
	var q params
	q.vec(4, 1, g.in[:]...).vec(4, 1, g.out[:]...).vec(4, 1, g.k[:]...).vec(4, 1, g.stride[:]...)
	q.vec(4, 1, g.dil[:]...).vec(4, 0, g.padB[:]...)
	q.i(g.cin, g.cout, mult, c, n, int(act.Op), flag(bias)).f(act.Alpha, act.Beta)
	return &kernel{shader: "depthwise", defs: d, params: q.words(), groups: linear(n, lim.maxWorkgroupsPerDim)}, nil
}

// Conv is the N-d grouped, strided, dilated, padded convolution with bias
// and activation fused into the store.
func (b *Backend) Conv(dst, x, w, bias *core.Tensor, p core.Conv) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ks, _, err := convKernels(x.Shape(), w.Shape(), dst.Shape(), p, bias != nil, b.lim)
	if err != nil {
		return err
	}
	for _, k := range ks {
		// Bindings: x, w, dst, bias (matmul's a, b, y, bias for 1x1); a
		// nil bias binds a dummy buffer that the kernel does not read.
		if err := b.launch(k, x, w, dst, bias); err != nil {
			return err
		}
	}
	return nil
}
