package cpu

import "webcnn/core"

// matMulFast and convFast are the fast paths; until the blocked GEMM lands
// they run the reference loops.
func (b *Backend) matMulFast(dst, x, y, bias *core.Tensor, p core.MatMul) error {
	return matMulRef(dst, x, y, bias, p)
}

func (b *Backend) convFast(dst, x, w, bias *core.Tensor, p core.Conv) error {
	return convRef(dst, x, w, bias, p)
}
