// Package nn builds networks from the op functions of core: layers that own
// named parameters (torchvision's state_dict names), containers
// (Sequential, Residual, Concat), shape planning without running, and a
// per-layer trace (output shape, parameters, multiply-adds, receptive
// field) from which summaries are printed.
package nn

import (
	"fmt"

	"webcnn/core"
)

// Context carries what one forward pass needs besides the input: the mode
// (training enables dropout variants and batch statistics) and the RNG.
type Context struct {
	Mode core.Mode
	RNG  *core.RNG
}

// Eval is the inference context.
var Eval = &Context{Mode: core.Inference}

// Param is a named tensor of a layer.
type Param struct {
	Name string // dotted path: "layer1.0.conv1.weight"
	T    *core.Tensor
	// Buffer marks state that is loaded and saved but not trained and not
	// counted as a parameter (batch norm running statistics).
	Buffer bool
}

// Layer is one step of a network.
type Layer interface {
	// Forward computes the layer's output.
	Forward(ctx *Context, x *core.Tensor) (*core.Tensor, error)
	// Params lists the layer's tensors (and its children's) with names
	// relative to the layer.
	Params() []Param
	// Plan computes the output shape for an input shape without running,
	// and records the layer's rows (leaves) into t.
	Plan(t *Trace, in core.Shape, f Field) (core.Shape, Field, error)
}

// Field is the receptive field on the first spatial axis: its size in
// input pixels and its jump (the distance in input pixels between two
// neighbouring outputs). The input has Field{1, 1}.
type Field struct{ Size, Jump int }

// grow returns the field after a window of kernel k (dilation included)
// and stride s: size + (k-1)*jump, jump*s.
func (f Field) grow(k, s int) Field { return Field{f.Size + (k-1)*f.Jump, f.Jump * s} }

// Row is one leaf layer in a trace.
type Row struct {
	Name   string // dotted path
	Kind   string // "Conv2d 3x3/2 64", "BatchNorm", ...
	Out    core.Shape
	Params int64 // trainable elements
	MACs   int64 // multiply-adds (batch as given)
	Field  Field
	// InPlace marks a row whose output needs no memory of its own in
	// inference: activations and dropout overwrite their input, batch
	// norm and layer scale fold into the preceding convolution at load.
	InPlace bool
}

// Trace collects the rows of a plan.
type Trace struct {
	prefix string
	rows   *[]Row
}

// NewTrace returns an empty trace.
func NewTrace() *Trace { return &Trace{rows: new([]Row)} }

// Rows returns the recorded rows in execution order.
func (t *Trace) Rows() []Row {
	if t == nil {
		return nil
	}
	return *t.rows
}

// Sub returns the trace of a child named name.
func (t *Trace) Sub(name string) *Trace {
	if t == nil {
		return nil
	}
	return &Trace{prefix: join(t.prefix, name), rows: t.rows}
}

// add records a leaf; a nil trace records nothing.
func (t *Trace) add(kind string, out core.Shape, params, macs int64, f Field) {
	if t == nil {
		return
	}
	*t.rows = append(*t.rows, Row{Name: t.prefix, Kind: kind, Out: out.Clone(), Params: params, MACs: macs, Field: f})
}

// Add records a row built outside this package (an imported graph's
// nodes) under the trace's prefix joined with r.Name.
func (t *Trace) Add(r Row) {
	if t == nil {
		return
	}
	r.Name = join(t.prefix, r.Name)
	r.Out = r.Out.Clone()
	*t.rows = append(*t.rows, r)
}

// inPlace marks the last recorded row as computed in place.
func (t *Trace) inPlace() {
	if t != nil && len(*t.rows) > 0 {
		(*t.rows)[len(*t.rows)-1].InPlace = true
	}
}

func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	}
	return prefix + "." + name
}

// Named is a child layer and its name in the parent's scope.
type Named struct {
	Name  string
	Layer Layer
}

// N names a child layer: nn.Sequential{nn.N("conv1", c), nn.N("bn1", b)}.
func N(name string, l Layer) Named { return Named{Name: name, Layer: l} }

// prefixed renames a child's parameters into the parent's scope.
func prefixed(name string, ps []Param) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param{Name: join(name, p.Name), T: p.T, Buffer: p.Buffer}
	}
	return out
}

// Count returns the number of trainable elements of a layer.
func Count(l Layer) int64 {
	var n int64
	for _, p := range l.Params() {
		if !p.Buffer {
			n += int64(p.T.Size())
		}
	}
	return n
}

// PlanOf runs Plan from the input shape and returns the trace.
func PlanOf(l Layer, in core.Shape) (core.Shape, []Row, error) {
	t := NewTrace()
	out, _, err := l.Plan(t, in, Field{1, 1})
	return out, t.Rows(), err
}

// Lookup returns a layer's parameters by dotted name.
func Lookup(l Layer) map[string]Param {
	m := map[string]Param{}
	for _, p := range l.Params() {
		m[p.Name] = p
	}
	return m
}

// Load writes host values into a layer's parameters by name. Every
// parameter must be given with its exact shape; unknown names are errors.
func Load(l Layer, values map[string][]float32) error {
	params := Lookup(l)
	for name := range values {
		if _, ok := params[name]; !ok {
			return fmt.Errorf("load: unexpected tensor %q", name)
		}
	}
	for name, p := range params {
		v, ok := values[name]
		if !ok {
			return fmt.Errorf("load: missing tensor %q %v", name, p.T.Shape())
		}
		if len(v) != p.T.Size() {
			return fmt.Errorf("load: tensor %q has %d values, want %v", name, len(v), p.T.Shape())
		}
		if err := p.T.Backend().Write(p.T.Buffer(), 0, v); err != nil {
			return fmt.Errorf("load %q: %w", name, err)
		}
	}
	return nil
}

// Infer runs one inference pass of l on b: it uploads x as a tensor of
// the given shape, runs l in the Eval context, reads the output back and
// frees both tensors.
func Infer(b core.Backend, l Layer, shape core.Shape, x []float32) ([]float32, error) {
	out, _, err := InferShape(b, l, shape, x)
	return out, err
}

// InferShape is Infer that also returns the output's shape.
func InferShape(b core.Backend, l Layer, shape core.Shape, x []float32) ([]float32, []int, error) {
	in, err := core.FromData(b, shape, x)
	if err != nil {
		return nil, nil, err
	}
	defer in.Free()
	y, err := l.Forward(Eval, in)
	if err != nil {
		return nil, nil, err
	}
	defer y.Free()
	out, err := y.Data()
	return out, append([]int(nil), y.Shape()...), err
}
