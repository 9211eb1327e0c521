package graph

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
)

// Run executes the graph on one tensor per graph input and returns one
// tensor per graph output, which the caller owns (outputs may be views of
// an input or of each other when the graph says so). Intermediate values
// are freed as soon as their last reader has run; an activation whose
// input has no other reader runs in place. The inputs are never modified.
// Imported graphs are inference graphs: batch norms use their running
// statistics whatever ctx's mode.
func (g *Graph) Run(ctx *nn.Context, inputs ...*core.Tensor) ([]*core.Tensor, error) {
	if len(inputs) != len(g.inputs) {
		return nil, fmt.Errorf("graph: %d inputs given, the graph takes %d (%v)", len(inputs), len(g.inputs), g.Inputs())
	}
	if g.released {
		return nil, fmt.Errorf("graph: used after Free")
	}
	e := newExec(g)
	for i, id := range g.inputs {
		if inputs[i] == nil {
			return nil, fmt.Errorf("graph: input %q is nil", g.names[id])
		}
		e.set(id, inputs[i], foreign)
	}
	for ni := range g.nodes {
		if err := e.step(&g.nodes[ni]); err != nil {
			e.release()
			return nil, fmt.Errorf("graph: node %q (%s): %w", g.nodes[ni].name, g.nodes[ni].kind, err)
		}
	}
	out := make([]*core.Tensor, len(g.outputs))
	for i, id := range g.outputs {
		out[i] = e.vals[id]
	}
	return out, nil
}

// Forward runs a graph of one input and one output (nn.Layer).
func (g *Graph) Forward(ctx *nn.Context, x *core.Tensor) (*core.Tensor, error) {
	if len(g.inputs) != 1 || len(g.outputs) != 1 {
		return nil, fmt.Errorf("graph: Forward needs one input and one output, the graph has %v and %v (use Run)", g.Inputs(), g.Outputs())
	}
	out, err := g.Run(ctx, x)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// exec is the state of one run: values, and reference counts per buffer.
// Each value belongs to a root (the value that allocated its memory);
// views and in-place results join their input's root. A root's count is
// the reads still to come of all its values (pinned outputs and caller
// inputs never reach zero); at zero its memory is freed.
type exec struct {
	g     *Graph
	vals  []*core.Tensor
	root  []int
	refs  []int  // per root: pending reads
	owned []bool // per root: memory this run allocated
	freed []bool // per root
}

const (
	never   = 1 << 30 // the count of memory the graph does not own
	fresh   = -1      // set: a value with memory of its own
	foreign = -2      // set: memory the graph does not own
)

func newExec(g *Graph) *exec {
	n := len(g.names)
	e := &exec{g: g, vals: make([]*core.Tensor, n), root: make([]int, n), refs: make([]int, n), owned: make([]bool, n), freed: make([]bool, n)}
	for i := range e.root {
		e.root[i] = -1
	}
	return e
}

// set records value id; alias is the value whose memory it shares, or
// fresh, or foreign for memory the graph does not own (inputs, weights).
func (e *exec) set(id int, t *core.Tensor, alias int) {
	e.vals[id] = t
	uses := e.g.uses[id]
	if e.g.pinned[id] {
		uses += never
	}
	if alias < 0 {
		e.root[id] = id
		e.refs[id] = uses
		e.owned[id] = alias == fresh
		if alias == foreign {
			e.refs[id] += never
		}
		return
	}
	r := e.root[alias]
	e.root[id] = r
	e.refs[r] += uses
}

// step runs one node and frees what no later node reads.
func (e *exec) step(n *gnode) error {
	in := make([]*core.Tensor, len(n.in))
	for j, r := range n.in {
		if r.weight >= 0 {
			in[j] = e.g.weights[r.weight].T
		} else {
			in[j] = e.vals[r.value]
		}
	}
	var outs []*core.Tensor
	alias := fresh
	if a, ok := n.op.(*actOp); ok && n.in[0].weight < 0 && e.refs[e.root[n.in[0].value]] == 1 {
		// The last read of this memory: overwrite it.
		x := in[0]
		if err := x.Backend().Unary(x, x, a.f); err != nil {
			return err
		}
		outs, alias = []*core.Tensor{x}, n.in[0].value
	} else {
		var err error
		if outs, err = n.op.run(in); err != nil {
			return err
		}
		if n.op.view() {
			alias = n.in[0].value
		}
	}
	if len(outs) != len(n.out) {
		for _, t := range outs {
			t.Free()
		}
		return fmt.Errorf("produced %d outputs, want %d", len(outs), len(n.out))
	}
	for i, id := range n.out {
		a := fresh
		if i == 0 {
			a = alias
		}
		for j, x := range in { // an op that hands an input back
			if a == fresh && outs[i] == x {
				a = foreign
				if n.in[j].weight < 0 {
					a = n.in[j].value
				}
			}
		}
		e.set(id, outs[i], a)
	}
	for _, r := range n.in {
		if r.weight < 0 {
			e.refs[e.root[r.value]]--
		}
	}
	for _, r := range n.in {
		if r.weight < 0 {
			e.collect(e.root[r.value])
		}
	}
	for _, id := range n.out {
		e.collect(e.root[id])
	}
	return nil
}

// collect frees a root's memory once nothing will read it.
func (e *exec) collect(r int) {
	if e.refs[r] == 0 && e.owned[r] && !e.freed[r] {
		e.vals[r].Free()
		e.freed[r] = true
	}
}

// release frees all memory the run allocated, after a failure.
func (e *exec) release() {
	for id, r := range e.root {
		if r == id && e.owned[r] && !e.freed[r] && e.vals[r] != nil {
			e.vals[r].Free()
			e.freed[r] = true
		}
	}
}

// Plan computes every node's output shape for input shape in (a graph of
// one input), records the nodes' rows (convolutions, dense layers, pools,
// norms and activations as the zoo's layers record them) and returns the
// first output's shape and receptive field.
func (g *Graph) Plan(t *nn.Trace, in core.Shape, f nn.Field) (core.Shape, nn.Field, error) {
	if len(g.inputs) != 1 {
		return nil, f, fmt.Errorf("graph: Plan needs one input, the graph has %v", g.Inputs())
	}
	shapes, fields, err := g.planAll(t, []core.Shape{in}, f)
	if err != nil {
		return nil, f, err
	}
	id := g.outputs[0]
	return shapes[id], fields[id], nil
}

// planAll plans a graph of any number of inputs and returns the shape and
// field of every value, indexed by value id.
func (g *Graph) planAll(t *nn.Trace, in []core.Shape, f nn.Field) ([]core.Shape, []nn.Field, error) {
	if len(in) != len(g.inputs) {
		return nil, nil, fmt.Errorf("graph: %d input shapes given, the graph takes %d", len(in), len(g.inputs))
	}
	shapes := make([]core.Shape, len(g.names))
	fields := make([]nn.Field, len(g.names))
	for i, id := range g.inputs {
		if _, ok := elements(in[i]); !ok || in[i].Rank() == 0 {
			return nil, nil, fmt.Errorf("graph: input %q has shape %v", g.names[id], in[i])
		}
		shapes[id], fields[id] = in[i].Clone(), f
	}
	for _, n := range g.nodes {
		args := make([]*core.Tensor, len(n.in))
		nf := nn.Field{Size: 1, Jump: 1}
		for j, r := range n.in {
			if r.weight >= 0 {
				args[j] = g.weights[r.weight].T
				continue
			}
			s := shapes[r.value]
			a, err := core.New(nn.Shapes{}, s)
			if err != nil {
				return nil, nil, fmt.Errorf("graph: node %q (%s): input %q: %w", n.name, n.kind, g.names[r.value], err)
			}
			args[j] = a
			if fr := fields[r.value]; j == 0 || fr.Size > nf.Size {
				nf = fr
			}
		}
		outs, of, err := n.op.plan(t.Sub(n.name), args, nf)
		if err != nil {
			return nil, nil, fmt.Errorf("graph: node %q (%s): %w", n.name, n.kind, err)
		}
		if len(outs) != len(n.out) {
			return nil, nil, fmt.Errorf("graph: node %q (%s): %d output shapes, want %d", n.name, n.kind, len(outs), len(n.out))
		}
		for i, id := range n.out {
			if _, ok := elements(outs[i]); !ok {
				return nil, nil, fmt.Errorf("graph: node %q (%s): output %q has shape %v", n.name, n.kind, g.names[id], outs[i])
			}
			shapes[id], fields[id] = outs[i], of
		}
	}
	return shapes, fields, nil
}

// OutputShapes plans the graph and returns the shape of each graph output.
func (g *Graph) OutputShapes(in ...core.Shape) ([]core.Shape, error) {
	shapes, _, err := g.planAll(nil, in, nn.Field{Size: 1, Jump: 1})
	if err != nil {
		return nil, err
	}
	out := make([]core.Shape, len(g.outputs))
	for i, id := range g.outputs {
		out[i] = shapes[id]
	}
	return out, nil
}

// ActivationElements is the graph's activation memory in float32 values
// for the given input shapes, counted as the zoo's summaries count it: the
// inputs plus every node output with memory of its own, where views
// (reshape, flatten, identity), activations (run in place) and batch norms
// (folded into the convolution before them at load) need none.
func (g *Graph) ActivationElements(in ...core.Shape) (int64, error) {
	shapes, _, err := g.planAll(nil, in, nn.Field{Size: 1, Jump: 1})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range in {
		n += int64(s.Size())
	}
	for _, nd := range g.nodes {
		switch nd.op.(type) {
		case *actOp, batchNormOp:
			continue
		}
		if nd.op.view() {
			continue
		}
		for _, id := range nd.out {
			n += int64(shapes[id].Size())
		}
	}
	return n, nil
}
