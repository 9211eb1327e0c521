package onnximport

import (
	"fmt"
	"strings"

	"webcnn/core/graph"
	"webcnn/tools/convert/onnx"
)

// Ops the IR has no op of its own for, translated as small graphs of the
// ops the importer already handles: each step is a synthetic ONNX node
// given to its handler (so layouts, constants and broadcasting follow the
// same rules), its intermediate values named after the node.

// step runs the handler of op on a synthetic node of n with the given
// inputs and attributes; its output is out, or a fresh name when out is
// "". It returns the output's name.
func (e *importer) step(n *onnx.Node, op, out string, attrs []*onnx.Attribute, inputs ...string) (string, error) {
	h, ok := handlers[op]
	if !ok {
		return "", fmt.Errorf("internal: no handler for %s", op)
	}
	if out == "" {
		out = e.fresh(nodeName(n) + "/" + strings.ToLower(op))
	}
	s := &onnx.Node{Name: nodeName(n) + "/" + strings.ToLower(op), OpType: op, Input: inputs, Output: []string{out}, Attribute: attrs}
	if err := h(e, s); err != nil {
		return "", err
	}
	return out, nil
}

// chain applies activations to x and names the result out (fresh when "").
func (e *importer) chain(n *onnx.Node, x *value, out string, acts ...graph.Act) (string, error) {
	if out == "" {
		out = e.fresh(nodeName(n) + "/" + acts[len(acts)-1].Op)
	}
	for i, a := range acts {
		o := ""
		if i == len(acts)-1 {
			o = out
		}
		v, err := e.emit("act", nodeName(n)+"/"+a.Op, []irIn{vin(x)}, a, o, x.dims, x.cl)
		if err != nil {
			return "", err
		}
		x = v
	}
	return out, e.set(out, x)
}

// konstValue defines a constant value named after n and returns its name.
func (e *importer) konstValue(n *onnx.Node, tag string, c *constant) string {
	name := e.fresh(nodeName(n) + "/" + tag)
	c.name = name
	e.vals[name] = &value{c: c, dims: c.dims}
	return name
}

// intsValue is konstValue of an int64 vector.
func (e *importer) intsValue(n *onnx.Node, tag string, v ...int64) string {
	return e.konstValue(n, tag, &constant{dims: []int64{int64(len(v))}, i: v, isInt: true})
}

// softplusOf emits log(1 + e^x) in its stable form relu(x) + log(1 + e^-|x|).
func (e *importer) softplusOf(n *onnx.Node, x *value, out string) (string, error) {
	tail, err := e.chain(n, x, "", graph.Act{Op: "abs"}, graph.Act{Op: "affine", Alpha: -1}, graph.Act{Op: "exp"},
		graph.Act{Op: "affine", Alpha: 1, Beta: 1}, graph.Act{Op: "log"})
	if err != nil {
		return "", err
	}
	r, err := e.chain(n, x, "", graph.Act{Op: "relu"})
	if err != nil {
		return "", err
	}
	return e.step(n, "Add", out, nil, r, tail)
}

// activationComposite translates Softplus, Softsign, Selu, Celu, Mish and
// PRelu.
func activationComposite(e *importer, n *onnx.Node) error {
	x, err := e.activation(n, 0)
	if err != nil {
		return err
	}
	out := n.Output[0]
	switch n.OpType {
	case "Softplus":
		_, err = e.softplusOf(n, x, out)
	case "Softsign": // x / (1 + |x|)
		var d string
		if d, err = e.chain(n, x, "", graph.Act{Op: "abs"}, graph.Act{Op: "affine", Alpha: 1, Beta: 1}); err == nil {
			_, err = e.step(n, "Div", out, nil, x.name, d)
		}
	case "Selu": // gamma * elu_alpha(x)
		var alpha, gamma float32
		if alpha, err = attrFloat(n, "alpha", 1.67326319217681884765625); err != nil {
			return err
		}
		if gamma, err = attrFloat(n, "gamma", 1.05070102214813232421875); err != nil {
			return err
		}
		return e.acts(n, x, graph.Act{Op: "elu", Alpha: alpha}, graph.Act{Op: "affine", Alpha: gamma})
	case "Celu": // alpha * elu_1(x / alpha)
		alpha, err := attrFloat(n, "alpha", 1)
		if err != nil {
			return err
		}
		if alpha == 0 {
			return fmt.Errorf("alpha 0")
		}
		return e.acts(n, x, graph.Act{Op: "affine", Alpha: 1 / alpha}, graph.Act{Op: "elu", Alpha: 1}, graph.Act{Op: "affine", Alpha: alpha})
	case "Mish": // x * tanh(softplus(x))
		var sp string
		if sp, err = e.softplusOf(n, x, ""); err != nil {
			return err
		}
		var t string
		if t, err = e.chain(n, e.vals[sp], "", graph.Act{Op: "tanh"}); err == nil {
			_, err = e.step(n, "Mul", out, nil, x.name, t)
		}
	case "PRelu": // relu(x) - slope * relu(-x)
		if len(n.Input) != 2 {
			return fmt.Errorf("%d inputs (want 2)", len(n.Input))
		}
		slope, err := e.arg(n, 1)
		if err != nil {
			return err
		}
		sname := n.Input[1]
		// Before opset 7 a slope of C values applies along axis 1, as
		// PyTorch's exports of nn.PReLU(C) have it.
		if c := slope.c; c != nil && len(c.dims) == 1 && len(x.dims) > 2 && c.dims[0] == x.dims[1] && c.dims[0] != x.dims[len(x.dims)-1] {
			dims := make([]int64, len(x.dims)-1)
			for i := range dims {
				dims[i] = 1
			}
			dims[0] = c.dims[0]
			sname = e.konstValue(n, "slope", &constant{dims: dims, f: c.floats()})
		}
		var r, m, s string
		if r, err = e.chain(n, x, "", graph.Act{Op: "relu"}); err != nil {
			return err
		}
		if m, err = e.chain(n, x, "", graph.Act{Op: "neg"}, graph.Act{Op: "relu"}); err != nil {
			return err
		}
		if s, err = e.step(n, "Mul", "", nil, m, sname); err != nil {
			return err
		}
		_, err = e.step(n, "Sub", out, nil, r, s)
	default:
		return fmt.Errorf("%w: op %s", ErrUnsupported, n.OpType)
	}
	return err
}

// variadic translates Sum, Mean, Max and Min of any number of inputs as a
// chain of two-operand ops (Mean: the sum scaled by 1/n).
func variadic(e *importer, n *onnx.Node) error {
	if len(n.Input) == 0 {
		return fmt.Errorf("no inputs")
	}
	op := map[string]string{"Sum": "Add", "Mean": "Add", "Max": "Max", "Min": "Min"}[n.OpType]
	if len(n.Input) == 2 && n.OpType != "Mean" {
		return binaryNode(e, &onnx.Node{Name: n.Name, OpType: op, Input: n.Input, Output: n.Output, Attribute: n.Attribute})
	}
	acc := n.Input[0]
	if _, err := e.arg(n, 0); err != nil {
		return err
	}
	for i := 1; i < len(n.Input); i++ {
		out := ""
		if i == len(n.Input)-1 && n.OpType != "Mean" {
			out = n.Output[0]
		}
		var err error
		if acc, err = e.step(n, op, out, nil, acc, n.Input[i]); err != nil {
			return err
		}
	}
	v := e.vals[acc]
	switch {
	case n.OpType == "Mean":
		if v.c != nil {
			c, err := foldBinary("mul", v.c, &constant{dims: []int64{1}, f: []float32{1 / float32(len(n.Input))}})
			if err != nil {
				return err
			}
			return e.setConst(n, 0, c)
		}
		return e.acts(n, v, graph.Act{Op: "affine", Alpha: 1 / float32(len(n.Input))})
	case len(n.Input) == 1:
		return e.alias(n, v)
	}
	return nil
}
