package cpu

import "webcnn/core"

// MatMul sets dst[i][j] = act(sum_k A[i][k] * B[k][j] + bias[j]) where A is
// a or its transpose and B is b or its transpose.
func (b *Backend) MatMul(dst, x, y, bias *core.Tensor, p core.MatMul) error {
	if !b.Reference {
		return b.matMulFast(dst, x, y, bias, p)
	}
	return matMulRef(dst, x, y, bias, p)
}

// matMulRef is the oracle: a triple loop accumulating in float64.
func matMulRef(dst, x, y, bias *core.Tensor, p core.MatMul) error {
	d, a, bb, bs := data(dst), data(x), data(y), data(bias)
	m, n := dst.Shape()[0], dst.Shape()[1]
	k := x.Shape()[1]
	if p.TransA {
		k = x.Shape()[0]
	}
	act := unaryFunc(p.Act)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				av := a[i*k+l]
				if p.TransA {
					av = a[l*m+i]
				}
				bv := bb[l*n+j]
				if p.TransB {
					bv = bb[j*k+l]
				}
				s += float64(av) * float64(bv)
			}
			if bs != nil {
				s += float64(bs[j])
			}
			d[i*n+j] = float32(act(float64(float32(s))))
		}
	}
	return nil
}
