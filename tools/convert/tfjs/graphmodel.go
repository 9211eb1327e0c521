package tfjs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"webcnn/core/graph"
	"webcnn/core/weights"
)

// A graph model is translated node by node (in dependency order, whatever
// the file's order) into the runtime's graph IR. TensorFlow graphs are
// already NHWC with HWIO filters, so no layout changes: depthwise filters
// [kh, kw, C, mult] become [kh, kw, 1, C*mult] as for Keras. Const nodes
// become weights when an op reads them as such, and ops whose inputs are
// all constants (shape arithmetic) are folded at import. Values keep their
// static shapes (-1 where only the run time knows the extent, usually the
// batch) for the ops whose translation depends on them (Squeeze,
// StridedSlice, MirrorPad).

// gval is a TF value as the importer holds it: a constant, or a value of
// the graph being built with its static shape.
type gval struct {
	name  string // IR value name ("" for a constant)
	shape []int  // -1: known only at run time
	c     *gconst
}

// gconst is a constant: a Const node's weight, or a folded result.
type gconst struct {
	name  string // the TF node it comes from
	tag   string // a transform of that node's value ("": none)
	shape []int
	data  []float32
}

// graphConv accumulates the translation of one graph model.
type graphConv struct {
	file     string
	ws       map[string]*weightData
	vals     map[string]*gval // TF node name -> its output 0
	spec     graph.Spec
	tensors  []weights.Tensor
	tcache   map[string]string // const name + transform -> tensor name
	reserved map[string]bool   // TF node names
	used     map[string]bool   // IR value and tensor names taken
	producer map[string]int    // IR value -> index of its node in spec.Nodes
	input    weights.Input
	opts     Options
	dynamic  bool // an input's spatial size is left to the run time
}

// tfOp translates one node from its resolved data inputs; it returns the
// node's output 0 (nil for nodes without outputs).
type tfOp func(c *graphConv, n *tfNode, in []*gval) (*gval, error)

// convertGraph translates a graph model.
func convertGraph(file string, mf *modelFile, ws map[string]*weightData, o Options) (*weights.Manifest, []weights.Tensor, error) {
	gd, err := parseGraphDef(mf.ModelTopology)
	if err != nil {
		return nil, nil, fmt.Errorf("tfjs: %s: modelTopology: %w", file, err)
	}
	c := &graphConv{file: file, ws: ws, vals: map[string]*gval{}, tcache: map[string]string{},
		reserved: map[string]bool{}, used: map[string]bool{}, producer: map[string]int{}, opts: o}
	order, err := c.sort(gd.Node)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range order {
		if err := c.node(n); err != nil {
			hint := ""
			if c.dynamic {
				hint = " (the model's input size is dynamic: fix it with the converter's --input-size)"
			}
			return nil, nil, fmt.Errorf("tfjs: %s: node %q (op %s): %w%s", file, n.Name, n.Op, err, hint)
		}
	}
	if err := c.outputs(mf, order); err != nil {
		return nil, nil, err
	}
	if len(c.spec.Inputs) == 0 {
		return nil, nil, fmt.Errorf("tfjs: %s: the graph has no Placeholder input", file)
	}
	c.fuseBias()
	g, err := json.Marshal(c.spec)
	if err != nil {
		return nil, nil, fmt.Errorf("tfjs: %s: %w", file, err)
	}
	m := &weights.Manifest{Format: weights.Version, Model: "tfjs-graph-model", Graph: g, Input: c.input}
	outShapes, err := memory(m, c.tensors)
	if err != nil {
		return nil, nil, err
	}
	inShapes := map[string][]int{}
	for _, v := range c.vals {
		if v != nil && v.c == nil && slices.Contains(c.spec.Inputs, v.name) {
			inShapes[v.name] = v.shape
		}
	}
	setPorts(m, &c.spec, inShapes, outShapes)
	return m, c.tensors, nil
}

// sort checks node names and inputs and returns the nodes in dependency
// order (stable where the file's order already is one); a cycle is an
// error naming a node on it.
func (c *graphConv) sort(nodes []tfNode) ([]*tfNode, error) {
	idx := make(map[string]int, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Name == "" {
			return nil, fmt.Errorf("tfjs: %s: node %d (op %s) has no name", c.file, i, n.Op)
		}
		if _, dup := idx[n.Name]; dup {
			return nil, fmt.Errorf("tfjs: %s: node name %q is used twice", c.file, n.Name)
		}
		idx[n.Name] = i
		c.reserved[n.Name] = true
	}
	deps := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i := range nodes {
		for _, in := range nodes[i].Input {
			name, _, _, err := splitInput(in)
			if err != nil {
				return nil, fmt.Errorf("tfjs: %s: node %q (op %s): %w", c.file, nodes[i].Name, nodes[i].Op, err)
			}
			j, ok := idx[name]
			if !ok {
				return nil, fmt.Errorf("tfjs: %s: node %q (op %s): input %q names no node of the graph", c.file, nodes[i].Name, nodes[i].Op, in)
			}
			deps[i]++
			users[j] = append(users[j], i)
		}
	}
	var queue []int
	for i, d := range deps {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	order := make([]*tfNode, 0, len(nodes))
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, &nodes[i])
		for _, u := range users[i] {
			if deps[u]--; deps[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	if len(order) < len(nodes) {
		for i, d := range deps {
			if d > 0 {
				return nil, fmt.Errorf("tfjs: %s: node %q (op %s) is on a cycle of the graph", c.file, nodes[i].Name, nodes[i].Op)
			}
		}
	}
	return order, nil
}

// node translates one node.
func (c *graphConv) node(n *tfNode) error {
	var in []*gval
	for _, ref := range n.Input {
		name, k, control, _ := splitInput(ref)
		if control {
			continue
		}
		v, ok := c.vals[name]
		if !ok || v == nil {
			return fmt.Errorf("input %q has no value (its node produces none)", ref)
		}
		if k != 0 {
			return fmt.Errorf("input %q: only output 0 of a node is supported (the importer has no op with several outputs)", ref)
		}
		in = append(in, v)
	}
	f, ok := tfOps[n.Op]
	if !ok {
		return fmt.Errorf("op %s is not supported by the TF.js graph-model importer (it supports %s); "+
			"re-export the model without it, or convert the source model to ONNX and import that with --from onnx",
			n.Op, strings.Join(tfOpNames(), ", "))
	}
	v, err := f(c, n, in)
	if err != nil {
		return err
	}
	c.vals[n.Name] = v
	return nil
}

// tfOpNames lists the supported ops, sorted.
func tfOpNames() []string {
	names := make([]string, 0, len(tfOps))
	for k := range tfOps {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// outputs sets the graph outputs: the signature's when the model has one,
// else every node no other node reads (as TF.js's GraphModel does).
func (c *graphConv) outputs(mf *modelFile, order []*tfNode) error {
	var meta struct {
		Signature json.RawMessage `json:"signature"`
	}
	_ = json.Unmarshal(mf.UserDefinedMetadata, &meta) // optional
	var names []string
	for _, sig := range []json.RawMessage{mf.Signature, meta.Signature} {
		if names = signatureOutputs(sig); names != nil {
			break
		}
	}
	if names == nil {
		read := map[string]bool{}
		for _, n := range order {
			for _, in := range n.Input {
				name, _, _, _ := splitInput(in)
				read[name] = true
			}
		}
		for _, n := range order {
			if !read[n.Name] && c.vals[n.Name] != nil && n.Op != "Const" {
				names = append(names, n.Name)
			}
		}
	}
	for _, ref := range names {
		name, k, control, err := splitInput(ref)
		if err != nil || control || k != 0 {
			return fmt.Errorf("tfjs: %s: output %q: want a node's output 0", c.file, ref)
		}
		v := c.vals[name]
		if v == nil {
			return fmt.Errorf("tfjs: %s: output %q is not a value of the graph", c.file, ref)
		}
		if v.c != nil {
			return fmt.Errorf("tfjs: %s: output %q is a constant; the runtime computes outputs from the input", c.file, ref)
		}
		if !slices.Contains(c.spec.Outputs, v.name) {
			c.spec.Outputs = append(c.spec.Outputs, v.name)
		}
	}
	if len(c.spec.Outputs) == 0 {
		return fmt.Errorf("tfjs: %s: the graph has no outputs", c.file)
	}
	return nil
}

// fresh returns an IR name built on base that no TF node, value or tensor uses.
func (c *graphConv) fresh(base string) string {
	name := base
	for k := 2; c.reserved[name] || c.used[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	c.used[name] = true
	return name
}

// emit appends an IR node and returns its output: named after the TF node
// own when that name is still free, else a fresh name built on it.
func (c *graphConv) emit(op, own, suffix string, ins []string, attrs any, shape []int) *gval {
	name := own
	if suffix != "" || c.used[own] {
		name = c.fresh(own + "/" + suffix)
	}
	c.used[name] = true
	c.producer[name] = len(c.spec.Nodes)
	c.spec.Nodes = append(c.spec.Nodes, graph.NewNode(op, name, ins, []string{name}, attrs))
	return &gval{name: name, shape: slices.Clone(shape)}
}

// tensor returns the name of the weight made from constant k by transform
// tag ("": as it is) with the given shape; data computes its values once.
func (c *graphConv) tensor(k *gconst, tag string, shape []int, data func() []float32) string {
	key := k.name + "\x00" + tag
	if name, ok := c.tcache[key]; ok {
		return name
	}
	name := k.name
	if tag != "" || c.used[name] {
		name = c.fresh(k.name + "/" + tag)
	}
	c.used[name] = true
	c.tcache[key] = name
	c.tensors = append(c.tensors, weights.Tensor{Name: name, Shape: slices.Clone(shape), Data: data()})
	return name
}

// operand returns the IR input for v: its value, or its constant as a
// weight (a scalar becomes a [1] tensor).
func (c *graphConv) operand(v *gval) string {
	if v.c == nil {
		return v.name
	}
	shape, tag := v.c.shape, v.c.tag
	if len(shape) == 0 {
		shape, tag = []int{1}, tag+"scalar"
	}
	return c.tensor(v.c, tag, shape, func() []float32 { return v.c.data })
}

// value checks that v is computed from the input, not a constant.
func value(v *gval, what string) error {
	if v.c != nil {
		return fmt.Errorf("%s is the constant %q; the importer needs a value computed from the model input there", what, v.c.name)
	}
	return nil
}

// constant checks that v is a constant.
func constant(v *gval, what string) (*gconst, error) {
	if v.c == nil {
		return nil, fmt.Errorf("%s is computed at run time; the importer needs a constant there", what)
	}
	return v.c, nil
}

// ints returns a constant's values as integers.
func (k *gconst) ints(what string) ([]int, error) {
	out := make([]int, len(k.data))
	for i, f := range k.data {
		if f != float32(int(f)) || f < -maxInt || f > maxInt {
			return nil, fmt.Errorf("%s %q: %v is not an integer in range", what, k.name, f)
		}
		out[i] = int(f)
	}
	return out, nil
}

// arity checks the number of data inputs.
func arity(in []*gval, lo, hi int) error {
	if len(in) < lo || len(in) > hi {
		if lo == hi {
			return fmt.Errorf("%d inputs, want %d", len(in), lo)
		}
		return fmt.Errorf("%d inputs, want %d to %d", len(in), lo, hi)
	}
	return nil
}

// fuseBias folds an add of a [C] weight into the conv or dense node before
// it when that node has no bias and nothing else reads its output (the
// BiasAdd after a plain Conv2D or MatMul).
func (c *graphConv) fuseBias() {
	reads := map[string]int{}
	for _, n := range c.spec.Nodes {
		for _, in := range n.Inputs {
			reads[in]++
		}
	}
	for _, o := range c.spec.Outputs {
		reads[o]++
	}
	shapes := map[string][]int{}
	for _, t := range c.tensors {
		shapes[t.Name] = t.Shape
	}
	dead := map[int]bool{}
	for i, n := range c.spec.Nodes {
		if n.Op != "add" || len(n.Inputs) != 2 {
			continue
		}
		x, b := n.Inputs[0], n.Inputs[1]
		bs, ok := shapes[b]
		pi, ok2 := c.producer[x]
		if !ok || !ok2 || len(bs) != 1 || reads[x] != 1 || dead[pi] {
			continue
		}
		p := &c.spec.Nodes[pi]
		if (p.Op != "conv" && p.Op != "dense") || len(p.Inputs) != 2 {
			continue
		}
		ws := shapes[p.Inputs[1]]
		if len(ws) == 0 || ws[len(ws)-1] != bs[0] {
			continue
		}
		p.Inputs = append(p.Inputs, b)
		p.Outputs = n.Outputs
		c.producer[n.Outputs[0]] = pi
		dead[i] = true
	}
	if len(dead) == 0 {
		return
	}
	nodes := c.spec.Nodes[:0]
	for i, n := range c.spec.Nodes {
		if !dead[i] {
			nodes = append(nodes, n)
		}
	}
	c.spec.Nodes = nodes
	c.producer = map[string]int{}
	for i, n := range c.spec.Nodes {
		for _, o := range n.Outputs {
			c.producer[o] = i
		}
	}
}

// signatureOutputs returns the tensor names of a signature's outputs, in
// the file's order (as TF.js takes them), or nil.
func signatureOutputs(sig json.RawMessage) []string {
	var s struct {
		Outputs json.RawMessage `json:"outputs"`
	}
	if len(sig) == 0 || json.Unmarshal(sig, &s) != nil || len(s.Outputs) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(s.Outputs))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return nil
		}
		var o struct {
			Name string `json:"name"`
		}
		if err := dec.Decode(&o); err != nil {
			return nil
		}
		if o.Name == "" {
			o.Name = key
		}
		names = append(names, o.Name)
	}
	return names
}
