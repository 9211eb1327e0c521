package onnximport

import (
	"fmt"

	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
)

// setConst defines output i of n as a constant.
func (e *importer) setConst(n *onnx.Node, i int, c *constant) error {
	if c.size() > maxFold {
		return fmt.Errorf("%w: folded constant of %d elements", ErrUnsupported, c.size())
	}
	c.name = n.Output[i]
	return e.set(n.Output[i], &value{c: c, dims: c.dims})
}

// set binds an ONNX name to a value.
func (e *importer) set(name string, v *value) error {
	if name == "" {
		return nil
	}
	if _, dup := e.vals[name]; dup || e.bad[name] != nil {
		return fmt.Errorf("value %q is defined twice", name)
	}
	e.vals[name] = v
	return nil
}

// alias defines output 0 of n as v itself (Identity, Dropout, no-op reshapes).
func (e *importer) alias(n *onnx.Node, v *value) error { return e.set(n.Output[0], v) }

// fresh returns an unused name built on base.
func (e *importer) fresh(base string) string {
	if base == "" {
		base = "v"
	}
	name := base
	for k := 1; e.used[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	e.used[name] = true
	return name
}

// emit appends a node whose single output is the ONNX value out (or a
// fresh name when out is "") and returns the value it defines.
func (e *importer) emit(op, base string, in []irIn, attrs any, out string, dims []int64, cl bool) (*value, error) {
	if base == "" {
		base = op
	}
	name := base
	for k := 1; e.nodeNm[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	e.nodeNm[name] = true
	if out == "" {
		out = e.fresh(base + "/" + op)
	} else if e.ours[out] {
		return nil, fmt.Errorf("value %q is defined twice", out)
	}
	e.ours[out] = true
	e.nodes = append(e.nodes, &irNode{op: op, name: name, in: in, out: []string{out}, attrs: attrs})
	v := &value{name: out, dims: dims, cl: cl}
	return v, nil
}

// emitOut emits the node computing output 0 of n and defines it.
func (e *importer) emitOut(n *onnx.Node, op string, in []irIn, attrs any, dims []int64, cl bool) error {
	v, err := e.emit(op, nodeName(n), in, attrs, n.Output[0], dims, cl)
	if err != nil {
		return err
	}
	return e.set(n.Output[0], v)
}

// nodeName is the ONNX node's name, or its first output's.
func nodeName(n *onnx.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Output[0]
}

func vin(v *value) irIn { return irIn{v: v.name} }

// weight returns the runtime weight made from constant c by transform
// tag (cached: a constant used twice the same way is stored once).
func (e *importer) weight(c *constant, tag string, shape []int64, data func() []float32) *wt {
	key := fmt.Sprintf("%p/%s", c, tag)
	if w, ok := e.wcache[key]; ok {
		return w
	}
	s := make([]int, len(shape))
	for i, d := range shape {
		s[i] = int(d)
	}
	w := &wt{name: c.name, shape: s, data: data()}
	e.wcache[key] = w
	return w
}

// memory validates the graph on nn.Shapes and fills the memory plan; it
// returns the outputs' shapes (our layout, batch 1) when the input size
// is known.
func memory(m *weights.Manifest, ts []weights.Tensor) ([][]int, error) {
	shapes := make([]weights.Tensor, len(ts))
	for i, t := range ts {
		shapes[i] = weights.Tensor{Name: t.Name, Shape: t.Shape}
		m.Memory.ParamBytes += 4 * int64(len(t.Data))
	}
	g, err := graph.New(nn.Shapes{}, m.Graph, shapes)
	if err != nil {
		return nil, fmt.Errorf("onnx import: %s: %w", m.Model, err)
	}
	defer g.Free()
	if m.Input.Shape == nil {
		return nil, nil
	}
	n, err := g.ActivationElements(m.Input.Shape)
	if err != nil {
		return nil, fmt.Errorf("onnx import: %s: input %v: %w", m.Model, m.Input.Shape, err)
	}
	m.Memory.ActivationBytes = 4 * n
	outs, err := g.OutputShapes(m.Input.Shape)
	if err != nil {
		return nil, fmt.Errorf("onnx import: %s: input %v: %w", m.Model, m.Input.Shape, err)
	}
	shapesOut := make([][]int, len(outs))
	for i, s := range outs {
		shapesOut[i] = s
	}
	return shapesOut, nil
}

// finish turns the live nodes into a graph.Spec and collects the weights
// they use, named uniquely, in order of first use.
func (e *importer) finish() (*graph.Spec, []weights.Tensor) {
	spec := &graph.Spec{Outputs: e.outs}
	for _, v := range e.inputs {
		spec.Inputs = append(spec.Inputs, v.name)
	}
	seen := map[*wt]bool{}
	wnames := map[string]bool{}
	var ts []weights.Tensor
	for _, n := range e.nodes {
		if n.dead {
			continue
		}
		ins := make([]string, len(n.in))
		for i, in := range n.in {
			if in.w == nil {
				ins[i] = in.v
				continue
			}
			w := in.w
			if !seen[w] {
				seen[w] = true
				if w.name == "" || e.ours[w.name] || wnames[w.name] {
					w.name = e.fresh(w.name)
				}
				wnames[w.name] = true
				ts = append(ts, weights.Tensor{Name: w.name, Shape: w.shape, Data: w.data})
			}
			ins[i] = w.name
		}
		spec.Nodes = append(spec.Nodes, graph.NewNode(n.op, n.name, ins, n.out, n.attrs))
	}
	return spec, ts
}
