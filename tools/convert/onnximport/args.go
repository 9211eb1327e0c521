package onnximport

import (
	"fmt"

	"webcnn/tools/convert/onnx"
)

// arg returns input i of n, which must be present.
func (e *importer) arg(n *onnx.Node, i int) (*value, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	if err := e.bad[n.Input[i]]; err != nil {
		return nil, fmt.Errorf("input %d %q: %w", i, n.Input[i], err)
	}
	v, ok := e.vals[n.Input[i]]
	if !ok {
		return nil, fmt.Errorf("input %d %q is not defined by an earlier node, an initializer or the graph input", i, n.Input[i])
	}
	return v, nil
}

// optArg returns input i of n, or nil when it is absent.
func (e *importer) optArg(n *onnx.Node, i int) (*value, error) {
	if i >= len(n.Input) || n.Input[i] == "" {
		return nil, nil
	}
	return e.arg(n, i)
}

// activation returns input i, which must be computed at run time.
func (e *importer) activation(n *onnx.Node, i int) (*value, error) {
	v, err := e.arg(n, i)
	if err != nil {
		return nil, err
	}
	if v.c != nil {
		return nil, fmt.Errorf("%w: input %d %q is a constant, the runtime needs an activation there", ErrUnsupported, i, n.Input[i])
	}
	return v, nil
}

// konst returns input i, which must be a constant.
func (e *importer) konst(n *onnx.Node, i int) (*constant, error) {
	v, err := e.arg(n, i)
	if err != nil {
		return nil, err
	}
	if v.c == nil {
		return nil, &NeedsConstantError{Index: i, Input: n.Input[i]}
	}
	return v.c, nil
}

// optInts reads an integer-list input (opset >= 10-13 forms of axes,
// pads, starts...) when present.
func (e *importer) optInts(n *onnx.Node, i int) ([]int64, bool, error) {
	v, err := e.optArg(n, i)
	if err != nil || v == nil {
		return nil, false, err
	}
	if v.c == nil {
		return nil, false, &NeedsConstantError{Index: i, Input: n.Input[i]}
	}
	return v.c.ints(), true, nil
}

func attr(n *onnx.Node, name string, t onnx.AttributeType) (*onnx.Attribute, error) {
	a := n.Attr(name)
	if a == nil {
		return nil, nil
	}
	if a.Type != t && a.Type != onnx.AttrUndefined {
		return nil, fmt.Errorf("attribute %s has type %d, want %d", name, a.Type, t)
	}
	return a, nil
}

func attrInt(n *onnx.Node, name string, def int64) (int64, error) {
	a, err := attr(n, name, onnx.AttrInt)
	if a == nil || err != nil {
		return def, err
	}
	return a.I, nil
}

func attrFloat(n *onnx.Node, name string, def float32) (float32, error) {
	a, err := attr(n, name, onnx.AttrFloat)
	if a == nil || err != nil {
		return def, err
	}
	return a.F, nil
}

func attrInts(n *onnx.Node, name string) ([]int64, bool, error) {
	a, err := attr(n, name, onnx.AttrInts)
	if a == nil || err != nil {
		return nil, false, err
	}
	return a.Ints, true, nil
}

func attrString(n *onnx.Node, name, def string) (string, error) {
	a, err := attr(n, name, onnx.AttrString)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.S), nil
}

// NeedsConstantError reports an op input that the runtime needs as a
// constant (weights, scales, bounds) but that the graph computes at run
// time or takes as a graph input. It wraps ErrUnsupported.
type NeedsConstantError struct {
	Index int    // the node's input index
	Input string // the value's name
}

func (e *NeedsConstantError) Error() string {
	return fmt.Sprintf("%v: input %d %q is computed at run time, the runtime needs a constant there", ErrUnsupported, e.Index, e.Input)
}

func (e *NeedsConstantError) Unwrap() error { return ErrUnsupported }
