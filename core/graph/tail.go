package graph

import (
	"encoding/json"
	"fmt"
	"slices"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// Fine-tuning the last blocks of an imported graph. Graph ops have no
// backward pass, so the graph is split in two at a value every later
// computation goes through: the stem before it stays a (frozen) graph, and
// the tail after it is lowered to nn layers, which are nn.Trainable:
// conv (with its fused bias and activation) becomes nn.Conv, act
// nn.Activation, global_avg_pool and flatten theirs, and an add of the
// running value and a value the tail computed earlier becomes an
// nn.Residual around the layers between them (MobileNetV2's inverted
// residuals). Any other op in the tail is refused, naming the node.

// TailSplit is a feature graph split before its last blocks.
type TailSplit struct {
	Stem   *Spec  // the frozen part: the graph's input -> At
	At     string // the value between stem and tail
	Tail   []Node // the trainable part, in order: At -> the graph's output
	Blocks int    // how many blocks the tail holds
}

// Boundaries lists, last first, the values after which g (one input, one
// output, fused: run Fuse first so that batch norms are inside the convs)
// may be split: values that every later node reaches only through them
// (nothing computed before is read after), produced by an add or by a
// conv without activation (the linear end of a bottleneck block). The
// tail after Boundaries()[k-1] holds the last k blocks.
func (g *Spec) Boundaries() []string {
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return nil
	}
	lastRead := map[string]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			lastRead[in] = i
		}
	}
	for _, o := range g.Outputs {
		lastRead[o] = len(g.Nodes)
	}
	var out []string
	produced := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			produced[o] = i
		}
		if len(n.Outputs) != 1 || i == len(g.Nodes)-1 {
			continue
		}
		v := n.Outputs[0]
		single := true
		for name, at := range produced {
			if name != v && lastRead[name] > i && at <= i {
				single = false
				break
			}
		}
		if single && (n.Op == "add" || (n.Op == "conv" && !hasAct(n))) {
			out = append(out, v)
		}
	}
	slices.Reverse(out)
	return out
}

func hasAct(n Node) bool {
	var a ConvAttrs
	if json.Unmarshal(n.Attrs, &a) != nil {
		return true
	}
	return a.Act != nil && a.Act.Op != ""
}

// SplitTail splits g before its last blocks blocks (see Boundaries).
func (g *Spec) SplitTail(blocks int) (*TailSplit, error) {
	bs := g.Boundaries()
	if blocks < 1 || blocks > len(bs) {
		return nil, fmt.Errorf("%w: %d blocks to train: the graph can be split before its last 1 to %d", ErrInvalid, blocks, len(bs))
	}
	at := bs[blocks-1]
	s := &TailSplit{At: at, Blocks: blocks, Stem: &Spec{Inputs: g.Inputs, Outputs: []string{at}}}
	for i, n := range g.Nodes {
		if n.Outputs[0] == at && len(n.Outputs) == 1 {
			s.Stem.Nodes = append([]Node(nil), g.Nodes[:i+1]...)
			s.Tail = append([]Node(nil), g.Nodes[i+1:]...)
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: value %q is not a node's output", ErrInvalid, at)
}

// Need returns the tensors a list of nodes reads, among names.
func Need(nodes []Node, tensors []weights.Tensor) []weights.Tensor {
	reads := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			reads[in] = true
		}
	}
	var out []weights.Tensor
	for _, t := range tensors {
		if reads[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// TailLayer lowers the tail's nodes to trainable nn layers on b, with
// copies of their tensors (the graph's own stay untouched; a tensor
// without data gets memory without values, for planning on nn.Shapes). Parameters
// are named after the nodes: "<conv>.weight", "<conv>.bias", and inside
// a residual "<add>.<conv>.weight".
func (s *TailSplit) TailLayer(b core.Backend, tensors []weights.Tensor) (nn.Sequential, error) {
	byName := map[string]weights.Tensor{}
	for _, t := range tensors {
		byName[t.Name] = t
	}
	var layers nn.Sequential
	var made []*core.Tensor
	fail := func(err error) (nn.Sequential, error) {
		for _, t := range made {
			t.Free()
		}
		return nil, err
	}
	pos := map[string]int{s.At: 0} // value -> layers before it
	cur := s.At
	for _, n := range s.Tail {
		bad := func(format string, args ...any) (nn.Sequential, error) {
			return fail(fmt.Errorf("%w: node %q (%s) cannot be trained: %s", ErrInvalid, n.Name, n.Op, fmt.Sprintf(format, args...)))
		}
		if len(n.Outputs) != 1 {
			return bad("%d outputs", len(n.Outputs))
		}
		if n.Op != "add" && (len(n.Inputs) == 0 || n.Inputs[0] != cur) {
			return bad("it does not read the running value %q", cur)
		}
		var l nn.Layer
		switch n.Op {
		case "conv":
			var a ConvAttrs
			if err := strict(n.Attrs, &a); err != nil {
				return bad("%v", err)
			}
			act, err := a.Act.Unary()
			if err != nil {
				return bad("%v", err)
			}
			if a.Pad == "same_lower" {
				return bad("pad same_lower")
			}
			c := &nn.Conv{P: core.Conv{Stride: a.Stride, Dilation: a.Dilation, PadBefore: a.PadBefore, PadAfter: a.PadAfter, Groups: a.Groups, Act: act}, Same: a.Pad == "same"}
			for j, in := range n.Inputs[1:] {
				t, ok := byName[in]
				if !ok {
					return bad("input %q is not a weight", in)
				}
				var x *core.Tensor
				var err error
				if t.Data == nil { // planning on shapes
					x, err = core.New(b, core.Shape(t.Shape))
				} else {
					x, err = core.FromData(b, core.Shape(t.Shape), t.Data)
				}
				if err != nil {
					return fail(err)
				}
				made = append(made, x)
				if j == 0 {
					c.W = x
				} else {
					c.B = x
				}
			}
			if c.W == nil {
				return bad("no weights")
			}
			l = c
		case "act":
			var a Act
			if err := json.Unmarshal(n.Attrs, &a); err != nil {
				return bad("%v", err)
			}
			u, err := a.Unary()
			if err != nil {
				return bad("%v", err)
			}
			l = &nn.Activation{F: u}
		case "global_avg_pool":
			l = nn.GlobalAvgPool{}
		case "flatten":
			l = nn.Flatten{}
		case "add":
			if len(n.Inputs) != 2 {
				return bad("%d inputs", len(n.Inputs))
			}
			other := n.Inputs[0]
			if other == cur {
				other = n.Inputs[1]
			} else if n.Inputs[1] != cur {
				return bad("it does not read the running value %q", cur)
			}
			from, ok := pos[other]
			if !ok || other == cur {
				return bad("%q is not a value of the tail", other)
			}
			body := append(nn.Sequential(nil), layers[from:]...)
			layers = append(layers[:from], nn.N(n.Name, &nn.Residual{Body: body}))
			for v, p := range pos {
				if p > from { // inside the residual now
					delete(pos, v)
				}
			}
			cur = n.Outputs[0]
			pos[cur] = len(layers)
			continue
		default:
			return bad("no gradient for this op")
		}
		layers = append(layers, nn.N(n.Name, l))
		cur = n.Outputs[0]
		pos[cur] = len(layers)
	}
	return layers, nil
}
