package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// Spec is a graph as written: the JSON a manifest carries in its "graph"
// field (see the package documentation).
type Spec struct {
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
	Nodes   []Node   `json:"nodes"`
}

// Node is one op of a graph.
type Node struct {
	Op      string          `json:"op"`
	Name    string          `json:"name"`
	Inputs  []string        `json:"inputs"`
	Outputs []string        `json:"outputs"`
	Attrs   json.RawMessage `json:"attrs,omitempty"`
}

// NewNode returns a node whose attributes are attrs (one of the *Attrs
// types of the op's file, or nil) in JSON. It panics when attrs has no JSON
// form (a NaN or infinite value): importers check the numbers they read.
func NewNode(op, name string, inputs, outputs []string, attrs any) Node {
	n := Node{Op: op, Name: name, Inputs: inputs, Outputs: outputs}
	if attrs != nil {
		b, err := json.Marshal(attrs)
		if err != nil { // the attribute types are plain structs
			panic(fmt.Sprintf("graph: node %q: attrs %T: %v", name, attrs, err))
		}
		n.Attrs = b
	}
	return n
}

// ErrInvalid reports a graph that cannot run: unknown ops, bad attributes,
// missing tensors, wrong arity. Errors wrap it and name the node.
var ErrInvalid = errors.New("bad graph")

// Graph is a validated Spec bound to its weights on a backend; it is
// an nn.Layer, so imported models plug in wherever zoo models do.
type Graph struct {
	inputs  []int // value ids of the graph inputs
	outputs []int // value ids of the graph outputs
	nodes   []gnode
	names   []string // value names by id
	weights []nn.Param
	// uses counts, per value, the node input slots that read it.
	uses []int
	// pinned marks values returned to the caller (graph outputs).
	pinned   []bool
	released bool
}

// gnode is a decoded node: its op and where its inputs come from.
type gnode struct {
	name string
	kind string // the op name
	op   graphOp
	in   []ref
	out  []int // value ids
}

// ref is one node input: a weight (index into Graph.weights) or a value.
type ref struct {
	weight int // -1: a value
	value  int
}

var _ nn.Layer = (*Graph)(nil)

// Parse decodes a graph's JSON strictly: unknown fields are errors.
func Parse(raw json.RawMessage) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the graph", ErrInvalid)
	}
	return &s, nil
}

// New decodes and validates a graph and binds it to its weights on
// backend b. tensors are the manifest's tensors (their shapes come from
// the manifest's entries; a tensor with nil Data gets memory without
// values, for planning on nn.Shapes). Every node is checked before anything
// runs: known op, valid attributes, arity, inputs defined earlier, unique
// names; every tensor must be used by some node. Errors wrap ErrInvalid and
// name the node.
func New(b core.Backend, raw json.RawMessage, tensors []weights.Tensor) (*Graph, error) {
	s, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return s.Build(b, tensors)
}

// Load builds the graph of a loaded manifest: the entries give the
// tensors' shapes, m.Tensors their values. When the manifest declares an
// input shape, the graph is planned on it, so shape errors surface at load.
func Load(b core.Backend, m *weights.Model) (*Graph, error) {
	man := m.Manifest
	ts := make([]weights.Tensor, len(man.Tensors))
	for i, e := range man.Tensors {
		v, ok := m.Tensors[e.Name]
		if !ok {
			return nil, fmt.Errorf("graph: %s: tensor %q was not loaded", man.Model, e.Name)
		}
		ts[i] = weights.Tensor{Name: e.Name, Shape: e.Shape, Data: v}
	}
	g, err := New(b, man.Graph, ts)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", man.Model, err)
	}
	if len(man.Input.Shape) > 0 {
		if _, _, err := g.Plan(nil, man.Input.Shape, nn.Field{Size: 1, Jump: 1}); err != nil {
			g.Free()
			return nil, fmt.Errorf("graph: %s: input %v: %w", man.Model, man.Input.Shape, err)
		}
	}
	return g, nil
}

// Build validates the spec and binds it to tensors on b (see New),
// after folding batch norms and activations into the layers before them
// (Fuse).
func (s *Spec) Build(b core.Backend, tensors []weights.Tensor) (*Graph, error) {
	fs, ft, _ := s.Fuse(tensors)
	return fs.build(b, ft)
}

// build validates the spec and binds it to tensors on b, as written.
func (s *Spec) build(b core.Backend, tensors []weights.Tensor) (g *Graph, err error) {
	g = &Graph{}
	defer func() {
		if err != nil {
			g.Free()
			g = nil
		}
	}()
	byName := map[string]int{} // weight index by name
	for i, t := range tensors {
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q given twice", ErrInvalid, t.Name)
		}
		byName[t.Name] = i
	}
	values := map[string]int{}
	define := func(name, what string) (int, error) {
		if name == "" {
			return 0, fmt.Errorf("%w: %s has an empty value name", ErrInvalid, what)
		}
		if _, ok := values[name]; ok {
			return 0, fmt.Errorf("%w: %s redefines value %q", ErrInvalid, what, name)
		}
		if _, ok := byName[name]; ok {
			return 0, fmt.Errorf("%w: %s defines value %q, which is also a tensor", ErrInvalid, what, name)
		}
		id := len(g.names)
		values[name] = id
		g.names = append(g.names, name)
		return id, nil
	}
	if len(s.Inputs) == 0 || len(s.Outputs) == 0 {
		return nil, fmt.Errorf("%w: %d inputs and %d outputs (want at least one of each)", ErrInvalid, len(s.Inputs), len(s.Outputs))
	}
	for _, in := range s.Inputs {
		id, err := define(in, "graph input")
		if err != nil {
			return nil, err
		}
		g.inputs = append(g.inputs, id)
	}
	// Weights are bound in the order of tensors, on first use.
	bound := make([]int, len(tensors))
	for i := range bound {
		bound[i] = -1
	}
	var order []int // tensor indexes in binding order
	nodeNames := map[string]bool{}
	for i, n := range s.Nodes {
		where := fmt.Sprintf("node %d", i)
		if n.Name != "" {
			where = fmt.Sprintf("node %q", n.Name)
		}
		if n.Name == "" || nodeNames[n.Name] {
			return nil, fmt.Errorf("%w: %s (%s): node names must be unique and not empty", ErrInvalid, where, n.Op)
		}
		nodeNames[n.Name] = true
		def, ok := ops[n.Op]
		if !ok {
			return nil, fmt.Errorf("%w: %s: unknown op %q (have %v)", ErrInvalid, where, n.Op, opNames())
		}
		op, err := def.decode(n.Attrs)
		if err != nil {
			return nil, fmt.Errorf("%w: %s (%s): attrs: %v", ErrInvalid, where, n.Op, err)
		}
		lo, hi := op.arity()
		if len(n.Inputs) < lo || (hi >= 0 && len(n.Inputs) > hi) {
			want := fmt.Sprintf("%d to %d", lo, hi)
			switch {
			case hi < 0:
				want = fmt.Sprintf("at least %d", lo)
			case lo == hi:
				want = fmt.Sprint(lo)
			}
			return nil, fmt.Errorf("%w: %s (%s): %d inputs, want %s", ErrInvalid, where, n.Op, len(n.Inputs), want)
		}
		if len(n.Outputs) != op.outputs() {
			return nil, fmt.Errorf("%w: %s (%s): %d outputs, want %d", ErrInvalid, where, n.Op, len(n.Outputs), op.outputs())
		}
		gn := gnode{name: n.Name, kind: n.Op, op: op}
		for j, in := range n.Inputs {
			if id, ok := values[in]; ok {
				gn.in = append(gn.in, ref{weight: -1, value: id})
				continue
			}
			ti, ok := byName[in]
			if !ok {
				return nil, fmt.Errorf("%w: %s (%s): input %d %q is neither a tensor, a graph input nor an output of an earlier node", ErrInvalid, where, n.Op, j, in)
			}
			if j == 0 && !op.weightFirst() {
				return nil, fmt.Errorf("%w: %s (%s): input 0 %q is a tensor; the op needs an activation there", ErrInvalid, where, n.Op, in)
			}
			if bound[ti] < 0 {
				bound[ti] = len(order)
				order = append(order, ti)
			}
			gn.in = append(gn.in, ref{weight: bound[ti]})
		}
		ws := make([]core.Shape, len(gn.in))
		for j, r := range gn.in {
			if r.weight >= 0 {
				ws[j] = tensors[order[r.weight]].Shape
			}
		}
		if err := op.check(ws); err != nil {
			return nil, fmt.Errorf("%w: %s (%s): %v", ErrInvalid, where, n.Op, err)
		}
		for _, out := range n.Outputs {
			id, err := define(out, where)
			if err != nil {
				return nil, err
			}
			gn.out = append(gn.out, id)
		}
		g.nodes = append(g.nodes, gn)
	}
	for _, out := range s.Outputs {
		id, ok := values[out]
		if !ok {
			return nil, fmt.Errorf("%w: graph output %q is not produced by any node or input", ErrInvalid, out)
		}
		g.outputs = append(g.outputs, id)
	}
	for i, t := range tensors {
		if bound[i] < 0 {
			return nil, fmt.Errorf("%w: tensor %q %v is not used by any node", ErrInvalid, t.Name, t.Shape)
		}
	}
	g.uses = make([]int, len(g.names))
	g.pinned = make([]bool, len(g.names))
	for _, n := range g.nodes {
		for _, r := range n.in {
			if r.weight < 0 {
				g.uses[r.value]++
			}
		}
	}
	for _, id := range g.outputs {
		g.pinned[id] = true
	}
	// Allocate the weights; batch norm statistics are buffers.
	buffers := map[int]bool{}
	for _, n := range g.nodes {
		for j, r := range n.in {
			if r.weight >= 0 && n.op.buffer(j) {
				buffers[r.weight] = true
			}
		}
	}
	for wi, ti := range order {
		t := tensors[ti]
		shape := core.Shape(t.Shape)
		n, ok := elements(shape)
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has shape %v", ErrInvalid, t.Name, t.Shape)
		}
		var ct *core.Tensor
		if t.Data == nil {
			ct, err = core.New(b, shape)
		} else {
			if len(t.Data) != n {
				return nil, fmt.Errorf("%w: tensor %q %v has %d values, want %d", ErrInvalid, t.Name, t.Shape, len(t.Data), n)
			}
			ct, err = core.FromData(b, shape, t.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("graph: tensor %q: %w", t.Name, err)
		}
		g.weights = append(g.weights, nn.Param{Name: t.Name, T: ct, Buffer: buffers[wi]})
	}
	return g, nil
}

// elements returns the size of a shape whose extents are all positive,
// or false (also on overflow).
func elements(s core.Shape) (int, bool) {
	n := 1
	for _, d := range s {
		if d <= 0 || n > (1<<40)/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// Params returns the graph's weights named by their manifest names, in the
// order the nodes first use them.
func (g *Graph) Params() []nn.Param { return append([]nn.Param(nil), g.weights...) }

// Free releases the weights' memory.
func (g *Graph) Free() {
	if g == nil {
		return
	}
	for _, p := range g.weights {
		p.T.Free()
	}
	g.weights = nil
	g.released = true
}

// Inputs returns the names of the graph inputs.
func (g *Graph) Inputs() []string { return g.valueNames(g.inputs) }

// Outputs returns the names of the graph outputs.
func (g *Graph) Outputs() []string { return g.valueNames(g.outputs) }

func (g *Graph) valueNames(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = g.names[id]
	}
	return out
}
