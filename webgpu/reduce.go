package webgpu

import (
	"fmt"

	"webcnn/core"
)

var reduceFlags = [...]string{core.Sum: "OP_SUM", core.Mean: "OP_MEAN", core.ReduceMax: "OP_MAX", core.ReduceMin: "OP_MIN", core.ReduceProd: "OP_PROD"}

// reduceGroupMin is the fold length from which a workgroup shares one
// output (a tree over wgSize partial results); shorter folds run one
// invocation per output.
const reduceGroupMin = 128

// reducePlan is the index map of a reduction: the kept axes (dst's order)
// and the reduced axes, each with its extents and its strides in x.
type reducePlan struct {
	kept, keptStrides []int
	red, redStrides   []int
	nOut, count       int
}

// planReduce collapses x's axes and splits them into kept and reduced.
func planReduce(xs, ds core.Shape) reducePlan {
	dst := broadcast(ds, xs) // 0 on the reduced axes
	shape, st := collapse(xs, rowMajor(xs), dst)
	p := reducePlan{nOut: ds.Size(), count: xs.Size() / max(ds.Size(), 1)}
	for i, e := range shape {
		if st[1][i] == 0 {
			p.red = append(p.red, e)
			p.redStrides = append(p.redStrides, st[0][i])
		} else {
			p.kept = append(p.kept, e)
			p.keptStrides = append(p.keptStrides, st[0][i])
		}
	}
	return p
}

// reduceKernel plans dst = fold of x over the axes where dst has extent 1.
// Sums are compensated (Kahan) in float32.
func reduceKernel(xs, ds core.Shape, op core.ReduceOp, lim limits) (*kernel, error) {
	if op < 0 || int(op) >= len(reduceFlags) {
		return nil, fmt.Errorf("webgpu: unknown reduce op %d", op)
	}
	r := planReduce(xs, ds)
	if len(r.kept) > maxRank || len(r.red) > maxRank {
		return nil, fmt.Errorf("webgpu: reduce %v to %v: %d kept and %d reduced separate axes (at most %d each)", xs, ds, len(r.kept), len(r.red), maxRank)
	}
	d := defs{reduceFlags[op]: 1, "WG": wgSize}
	var groups [3]int
	if r.count >= reduceGroupMin {
		d["GROUP"] = 1
		groups = grid(r.nOut, lim.maxWorkgroupsPerDim)
	} else {
		groups = linear(r.nOut, lim.maxWorkgroupsPerDim)
	}
	var p params
	p.vec(8, 1, r.kept...).vec(8, 0, r.keptStrides...).vec(8, 1, r.red...).vec(8, 0, r.redStrides...)
	p.i(r.nOut, r.count, len(r.kept), len(r.red))
	return &kernel{shader: "reduce", defs: d, params: p.words(), groups: groups}, nil
}

// Reduce folds x into dst over the axes where dst has extent 1.
func (b *Backend) Reduce(dst, x *core.Tensor, op core.ReduceOp) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, err := reduceKernel(x.Shape(), dst.Shape(), op, b.lim)
	if err != nil {
		return err
	}
	return b.launch(k, x, dst)
}
