package webgpu

import (
	"webcnn/core"
)

// matmulKernels plans dst[m,n] = act(sum_k A[m,k] B[k,n] + bias[n]) where
// A is a [m,k] matrix (or [k,m] with transA) and B is [k,n] (or [n,k]
// with transB). Untransposed operands load vec4s along k for A when
// k % 4 == 0, along n for B and the store when n % 4 == 0. (Transposes,
// which only training uses, stay scalar: fewer pipelines to compile.)
func matmulKernels(m, n, k int, transA, transB, bias bool, act core.Unary, lim limits) ([]*kernel, error) {
	if err := checkAct(act); err != nil {
		return nil, err
	}
	t := chooseTile(m, n)
	d := defs{"TM": t.tm, "TN": t.tn, "BK": tileK}
	switch {
	case transA:
		d["TRANS_A"] = 1
	case k%4 == 0:
		d["VEC_A"] = 1
	}
	switch {
	case transB:
		d["TRANS_B"] = 1
	case n%4 == 0:
		d["VEC_B"] = 1
	}
	if d["VEC_B"] != 0 {
		d["VEC_OUT"] = 1
	}
	var ks []*kernel
	starts, counts := rowChunks(m, t.bm(), lim.maxWorkgroupsPerDim)
	for i := range starts {
		var p params
		p.i(m, n, k, starts[i], int(act.Op), flag(bias)).f(act.Alpha, act.Beta)
		ks = append(ks, &kernel{shader: "matmul", defs: d, params: p.words(),
			groups: [3]int{ceilDiv(n, t.bn()), counts[i], 1}})
	}
	return ks, nil
}

// MatMul sets dst = act(op(a) x op(b) + bias).
func (b *Backend) MatMul(dst, x, y, bias *core.Tensor, p core.MatMul) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, n := dst.Shape()[0], dst.Shape()[1]
	k := x.Shape()[1]
	if p.TransA {
		k = x.Shape()[0]
	}
	ks, err := matmulKernels(m, n, k, p.TransA, p.TransB, bias != nil, p.Act, b.lim)
	if err != nil {
		return err
	}
	for _, kn := range ks {
		if err := b.launch(kn, x, y, dst, bias); err != nil {
			return err
		}
	}
	return nil
}
