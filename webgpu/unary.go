package webgpu

import (
	"fmt"

	"webcnn/core"
)

// unaryKernel plans y = f(x) over n elements: four per invocation when n
// is a multiple of 4, in place (one read-write binding) when dst is x.
func unaryKernel(n int, f core.Unary, inPlace bool, lim limits) (*kernel, error) {
	if err := checkAct(f); err != nil {
		return nil, err
	}
	d := defs{"ACT": int(f.Op)}
	items := n
	if n%4 == 0 {
		d["VEC4"] = 1
		items = n / 4
	}
	if inPlace {
		d["INPLACE"] = 1
	}
	d["WG"] = wgSize
	var p params
	p.i(items).f(f.Alpha, f.Beta)
	return &kernel{shader: "unary", defs: d, params: p.words(), groups: linear(items, lim.maxWorkgroupsPerDim)}, nil
}

// checkAct rejects an op that act.wgsl does not know.
func checkAct(f core.Unary) error {
	if f.Op.String() == "unary?" {
		return fmt.Errorf("webgpu: unknown unary op %d", f.Op)
	}
	return nil
}

// flag is 1 for true, as the shaders' i32 flags.
func flag(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Unary sets dst[i] = f(x[i]); dst may alias x.
func (b *Backend) Unary(dst, x *core.Tensor, f core.Unary) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	inPlace := sameBuffer(dst, x)
	k, err := unaryKernel(dst.Size(), f, inPlace, b.lim)
	if err != nil {
		return err
	}
	if inPlace {
		return b.launch(k, dst)
	}
	return b.launch(k, x, dst)
}
