package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"webcnn/core"
	"webcnn/core/nn"
)

// ops maps each op name to the decoder of its attributes. Every op
// registers itself from its own file's init function, next to its
// attributes, its shape rule and its run function.
var ops = map[string]opDef{}

// register adds an op; a name given twice is a broken invariant.
func register(name string, decode func(json.RawMessage) (graphOp, error)) {
	if _, dup := ops[name]; dup {
		panic("graph: op " + name + " registered twice")
	}
	ops[name] = opDef{decode: decode}
}

// opNames lists the ops in sorted order (for error messages).
func opNames() []string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// opDef decodes a node's attributes into an op.
type opDef struct {
	decode func(json.RawMessage) (graphOp, error)
}

// graphOp is one decoded op.
type graphOp interface {
	// arity is the least and most inputs (hi < 0: no limit).
	arity() (lo, hi int)
	// outputs is the number of values the op produces.
	outputs() int
	// weightFirst allows a tensor as input 0 (binary ops on constants).
	weightFirst() bool
	// buffer reports whether weight input j is a running statistic.
	buffer(j int) bool
	// check validates the shapes of weight inputs (nil: not a weight).
	check(w []core.Shape) error
	// view reports that output 0 shares input 0's memory.
	view() bool
	// run computes the outputs.
	run(in []*core.Tensor) ([]*core.Tensor, error)
	// plan computes the output shapes from inputs that may hold no
	// memory (only their shapes are read), records rows into t and
	// returns the receptive field of the outputs.
	plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error)
}

// opBase gives the common answers: one output, an activation first, no
// buffers, nothing to check, fresh memory.
type opBase struct{}

func (opBase) outputs() int { return 1 }

func (opBase) weightFirst() bool { return false }

func (opBase) buffer(int) bool { return false }

func (opBase) check([]core.Shape) error { return nil }

func (opBase) view() bool { return false }

// strict decodes attributes, rejecting unknown fields; absent or null
// attributes leave the zero value.
func strict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the attributes")
	}
	return nil
}

func decodeAttrs[A any](mk func(A) (graphOp, error)) func(json.RawMessage) (graphOp, error) {
	return func(raw json.RawMessage) (graphOp, error) {
		var a A
		if err := strict(raw, &a); err != nil {
			return nil, err
		}
		return mk(a)
	}
}

func noAttrs(mk func() graphOp) func(json.RawMessage) (graphOp, error) {
	return decodeAttrs(func(struct{}) (graphOp, error) { return mk(), nil })
}

// one wraps a single result.
func one(t *core.Tensor, err error) ([]*core.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*core.Tensor{t}, nil
}

// rowAdder is the method core/nn's Trace needs for ops that have no nn
// layer (add, concat, pad, transpose...): record a row under the trace's
// prefix. Until Trace has it, those ops record no row (like nn.Residual's
// addition and nn.Concat's join, which record none either).
type rowAdder interface{ Add(nn.Row) }

// addRow records a generic row when the trace can take one.
func addRow(t *nn.Trace, kind string, out core.Shape, f nn.Field, inPlace bool) {
	if a, ok := any(t).(rowAdder); ok && t != nil {
		a.Add(nn.Row{Kind: kind, Out: out.Clone(), Field: f, InPlace: inPlace})
	}
}

// AxisAttrs name one axis (negative counts from the end).
type AxisAttrs struct {
	Axis *int `json:"axis,omitempty"`
}

func (a AxisAttrs) axis(def int) int {
	if a.Axis == nil {
		return def
	}
	return *a.Axis
}

// Axis returns attributes for axis i.
func Axis(i int) AxisAttrs { return AxisAttrs{Axis: &i} }

// resolveAxis resolves a possibly negative axis against a rank.
func resolveAxis(a, rank int) (int, error) {
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return a, nil
}

// maxExtent bounds every size an attribute gives, so that shape
// arithmetic cannot overflow.
const maxExtent = 1 << 30

// spatialAttrs checks that per-axis entries are at least min (and sane).
func spatialAttrs(m map[string][]int, min int) error {
	for name, s := range m {
		for _, v := range s {
			if v < min || v > maxExtent {
				return fmt.Errorf("%s %v: entries must be in [%d, %d]", name, s, min, maxExtent)
			}
		}
	}
	return nil
}

// padAttrs checks a padding mode against explicit pads.
func padAttrs(mode string, before, after []int) error {
	switch mode {
	case "", "valid", "same", "same_lower":
	default:
		return fmt.Errorf("pad %q: want same, same_lower or valid", mode)
	}
	if mode != "" && (before != nil || after != nil) {
		return fmt.Errorf("pad %q excludes pad_before and pad_after", mode)
	}
	return spatialAttrs(map[string][]int{"pad_before": before, "pad_after": after}, 0)
}

// sameLen checks that the non-nil slices have one length.
func sameLen(ss ...[]int) error {
	n := -1
	for _, s := range ss {
		if s == nil {
			continue
		}
		if n >= 0 && len(s) != n {
			return fmt.Errorf("per-axis attributes have %d and %d entries", n, len(s))
		}
		n = len(s)
	}
	return nil
}

// samePads returns the padding of a "same" mode for input x, kernel k.
func samePads(mode string, x core.Shape, kernel, stride, dilation []int) (before, after []int) {
	d := len(kernel)
	before, after = make([]int, d), make([]int, d)
	if mode != "same" && mode != "same_lower" {
		return before, after
	}
	for i := 0; i < d && 1+i < x.Rank(); i++ {
		b, a := core.SamePadding(x[1+i], kernel[i], at(stride, i), at(dilation, i))
		if mode == "same_lower" {
			b, a = a, b
		}
		before[i], after[i] = b, a
	}
	return before, after
}

func at(s []int, i int) int {
	if i >= len(s) {
		return 1
	}
	return s[i]
}
