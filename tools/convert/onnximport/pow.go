package onnximport

import (
	"fmt"
	"math"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// pow translates Pow of an activation by a constant exponent, one value
// broadcast to every element: 1 is the identity, 2 a square (exact, any
// sign), anything else core's pow (x^a: repeated squaring for integer
// exponents, so negative bases keep their sign). Two constants fold.
func pow(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	y, err := e.arg(n, 1)
	if err != nil {
		return err
	}
	if y.c == nil {
		return fmt.Errorf("%w: the exponent %q is computed at run time; the runtime raises to constant exponents only", ErrUnsupported, n.Input[1])
	}
	if x.c != nil {
		c, err := foldPow(x.c, y.c)
		if err != nil {
			return err
		}
		return e.setConst(n, 0, c)
	}
	f := y.c.floats()
	if len(f) == 0 {
		return fmt.Errorf("exponent %q %v is empty", n.Input[1], y.c.dims)
	}
	for _, v := range f[1:] {
		if v != f[0] {
			return fmt.Errorf("%w: exponent %q %v holds different values; the runtime raises every element to one constant exponent", ErrUnsupported, n.Input[1], y.c.dims)
		}
	}
	if _, err := broadcastDims(x.dims, y.c.dims); err != nil {
		return err
	}
	if len(y.c.dims) > len(x.dims) {
		return fmt.Errorf("%w: exponent %v of higher rank than the base %v", ErrUnsupported, y.c.dims, x.dims)
	}
	a := f[0]
	if err := finite(a); err != nil {
		return fmt.Errorf("exponent: %w", err)
	}
	switch a {
	case 1:
		return e.acts(n, x)
	case 2:
		return e.acts(n, x, graph.Act{Op: "square"})
	}
	return e.acts(n, x, graph.Act{Op: "pow", Alpha: a})
}

// foldPow raises constant a to constant b elementwise (broadcasting).
func foldPow(a, b *constant) (*constant, error) {
	dims, err := broadcastDims(a.dims, b.dims)
	if err != nil {
		return nil, err
	}
	n, ok := product(dims)
	if !ok || n > maxFold {
		return nil, fmt.Errorf("%w: folded constant %v", ErrUnsupported, dims)
	}
	af, bf := a.floats(), b.floats()
	ia, ib := bcastIndex(a.dims, dims), bcastIndex(b.dims, dims)
	out := &constant{dims: dims, f: make([]float32, n)}
	for i := range out.f {
		out.f[i] = float32(math.Pow(float64(af[ia(i)]), float64(bf[ib(i)])))
	}
	return out, nil
}
