package onnximport

import (
	"fmt"
	"math"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// acts emits a chain of activations on x as output 0 of n (none: an alias).
func (e *importer) acts(n *onnx.Node, x *value, chain ...graph.Act) error {
	if len(chain) == 0 {
		return e.alias(n, x)
	}
	for i, a := range chain {
		if err := finite(a.Alpha, a.Beta); err != nil {
			return fmt.Errorf("%s: %w", a.Op, err)
		}
		out := ""
		if i == len(chain)-1 {
			out = n.Output[0]
		}
		v, err := e.emit("act", nodeName(n), []irIn{vin(x)}, a, out, x.dims, x.cl)
		if err != nil {
			return err
		}
		x = v
	}
	return e.set(n.Output[0], x)
}

// unary translates the activations that map onto core's unary ops.
func unary(e *importer, n *onnx.Node) error {
	x, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	if x.c != nil {
		if c, ok := foldUnary(n.OpType, x.c, !e.o.StaticShapes); ok {
			return e.setConst(n, 0, c)
		}
		return fmt.Errorf("%w: %s of a constant", ErrUnsupported, n.OpType)
	}
	act := func(op string) graph.Act { return graph.Act{Op: op} }
	switch n.OpType {
	case "Relu":
		return e.acts(n, x, act("relu"))
	case "Sigmoid":
		return e.acts(n, x, act("sigmoid"))
	case "Tanh":
		return e.acts(n, x, act("tanh"))
	case "HardSwish":
		return e.acts(n, x, act("hard_swish"))
	case "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil":
		name := map[string]string{"Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Neg": "neg", "Abs": "abs", "Reciprocal": "recip", "Floor": "floor", "Ceil": "ceil"}
		return e.acts(n, x, act(name[n.OpType]))
	case "LeakyRelu", "Elu":
		def, op := float32(0.01), "leaky_relu"
		if n.OpType == "Elu" {
			def, op = 1, "elu"
		}
		alpha, err := attrFloat(n, "alpha", def)
		if err != nil {
			return err
		}
		return e.acts(n, x, graph.Act{Op: op, Alpha: alpha})
	case "HardSigmoid":
		alpha, err := attrFloat(n, "alpha", 0.2)
		if err != nil {
			return err
		}
		beta, err := attrFloat(n, "beta", 0.5)
		if err != nil {
			return err
		}
		// core's hard_sigmoid is relu6(x+3)/6 = clip(x/6 + 1/2, 0, 1).
		if math.Abs(float64(alpha)-1.0/6) < 1e-7 && beta == 0.5 {
			return e.acts(n, x, act("hard_sigmoid"))
		}
		return e.acts(n, x, graph.Act{Op: "affine", Alpha: alpha, Beta: beta}, graph.Act{Op: "clip", Alpha: 0, Beta: 1})
	}
	return fmt.Errorf("%w: op %s", ErrUnsupported, n.OpType)
}

// clip translates Clip: bounds from attributes (opset < 11) or inputs.
func clip(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if e.opset < 11 {
		if lo, err = attrFloat(n, "min", lo); err != nil {
			return err
		}
		if hi, err = attrFloat(n, "max", hi); err != nil {
			return err
		}
	} else {
		for i, dst := range []*float32{&lo, &hi} {
			v, err := e.optArg(n, 1+i)
			if err != nil {
				return err
			}
			if v == nil {
				continue
			}
			s, ok := float32(0), false
			if v.c != nil {
				s, ok = v.c.scalar()
			}
			if !ok {
				return fmt.Errorf("%w: bound %q is not a constant scalar", ErrUnsupported, n.Input[1+i])
			}
			*dst = s
		}
	}
	if math.IsNaN(float64(lo)) || math.IsNaN(float64(hi)) {
		return fmt.Errorf("bounds [%v, %v]", lo, hi)
	}
	inf := func(v float32) bool { return math.IsInf(float64(v), 0) }
	switch {
	case lo == 0 && hi == 6:
		return e.acts(n, x, graph.Act{Op: "relu6"})
	case !inf(lo) && !inf(hi):
		return e.acts(n, x, graph.Act{Op: "clip", Alpha: lo, Beta: hi})
	case lo == 0 && inf(hi):
		return e.acts(n, x, graph.Act{Op: "relu"})
	case inf(lo) && inf(hi):
		return e.alias(n, x)
	}
	// One bound: max(x, lo) or min(x, hi) with a scalar weight.
	op, b := "max", lo
	if inf(lo) {
		op, b = "min", hi
	}
	c := &constant{name: e.fresh(nodeName(n) + "/bound"), dims: []int64{1}, f: []float32{b}}
	w := e.weight(c, "scalar", c.dims, func() []float32 { return c.f })
	return e.emitOut(n, op, []irIn{vin(x), {w: w}}, nil, x.dims, x.cl)
}

// binaryOps maps ONNX's two-operand ops onto the IR's.
var binaryOps = map[string]string{"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Max": "max", "Min": "min"}

// binaryNode translates Add, Sub, Mul, Div, Max and Min (numpy broadcasting).
func binaryNode(e *importer, n *onnx.Node) error {
	if len(n.Input) != 2 {
		return fmt.Errorf("%w: %d inputs (want 2)", ErrUnsupported, len(n.Input))
	}
	a, err := e.arg(n, 0)
	if err != nil {
		return err
	}
	b, err := e.arg(n, 1)
	if err != nil {
		return err
	}
	if e.opset < 7 {
		if bc, _ := attrInt(n, "broadcast", 0); bc != 0 {
			if ax := n.Attr("axis"); ax != nil {
				// B's axes line up with A's from axis on: trailing 1s
				// make that numpy broadcasting.
				a0, err := normAxis(ax.I, len(a.dims))
				if err != nil || a0+len(b.dims) > len(a.dims) {
					return fmt.Errorf("legacy broadcast of %v to %v at axis %d", b.dims, a.dims, ax.I)
				}
				dims := append([]int64(nil), b.dims...)
				for range len(a.dims) - a0 - len(b.dims) {
					dims = append(dims, 1)
				}
				if len(dims) != len(b.dims) {
					if b.c != nil {
						c := *b.c
						c.dims = dims
						b = &value{c: &c, dims: dims}
					} else {
						for _, d := range b.dims {
							if d <= 0 {
								return fmt.Errorf("%w: legacy broadcast of %v with dynamic extents", ErrUnsupported, b.dims)
							}
						}
						bf, err := e.asCF(b)
						if err != nil {
							return err
						}
						name, err := e.step(n, "Reshape", "", nil, bf.name, e.intsValue(n, "shape", dims...))
						if err != nil {
							return err
						}
						b = e.vals[name]
					}
				}
			}
		}
	}
	op := binaryOps[n.OpType]
	if a.c != nil && b.c != nil {
		c, err := foldBinary(op, a.c, b.c)
		if err != nil {
			return err
		}
		return e.setConst(n, 0, c)
	}
	dims, err := broadcastDims(a.dims, b.dims)
	if err != nil {
		return err
	}
	// A scalar constant: an affine activation.
	if k, x := b, a; k.c != nil || a.c != nil {
		first := a.c != nil
		if first {
			k, x = a, b
		}
		if len(k.dims) > len(x.dims) {
			return fmt.Errorf("%w: constant %v of higher rank than the activation %v", ErrUnsupported, k.dims, x.dims)
		}
		if s, ok := k.c.scalar(); ok {
			var act *graph.Act
			switch {
			case op == "add":
				act = &graph.Act{Op: "affine", Alpha: 1, Beta: s}
			case op == "mul":
				act = &graph.Act{Op: "affine", Alpha: s}
			case op == "sub" && !first:
				act = &graph.Act{Op: "affine", Alpha: 1, Beta: -s}
			case op == "sub":
				act = &graph.Act{Op: "affine", Alpha: -1, Beta: s}
			case op == "div" && !first && s != 0:
				act = &graph.Act{Op: "affine", Alpha: 1 / s}
			}
			if act != nil {
				return e.acts(n, x, *act)
			}
		}
		shape, data := e.broadcastConst(k.c, len(x.dims), x.cl)
		w := e.weight(k.c, fmt.Sprintf("bcast%d/%v", len(x.dims), x.cl), shape, func() []float32 { return data })
		ins := []irIn{vin(x), {w: w}}
		if first {
			ins[0], ins[1] = ins[1], ins[0]
		}
		return e.emitOut(n, op, ins, nil, dims, x.cl)
	}
	// A value of one element (a scale computed at run time) broadcasts
	// in either layout.
	if single(a) || single(b) {
		v, err := e.arith(nodeName(n), op, a, b)
		if err != nil {
			return err
		}
		return e.set(n.Output[0], v)
	}
	// Two activations: one layout. The one of lower rank gets leading 1s
	// first (a reshape in ONNX order) when one has rank 3 or more.
	if len(a.dims) != len(b.dims) && (len(a.dims) >= 3 || len(b.dims) >= 3) {
		lo, hi := &a, b
		if len(b.dims) < len(a.dims) {
			lo, hi = &b, a
		}
		if *lo, err = e.withRank(n, *lo, len(hi.dims)); err != nil {
			return err
		}
	}
	if a.cl != b.cl {
		if a, err = e.asCL(a); err != nil {
			return err
		}
		if b, err = e.asCL(b); err != nil {
			return err
		}
	}
	return e.emitOut(n, op, []irIn{vin(a), vin(b)}, nil, dims, a.cl)
}

// broadcastConst lays out a constant combined with an activation of rank
// r: leading 1s added to rank r, axes permuted to channels-last when the
// activation is, then leading 1s dropped (keeping rank 1 at least).
func (e *importer) broadcastConst(c *constant, r int, cl bool) ([]int64, []float32) {
	dims := append(make([]int64, 0, r), c.dims...)
	for len(dims) < r {
		dims = append([]int64{1}, dims...)
	}
	data := c.floats()
	if cl && r >= 3 {
		data = permuteData(data, dims, toLast(r))
		dims = permuteDims(dims, toLast(r))
	}
	for len(dims) > 1 && dims[0] == 1 {
		dims = dims[1:]
	}
	if len(dims) == 0 {
		dims = []int64{1}
	}
	return dims, data
}

// foldBinary computes a binary op on two constants.
func foldBinary(op string, a, b *constant) (*constant, error) {
	dims, err := broadcastDims(a.dims, b.dims)
	if err != nil {
		return nil, err
	}
	n, ok := product(dims)
	if !ok || n > maxFold {
		return nil, fmt.Errorf("%w: folding %s to dims %v", ErrUnsupported, op, dims)
	}
	isInt := a.isInt && b.isInt
	out := &constant{dims: dims, isInt: isInt}
	ia, ib := bcastIndex(a.dims, dims), bcastIndex(b.dims, dims)
	if isInt {
		out.i = make([]int64, n)
		for k := range out.i {
			x, y := a.i[ia(k)], b.i[ib(k)]
			if x < 0 && x >= dimBatch || y < 0 && y >= dimBatch {
				if op == "mul" && (x == 1 || y == 1) {
					out.i[k] = x * y
					continue
				}
				out.i[k] = dimUnknown // arithmetic on a symbolic extent
				continue
			}
			switch op {
			case "add":
				out.i[k] = x + y
			case "sub":
				out.i[k] = x - y
			case "mul":
				out.i[k] = x * y
			case "div":
				if y == 0 {
					return nil, fmt.Errorf("integer division by zero")
				}
				out.i[k] = x / y
			case "max":
				out.i[k] = max(x, y)
			case "min":
				out.i[k] = min(x, y)
			}
		}
		return out, nil
	}
	fa, fb := a.floats(), b.floats()
	out.f = make([]float32, n)
	for k := range out.f {
		x, y := fa[ia(k)], fb[ib(k)]
		switch op {
		case "add":
			out.f[k] = x + y
		case "sub":
			out.f[k] = x - y
		case "mul":
			out.f[k] = x * y
		case "div":
			out.f[k] = x / y
		case "max":
			out.f[k] = max(x, y)
		case "min":
			out.f[k] = min(x, y)
		}
	}
	return out, nil
}

// bcastIndex maps a flat index of dims out to one of broadcast operand dims in.
func bcastIndex(in, out []int64) func(int) int {
	pad := len(out) - len(in)
	os := strides(out)
	is := strides(in)
	return func(k int) int {
		src := 0
		for i := range out {
			x := k / os[i] % int(out[i])
			if j := i - pad; j >= 0 && in[j] != 1 {
				src += x * is[j]
			}
		}
		return src
	}
}

// softmax translates Softmax and LogSoftmax. Before opset 13 the op
// flattens from axis; the runtime's softmax is over one axis, so the axes
// after it must have extent 1.
func softmax(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	def := int64(-1)
	if e.opset < 13 {
		def = 1
	}
	ax, err := attrInt(n, "axis", def)
	if err != nil {
		return err
	}
	a, err := normAxis(ax, len(x.dims))
	if err != nil {
		return err
	}
	if e.opset < 13 {
		for _, d := range x.dims[a+1:] {
			if d != 1 {
				return fmt.Errorf("%w: softmax from axis %d over dims %v (opset %d flattens)", ErrUnsupported, a, x.dims, e.opset)
			}
		}
	}
	op := "softmax"
	if n.OpType == "LogSoftmax" {
		op = "log_softmax"
	}
	axis := x.ourAxis(a)
	if axis == len(x.dims)-1 {
		axis = -1
	}
	return e.emitOut(n, op, []irIn{vin(x)}, graph.Axis(axis), x.dims, x.cl)
}

// withRank reshapes activation v to rank r by leading 1s (its extents
// must be known, or the batch).
func (e *importer) withRank(n *onnx.Node, v *value, r int) (*value, error) {
	v, err := e.asCF(v)
	if err != nil {
		return nil, err
	}
	target := make([]int64, r)
	for i := range target {
		target[i] = 1
	}
	for i, d := range v.dims {
		if d <= 0 {
			return nil, fmt.Errorf("%w: operand %q of rank %d with a dynamic extent, broadcast to rank %d", ErrUnsupported, v.name, len(v.dims), r)
		}
		target[r-len(v.dims)+i] = d
	}
	shape := e.intsValue(n, "rank", target...)
	name, err := e.step(n, "Reshape", "", nil, v.name, shape)
	if err != nil {
		return nil, err
	}
	return e.vals[name], nil
}
