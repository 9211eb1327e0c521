package webgpu

import (
	"fmt"

	"webcnn/core"
)

var binaryFlags = [...]string{core.Add: "OP_ADD", core.Sub: "OP_SUB", core.Mul: "OP_MUL",
	core.Div: "OP_DIV", core.Max: "OP_MAX", core.Min: "OP_MIN"}

// binaryKernel plans dst = a op b with numpy broadcasting. Equal shapes run
// flat (four elements per invocation when the size allows); otherwise the
// axes are collapsed and each invocation decodes its index into the two
// operands' offsets, with stride 0 on broadcast axes. aDst and bDst say
// that dst aliases an operand, which is then read from dst's binding.
func binaryKernel(out, as, bs core.Shape, op core.BinaryOp, aDst, bDst bool, lim limits) (*kernel, error) {
	if op < 0 || int(op) >= len(binaryFlags) {
		return nil, fmt.Errorf("webgpu: unknown binary op %d", op)
	}
	d := defs{binaryFlags[op]: 1, "WG": wgSize}
	if aDst {
		d["A_DST"] = 1
	}
	if bDst {
		d["B_DST"] = 1
	}
	n := out.Size()
	var p params
	if as.Equal(out) && bs.Equal(out) {
		items := n
		if n%4 == 0 {
			d["VEC4"] = 1
			items = n / 4
		}
		p.vec(8, 1).vec(8, 0).vec(8, 0).i(items, 0)
		return &kernel{shader: "binary", defs: d, params: p.words(), groups: linear(items, lim.maxWorkgroupsPerDim)}, nil
	}
	shape, st := collapse(out, broadcast(as, out), broadcast(bs, out), rowMajor(out))
	if len(shape) > maxRank {
		return nil, fmt.Errorf("webgpu: %s of %v and %v: broadcasting over %d separate axes (at most %d)", op, as, bs, len(shape), maxRank)
	}
	d["BROADCAST"] = 1
	p.vec(8, 1, shape...).vec(8, 0, st[0]...).vec(8, 0, st[1]...).i(n, len(shape))
	return &kernel{shader: "binary", defs: d, params: p.words(), groups: linear(n, lim.maxWorkgroupsPerDim)}, nil
}

// Binary sets dst = a op b with broadcasting; dst may alias a or b.
func (b *Backend) Binary(dst, x, y *core.Tensor, op core.BinaryOp) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	aDst, bDst := sameBuffer(dst, x), sameBuffer(dst, y)
	k, err := binaryKernel(dst.Shape(), x.Shape(), y.Shape(), op, aDst, bDst, b.lim)
	if err != nil {
		return err
	}
	// Bindings in order: a (unless it is dst), b (unless it is dst), dst.
	var ts []*core.Tensor
	if !aDst {
		ts = append(ts, x)
	}
	if !bDst {
		ts = append(ts, y)
	}
	return b.launch(k, append(ts, dst)...)
}
