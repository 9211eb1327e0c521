package tfjs

import (
	"fmt"
	"math"
	"slices"

	"webcnn/core/graph"
	"webcnn/core/weights"
)

// Sources, elementwise ops, softmax, reductions and batch norm of graph
// models.

// tfOps are the supported TF ops (filled in init: the translators refer
// to the table through node).
var tfOps map[string]tfOp

func init() {
	tfOps = map[string]tfOp{
		"Const": constOp, "Placeholder": placeholder, "Identity": identity, "NoOp": noOp,
		"Conv2D": conv, "_FusedConv2D": conv, "DepthwiseConv2dNative": conv, "FusedDepthwiseConv2dNative": conv,
		"MatMul": matmul, "_FusedMatMul": matmul, "BatchMatMul": matmul, "BatchMatMulV2": matmul, "BiasAdd": biasAdd,
		"AvgPool": pool, "MaxPool": pool,
		"Softmax": softmax, "LogSoftmax": softmax, "Prelu": preluOp,
		"Mean": reduce, "Sum": reduce, "Max": reduce, "Min": reduce,
		"FusedBatchNorm": batchNorm, "FusedBatchNormV2": batchNorm, "FusedBatchNormV3": batchNorm,
		"Reshape": reshape, "Squeeze": squeeze, "ExpandDims": expandDims, "Transpose": transpose,
		"Pad": pad, "PadV2": pad, "MirrorPad": mirrorPad, "ConcatV2": concat, "StridedSlice": stridedSlice,
		"ResizeBilinear": resize, "ResizeNearestNeighbor": resize,
	}
	for op := range binaryOps {
		tfOps[op] = binaryOp
	}
	for op := range unaryOps {
		tfOps[op] = unary
	}
}

// constOp reads a Const node's value from the weights manifest.
func constOp(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	w, ok := c.ws[n.Name]
	if !ok {
		return nil, fmt.Errorf("its value is not in the weights manifest (a graph model's constants are weights named after their node)")
	}
	return &gval{c: &gconst{name: n.Name, shape: slices.Clone(w.spec.Shape), data: w.data}}, nil
}

// placeholder declares a graph input; the first NHWC one with a known
// size gives the manifest's input spec.
func placeholder(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if dt := n.Attr["dtype"].Type; dt != "" && dt != "DT_FLOAT" {
		return nil, fmt.Errorf("dtype %s: the runtime's inputs are float32", dt)
	}
	s := n.Attr["shape"].Shape
	if s == nil || s.UnknownRank || len(s.Dim) == 0 {
		return nil, fmt.Errorf("the input's rank is unknown; the importer needs its shape")
	}
	shape := make([]int, len(s.Dim))
	for i, d := range s.Dim {
		if d.Size < -1 || d.Size == 0 || d.Size > maxInt {
			return nil, fmt.Errorf("shape extent %d", d.Size)
		}
		shape[i] = int(d.Size)
	}
	if len(shape) == 4 {
		for i, want := range []int{c.opts.Height, c.opts.Width} {
			switch {
			case want > 0 && shape[1+i] < 0:
				shape[1+i] = want
			case want > 0 && shape[1+i] != want:
				return nil, fmt.Errorf("input size %dx%d asked for, but the input is fixed at %v", c.opts.Height, c.opts.Width, shape)
			case shape[1+i] < 0:
				c.dynamic = true
			}
		}
	}
	c.used[n.Name] = true
	c.spec.Inputs = append(c.spec.Inputs, n.Name)
	if c.input.Shape == nil && len(shape) == 4 && shape[1] > 0 && shape[2] > 0 && shape[3] > 0 {
		order := "RGB"
		if shape[3] == 1 {
			order = "GRAY"
		}
		c.input = weights.Input{Shape: []int{1, shape[1], shape[2], shape[3]}, ChannelOrder: order, Scale: 1}
	}
	return &gval{name: n.Name, shape: shape}, nil
}

func identity(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	return in[0], nil
}

func noOp(c *graphConv, n *tfNode, in []*gval) (*gval, error) { return nil, nil }

// binaryOps map TF's broadcasting arithmetic onto the runtime's.
var binaryOps = map[string]string{"Add": "add", "AddV2": "add", "Sub": "sub", "Mul": "mul", "RealDiv": "div",
	"Maximum": "max", "Minimum": "min"}

// binaryOp translates arithmetic: folded when both operands are constants;
// a scalar added, subtracted or multiplied becomes an affine activation.
func binaryOp(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	op := binaryOps[n.Op]
	a, b := in[0], in[1]
	if a.c != nil && b.c != nil {
		k, err := foldBinary(op, a.c, b.c, n.Name)
		if err != nil {
			return nil, err
		}
		return &gval{c: k}, nil
	}
	shape, err := broadcast(shapeOf(a), shapeOf(b))
	if err != nil {
		return nil, err
	}
	if v, s, first, ok := scalarOperand(a, b); ok {
		alpha, beta, ok := float32(1), float32(0), true
		switch {
		case op == "add":
			beta = s
		case op == "sub" && !first:
			beta = -s
		case op == "sub":
			alpha, beta = -1, s
		case op == "mul":
			alpha = s
		default:
			ok = false
		}
		if ok {
			return c.emit("act", n.Name, "", []string{v.name}, graph.Act{Op: "affine", Alpha: alpha, Beta: beta}, shape), nil
		}
	}
	return c.emit(op, n.Name, "", []string{c.operand(a), c.operand(b)}, nil, shape), nil
}

// scalarOperand finds a one-element constant that does not raise the
// other operand's rank: the value, the scalar, and whether it comes first.
func scalarOperand(a, b *gval) (v *gval, s float32, first, ok bool) {
	one := func(k *gconst, rank int) bool { return k != nil && len(k.data) == 1 && len(k.shape) <= rank }
	switch {
	case one(b.c, len(a.shape)):
		return a, b.c.data[0], false, true
	case one(a.c, len(b.shape)):
		return b, a.c.data[0], true, true
	}
	return nil, 0, false, false
}

func shapeOf(v *gval) []int {
	if v.c != nil {
		return v.c.shape
	}
	return v.shape
}

// broadcast is numpy's rule on static shapes (-1: unknown).
func broadcast(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - n + len(a); j >= 0 {
			da = a[j]
		}
		if j := i - n + len(b); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		case da < 0 || db < 0:
			out[i] = max(da, db)
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// maxFold bounds the constants the importer computes.
const maxFold = 1 << 22

// foldBinary computes a binary op on two constants.
func foldBinary(op string, a, b *gconst, name string) (*gconst, error) {
	shape, err := broadcast(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	size := 1
	for _, d := range shape {
		if d > maxFold/max(size, 1) {
			return nil, fmt.Errorf("folded constant %v is too large", shape)
		}
		size *= d
	}
	out := make([]float32, size)
	idx := make([]int, len(shape))
	at := func(k *gconst) int {
		off, stride := 0, 1
		for i := len(k.shape) - 1; i >= 0; i-- {
			j := i - len(k.shape) + len(shape)
			if k.shape[i] != 1 {
				off += idx[j] * stride
			}
			stride *= k.shape[i]
		}
		return off
	}
	for i := range out {
		x, y := float64(a.data[at(a)]), float64(b.data[at(b)])
		var r float64
		switch op {
		case "add":
			r = x + y
		case "sub":
			r = x - y
		case "mul":
			r = x * y
		case "div":
			r = x / y
		case "max":
			r = math.Max(x, y)
		case "min":
			r = math.Min(x, y)
		}
		out[i] = float32(r)
		for j := len(idx) - 1; j >= 0; j-- {
			if idx[j]++; idx[j] < shape[j] {
				break
			}
			idx[j] = 0
		}
	}
	return &gconst{name: name, shape: shape, data: out}, nil
}

// unaryOps map TF's elementwise functions onto the runtime's activations.
var unaryOps = map[string]string{"Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh",
	"Elu": "elu", "LeakyRelu": "leaky_relu", "Neg": "neg", "Abs": "abs", "Sqrt": "sqrt", "Rsqrt": "rsqrt",
	"Exp": "exp", "Log": "log", "Square": "square", "Reciprocal": "recip"}

func unary(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	a, err := activation(n, unaryOps[n.Op])
	if err != nil {
		return nil, err
	}
	return c.emit("act", n.Name, "", []string{in[0].name}, a, in[0].shape), nil
}

// preluOp translates Prelu: x and constant slopes.
func preluOp(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	return c.prelu(n, in[0], in[1])
}

// prelu emits max(x, 0) + alpha * min(x, 0) for constant slopes alpha
// that broadcast to x (the IR has no PReLU of its own).
func (c *graphConv) prelu(n *tfNode, x, alpha *gval) (*gval, error) {
	k, err := constant(alpha, "the PReLU slopes")
	if err != nil {
		return nil, err
	}
	shape, err := broadcast(x.shape, k.shape)
	if err != nil || !sameShape(shape, x.shape) {
		return nil, fmt.Errorf("slopes %v for input %v: want slopes that broadcast to the input", k.shape, x.shape)
	}
	zero := c.tensor(&gconst{name: n.Name}, "zero", []int{1}, func() []float32 { return []float32{0} })
	pos := c.emit("act", n.Name, "positive", []string{x.name}, graph.Act{Op: "relu"}, x.shape)
	neg := c.emit("min", n.Name, "negative", []string{x.name, zero}, nil, x.shape)
	neg = c.emit("mul", n.Name, "scaled", []string{neg.name, c.operand(alpha)}, nil, x.shape)
	return c.emit("add", n.Name, "", []string{pos.name, neg.name}, nil, x.shape), nil
}

// softmax is on the last axis, as TF's.
func softmax(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	op := "softmax"
	if n.Op == "LogSoftmax" {
		op = "log_softmax"
	}
	return c.emit(op, n.Name, "", []string{in[0].name}, graph.Axis(-1), in[0].shape), nil
}

// reduce translates Mean, Sum, Max and Min over constant axes.
func reduce(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	k, err := constant(in[1], "the reduction axes")
	if err != nil {
		return nil, err
	}
	axes, err := k.ints("axes")
	if err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(axes) == 0 {
		return in[0], nil // TF reduces nothing
	}
	drop := make([]bool, len(x))
	for i, a := range axes {
		if a < -len(x) || a >= len(x) {
			return nil, fmt.Errorf("axis %d of a rank-%d input", a, len(x))
		}
		if a < 0 {
			a += len(x)
		}
		if drop[a] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		drop[a], axes[i] = true, a
	}
	keep := n.bool("keep_dims")
	var out []int
	for i, d := range x {
		switch {
		case !drop[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	if len(out) == 0 {
		out = []int{1}
	}
	op := map[string]string{"Mean": "mean", "Sum": "sum", "Max": "reduce_max", "Min": "reduce_min"}[n.Op]
	return c.emit(op, n.Name, "", []string{in[0].name}, graph.ReduceAttrs{Axes: axes, Keep: &keep}, out), nil
}

// batchNorm translates FusedBatchNorm in inference mode.
func batchNorm(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 5, 5); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	if n.bool("is_training") {
		return nil, fmt.Errorf("is_training: the importer translates inference graphs")
	}
	if err := nhwc(n); err != nil {
		return nil, err
	}
	eps, err := n.float("epsilon", 1e-4)
	if err != nil {
		return nil, err
	}
	x := in[0].shape
	ins := []string{in[0].name}
	for i, what := range []string{"scale", "offset", "mean", "variance"} {
		k, err := constant(in[1+i], "the "+what)
		if err != nil {
			return nil, err
		}
		if len(k.shape) != 1 || len(x) == 0 || (x[len(x)-1] >= 0 && k.shape[0] != x[len(x)-1]) {
			return nil, fmt.Errorf("%s %v for input %v", what, k.shape, x)
		}
		ins = append(ins, c.operand(in[1+i]))
	}
	return c.emit("batch_norm", n.Name, "", ins, graph.Eps(eps), x), nil
}
