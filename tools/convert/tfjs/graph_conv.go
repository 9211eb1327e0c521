package tfjs

import (
	"fmt"
	"strings"

	"webcnn/core/graph"
)

// Convolutions and pooling of graph models. Grappler's
// fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) list
// what they fused in fused_ops: BiasAdd (the first extra argument is the
// bias) then at most one activation, as TF.js executes them.

// fusedActs maps TF activation ops onto the runtime's activations.
var fusedActs = map[string]string{"Relu": "relu", "Relu6": "relu6", "Elu": "elu", "LeakyRelu": "leaky_relu",
	"Sigmoid": "sigmoid", "Tanh": "tanh"}

// fusedOps reads fused_ops: whether a bias follows the filter, and the
// activation to apply (prelu: a PReLU whose slopes are the fourth input).
func fusedOps(n *tfNode, in []*gval) (bias bool, act *graph.Act, prelu bool, err error) {
	ops, err := n.strs("fused_ops")
	if err != nil {
		return false, nil, false, err
	}
	if len(ops) == 0 {
		return false, nil, false, nil
	}
	if ops[0] != "BiasAdd" || len(ops) > 2 {
		return false, nil, false, fmt.Errorf("fused_ops %v: the importer supports BiasAdd followed by at most one of %s "+
			"(TF.js refuses FusedBatchNorm there too)", ops, actNames())
	}
	want := 3
	if len(ops) == 2 && ops[1] == "Prelu" {
		want, prelu = 4, true
	}
	if len(in) != want {
		return false, nil, false, fmt.Errorf("fused_ops %v with %d inputs, want %d (input, filter, bias, slopes)", ops, len(in), want)
	}
	if len(ops) == 2 && !prelu {
		name, ok := fusedActs[ops[1]]
		if !ok {
			return false, nil, false, fmt.Errorf("fused activation %s: the importer supports %s", ops[1], actNames())
		}
		act, err = activation(n, name)
		if err != nil {
			return false, nil, false, err
		}
	}
	return true, act, prelu, nil
}

// activation builds a runtime activation; LeakyRelu reads its alpha from
// leakyrelu_alpha (fused) or alpha (default 0.2, as TF's).
func activation(n *tfNode, name string) (*graph.Act, error) {
	a := &graph.Act{Op: name}
	if name == "leaky_relu" {
		key := "alpha"
		if _, ok := n.Attr["leakyrelu_alpha"]; ok {
			key = "leakyrelu_alpha"
		}
		alpha, err := n.float(key, 0.2)
		if err != nil {
			return nil, err
		}
		a.Alpha = alpha
	}
	if name == "elu" {
		a.Alpha = 1
	}
	return a, nil
}

func actNames() string {
	return "Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Prelu"
}

// window reads NHWC strides, dilations (or ksize) as [h, w].
func window(n *tfNode, attr string, def int) ([]int, error) {
	v, err := n.ints(attr)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return []int{def, def}, nil
	}
	if len(v) != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 {
		return nil, fmt.Errorf("%s %v: want [1, h, w, 1] with h, w >= 1", attr, v)
	}
	return v[1:3], nil
}

// nhwc checks data_format.
func nhwc(n *tfNode) error {
	f, err := n.str("data_format", "NHWC")
	if err != nil {
		return err
	}
	if f != "NHWC" {
		return fmt.Errorf("data_format %s: the importer supports NHWC (the layout TF.js converts to)", f)
	}
	return nil
}

// padding reads padding (SAME, VALID or EXPLICIT with explicit_paddings)
// as the IR's mode ("same", "valid") or explicit pads before and after
// the two spatial axes.
func padding(n *tfNode) (mode string, before, after []int, err error) {
	p, err := n.str("padding", "VALID")
	if err != nil {
		return "", nil, nil, err
	}
	switch p {
	case "SAME":
		return "same", nil, nil, nil
	case "VALID":
		return "valid", nil, nil, nil
	case "EXPLICIT":
		e, err := n.ints("explicit_paddings")
		if err != nil {
			return "", nil, nil, err
		}
		if len(e) != 8 || e[0] != 0 || e[1] != 0 || e[6] != 0 || e[7] != 0 {
			return "", nil, nil, fmt.Errorf("explicit_paddings %v: want 8 entries, zero on the batch and channel axes", e)
		}
		for _, v := range e {
			if v < 0 {
				return "", nil, nil, fmt.Errorf("explicit_paddings %v: negative", e)
			}
		}
		return "", []int{e[2], e[4]}, []int{e[3], e[5]}, nil
	}
	return "", nil, nil, fmt.Errorf("padding %q: want SAME, VALID or EXPLICIT", p)
}

// outExtent is the output extent of a window of k taps dilated by d,
// stride s, over in (-1: unknown) padded per mode.
func outExtent(in, k, s, d int, mode string, before, after int) (int, error) {
	if in < 0 {
		return -1, nil
	}
	ek := (k-1)*d + 1
	var out int
	if mode == "same" {
		out = (in + s - 1) / s
	} else {
		out = (in+before+after-ek)/s + 1
		if in+before+after < ek {
			out = 0
		}
	}
	if out < 1 {
		return 0, fmt.Errorf("a window of %d over %d (padded %d+%d) leaves nothing", ek, in, before, after)
	}
	return out, nil
}

// conv translates Conv2D, DepthwiseConv2dNative and their fused forms.
func conv(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	depthwise := strings.Contains(n.Op, "Depthwise")
	if err := arity(in, 2, 4); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	f, err := constant(in[1], "the filter")
	if err != nil {
		return nil, err
	}
	if err := nhwc(n); err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(x) != 4 || len(f.shape) != 4 {
		return nil, fmt.Errorf("input %v, filter %v: want NHWC and [kh, kw, in, out]", x, f.shape)
	}
	stride, err := window(n, "strides", 1)
	if err != nil {
		return nil, err
	}
	dil, err := window(n, "dilations", 1)
	if err != nil {
		return nil, err
	}
	mode, before, after, err := padding(n)
	if err != nil {
		return nil, err
	}
	hasBias, prelu := false, false
	var act *graph.Act
	if strings.HasPrefix(n.Op, "_") || strings.HasPrefix(n.Op, "Fused") {
		if hasBias, act, prelu, err = fusedOps(n, in); err != nil {
			return nil, err
		}
	} else if len(in) != 2 {
		return nil, fmt.Errorf("%d inputs, want 2", len(in))
	}
	kh, kw, cin, cout := f.shape[0], f.shape[1], f.shape[2], f.shape[3]
	if x[3] >= 0 && x[3] != cin {
		return nil, fmt.Errorf("input %v has %d channels, the filter %v reads %d", x, x[3], f.shape, cin)
	}
	a := graph.ConvAttrs{Stride: stride, Dilation: dil, Pad: mode, PadBefore: before, PadAfter: after, Act: act}
	if mode == "valid" {
		a.Pad = "" // no padding at all
	}
	wshape := f.shape
	if depthwise {
		a.Groups = cin
		cout = cin * f.shape[3]
		wshape = []int{kh, kw, 1, cout} // the same bytes: output c*mult+m reads input c
	}
	ins := []string{in[0].name, c.tensor(f, tagIf(depthwise, "depthwise"), wshape, func() []float32 { return f.data })}
	if hasBias {
		b, err := constant(in[2], "the bias")
		if err != nil {
			return nil, err
		}
		if len(b.shape) != 1 || b.shape[0] != cout {
			return nil, fmt.Errorf("bias %v for %d output channels", b.shape, cout)
		}
		ins = append(ins, c.tensor(b, "", b.shape, func() []float32 { return b.data }))
	}
	out := []int{x[0], 0, 0, cout}
	pb, pa := []int{0, 0}, []int{0, 0}
	if before != nil {
		pb, pa = before, after
	}
	for i, k := range []int{kh, kw} {
		if out[1+i], err = outExtent(x[1+i], k, stride[i], dil[i], mode, pb[i], pa[i]); err != nil {
			return nil, err
		}
	}
	if prelu {
		return c.prelu(n, c.emit("conv", n.Name, "conv", ins, a, out), in[3])
	}
	return c.emit("conv", n.Name, "", ins, a, out), nil
}

func tagIf(b bool, tag string) string {
	if b {
		return tag
	}
	return ""
}

// biasAdd translates BiasAdd: a [C] constant added on the last axis
// (folded into the conv or dense layer before it when nothing else reads
// that layer's output).
func biasAdd(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := nhwc(n); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	b, err := constant(in[1], "the bias")
	if err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(b.shape) != 1 || len(x) == 0 || (x[len(x)-1] >= 0 && x[len(x)-1] != b.shape[0]) {
		return nil, fmt.Errorf("bias %v for input %v", b.shape, x)
	}
	return c.emit("add", n.Name, "", []string{in[0].name, c.operand(in[1])}, nil, x), nil
}

// pool translates AvgPool and MaxPool (SAME averages only the positions
// inside the input, as TensorFlow does).
func pool(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := value(in[0], "the input"); err != nil {
		return nil, err
	}
	if err := nhwc(n); err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(x) != 4 {
		return nil, fmt.Errorf("input %v: want NHWC", x)
	}
	k, err := window(n, "ksize", 0)
	if err != nil {
		return nil, err
	}
	if k[0] == 0 {
		return nil, fmt.Errorf("no ksize")
	}
	stride, err := window(n, "strides", 1)
	if err != nil {
		return nil, err
	}
	mode, before, after, err := padding(n)
	if err != nil {
		return nil, err
	}
	op := "avg"
	if n.Op == "MaxPool" {
		op = "max"
	}
	a := graph.PoolAttrs{Op: op, Kernel: k, Stride: stride, Pad: mode, PadBefore: before, PadAfter: after}
	if mode == "valid" {
		a.Pad = ""
	}
	if before != nil && op == "avg" {
		return nil, fmt.Errorf("explicit padding in an average pool is not supported")
	}
	out := []int{x[0], 0, 0, x[3]}
	pb, pa := []int{0, 0}, []int{0, 0}
	if before != nil {
		pb, pa = before, after
	}
	for i := range 2 {
		if out[1+i], err = outExtent(x[1+i], k[i], stride[i], 1, mode, pb[i], pa[i]); err != nil {
			return nil, err
		}
	}
	return c.emit("pool", n.Name, "", []string{in[0].name}, a, out), nil
}
