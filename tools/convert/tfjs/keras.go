package tfjs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// kerasModel is a Keras model config: {"class_name": ..., "config": ...}.
type kerasModel struct {
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
}

// functionalConfig is the config of a Functional (Model) network.
type functionalConfig struct {
	Name         string          `json:"name"`
	Layers       []kerasLayer    `json:"layers"`
	InputLayers  json.RawMessage `json:"input_layers"`
	OutputLayers json.RawMessage `json:"output_layers"`
}

// kerasLayer is one layer of a config.
type kerasLayer struct {
	ClassName    string                     `json:"class_name"`
	Name         string                     `json:"name"`
	Config       map[string]json.RawMessage `json:"config"`
	InboundNodes json.RawMessage            `json:"inbound_nodes"`
}

// convert translates a parsed model file and its weights.
func convert(mf *modelFile, ws map[string]*weightData) (*weights.Manifest, []weights.Tensor, error) {
	var top struct {
		KerasVersion string          `json:"keras_version"`
		ModelConfig  *kerasModel     `json:"model_config"`
		ClassName    string          `json:"class_name"`
		Config       json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(mf.ModelTopology, &top); err != nil {
		return nil, nil, fmt.Errorf("tfjs: modelTopology: %w", err)
	}
	km := top.ModelConfig
	if km == nil {
		km = &kerasModel{ClassName: top.ClassName, Config: top.Config}
	}
	c := &converter{ws: ws, names: map[string]string{}, rank: map[string]int{}, shapes: map[string][]int{}, used: map[string]bool{}, nodeNames: map[string]bool{}}
	var name string
	var err error
	switch km.ClassName {
	case "Model", "Functional":
		name, err = c.functional(km.Config)
	case "Sequential":
		name, err = c.sequential(km.Config)
	default:
		return nil, nil, fmt.Errorf("%w: model class %q (want Functional, Model or Sequential)", ErrFormat, km.ClassName)
	}
	if err != nil {
		return nil, nil, err
	}
	g, err := json.Marshal(c.spec)
	if err != nil {
		return nil, nil, fmt.Errorf("tfjs: %w", err)
	}
	if name == "" {
		name = "tfjs-model"
	}
	m := &weights.Manifest{Format: weights.Version, Model: name, Graph: g, Input: c.input}
	outShapes, err := memory(m, c.tensors)
	if err != nil {
		return nil, nil, err
	}
	setPorts(m, &c.spec, c.shapes, outShapes)
	return m, c.tensors, nil
}

// setPorts describes the graph's inputs and outputs in the manifest:
// TF.js values are channels-last like the runtime's, so no axis moves; the
// batch is -1. inShapes are the inputs' shapes (-1: unknown), outShapes
// the outputs' at batch 1 (nil: the input size is unknown). Each output's
// kind comes from models.OutputKind (nsfwjs's models end in a softmax:
// probabilities).
func setPorts(m *weights.Manifest, spec *graph.Spec, inShapes map[string][]int, outShapes [][]int) {
	for _, in := range spec.Inputs {
		s := inShapes[in]
		m.Inputs = append(m.Inputs, weights.Port{Name: in, Shape: s, Layout: weights.LayoutName(len(s), false)})
	}
	for i, out := range spec.Outputs {
		var s, batch1 []int
		if outShapes != nil {
			s = append([]int{-1}, outShapes[i][1:]...)
			batch1 = append([]int{1}, s[1:]...)
		}
		m.Outputs = append(m.Outputs, weights.Port{Name: out, Kind: models.OutputKind(spec, i, batch1), Shape: s, Layout: weights.LayoutName(len(s), false)})
	}
	m.Output = m.Outputs[0].Kind
}

// memory validates the graph and fills the manifest's memory plan: the
// parameters as float32 and, when the input size is known, the activations
// of one forward pass (planned without running, on nn.Shapes). It returns
// the outputs' shapes at batch 1 when the input size is known.
func memory(m *weights.Manifest, ts []weights.Tensor) ([][]int, error) {
	shapes := make([]weights.Tensor, len(ts))
	for i, t := range ts {
		shapes[i] = weights.Tensor{Name: t.Name, Shape: t.Shape}
		m.Memory.ParamBytes += 4 * int64(len(t.Data))
	}
	g, err := graph.New(nn.Shapes{}, m.Graph, shapes)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w", m.Model, err)
	}
	defer g.Free()
	if m.Input.Shape == nil || len(g.Inputs()) != 1 {
		return nil, nil
	}
	n, err := g.ActivationElements(m.Input.Shape)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %s: input %v: %w", m.Model, m.Input.Shape, err)
	}
	m.Memory.ActivationBytes = 4 * n
	outs, err := g.OutputShapes(m.Input.Shape)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %s: input %v: %w", m.Model, m.Input.Shape, err)
	}
	shapesOut := make([][]int, len(outs))
	for i, s := range outs {
		shapesOut[i] = s
	}
	return shapesOut, nil
}

// converter accumulates the graph.
type converter struct {
	ws        map[string]*weightData
	spec      graph.Spec
	tensors   []weights.Tensor
	used      map[string]bool   // tensor names emitted
	names     map[string]string // Keras tensor "layer:node:tensor" -> graph value
	rank      map[string]int    // graph value -> rank (0: unknown)
	shapes    map[string][]int  // graph input -> batch_input_shape (-1: null)
	nodeNames map[string]bool
	input     weights.Input
}

// key names the output tensor t of call n of a layer.
func key(layer string, n, t int) string { return fmt.Sprintf("%s:%d:%d", layer, n, t) }

// tensorRef is one [layer, node, tensor] entry.
type tensorRef struct {
	Layer        string
	Node, Tensor int
}

// parseRef reads ["layer", node, tensor, ...].
func parseRef(raw json.RawMessage) (tensorRef, error) {
	var a []any
	if err := json.Unmarshal(raw, &a); err != nil || len(a) < 3 {
		return tensorRef{}, fmt.Errorf("tensor reference %s: want [layer, node, tensor]", clip(raw))
	}
	name, ok := a[0].(string)
	n, ok2 := a[1].(float64)
	t, ok3 := a[2].(float64)
	if !ok || !ok2 || !ok3 || n < 0 || t < 0 || n > 1e6 || t > 1e6 {
		return tensorRef{}, fmt.Errorf("tensor reference %s: want [layer, node, tensor]", clip(raw))
	}
	return tensorRef{name, int(n), int(t)}, nil
}

// parseRefs reads a list of references, or a single one.
func parseRefs(raw json.RawMessage) ([]tensorRef, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("tensor references %s: %w", clip(raw), err)
	}
	if len(list) > 0 && strings.HasPrefix(strings.TrimSpace(string(list[0])), `"`) {
		r, err := parseRef(raw) // Keras 3 writes a single input as [name, 0, 0]
		return []tensorRef{r}, err
	}
	out := make([]tensorRef, len(list))
	for i, l := range list {
		r, err := parseRef(l)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// inboundCalls returns the inputs of each call of a layer, from Keras 2's
// [[[layer, node, tensor, kwargs], ...], ...] or Keras 3's
// [{"args": [...keras_history...], "kwargs": {...}}].
func inboundCalls(raw json.RawMessage) ([][]tensorRef, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var calls []json.RawMessage
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, fmt.Errorf("inbound_nodes: %w", err)
	}
	out := make([][]tensorRef, len(calls))
	for i, call := range calls {
		if s := strings.TrimSpace(string(call)); strings.HasPrefix(s, "{") {
			var v any
			if err := json.Unmarshal(call, &v); err != nil {
				return nil, fmt.Errorf("inbound_nodes: %w", err)
			}
			refs, err := kerasHistory(v, 0)
			if err != nil {
				return nil, err
			}
			out[i] = refs
			continue
		}
		var refs []json.RawMessage
		if err := json.Unmarshal(call, &refs); err != nil {
			return nil, fmt.Errorf("inbound_nodes: %w", err)
		}
		for _, r := range refs {
			ref, err := parseRef(r)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], ref)
		}
	}
	return out, nil
}

// kerasHistory collects the keras_history references under a Keras 3 call
// (its "args" only: kwargs hold options, not inputs).
func kerasHistory(v any, depth int) ([]tensorRef, error) {
	if depth > 50 {
		return nil, fmt.Errorf("inbound_nodes nested too deep")
	}
	switch t := v.(type) {
	case map[string]any:
		if depth == 0 {
			return kerasHistory(t["args"], depth+1)
		}
		if cfg, ok := t["config"].(map[string]any); ok {
			if h, ok := cfg["keras_history"]; ok {
				b, _ := json.Marshal(h)
				r, err := parseRef(b)
				if err != nil {
					return nil, err
				}
				return []tensorRef{r}, nil
			}
		}
	case []any:
		var out []tensorRef
		for _, e := range t {
			r, err := kerasHistory(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, r...)
		}
		return out, nil
	}
	return nil, nil
}

// call is one application of a layer to its inputs.
type call struct {
	l  *layer
	n  int // which call of the layer
	in []tensorRef
}

// functional translates a Functional config.
func (c *converter) functional(raw json.RawMessage) (string, error) {
	var cfg functionalConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("tfjs: model config: %w", err)
	}
	inputs, err := parseRefs(cfg.InputLayers)
	if err != nil {
		return "", fmt.Errorf("tfjs: input_layers: %w", err)
	}
	outputs, err := parseRefs(cfg.OutputLayers)
	if err != nil {
		return "", fmt.Errorf("tfjs: output_layers: %w", err)
	}
	var pending []call
	seen := map[string]bool{}
	for i := range cfg.Layers {
		kl := &cfg.Layers[i]
		l, err := newLayer(kl)
		if err != nil {
			return "", err
		}
		if seen[l.name] {
			return "", fmt.Errorf("tfjs: layer name %q used twice", l.name)
		}
		seen[l.name] = true
		if l.class == "InputLayer" {
			if err := c.inputLayer(l); err != nil {
				return "", err
			}
			continue
		}
		calls, err := inboundCalls(kl.InboundNodes)
		if err != nil {
			return "", fmt.Errorf("tfjs: layer %q: %w", l.name, err)
		}
		for n, in := range calls {
			pending = append(pending, call{l: l, n: n, in: in})
		}
	}
	for _, r := range inputs {
		if _, ok := c.names[key(r.Layer, r.Node, r.Tensor)]; !ok {
			return "", fmt.Errorf("tfjs: model input %q is not an InputLayer", r.Layer)
		}
	}
	// Translate calls as their inputs become available (Keras lists layers
	// in a valid order, but shared layers may be called later on).
	for len(pending) > 0 {
		progress := false
		rest := pending[:0]
		for _, cl := range pending {
			ins, ok := c.resolve(cl.in)
			if !ok {
				rest = append(rest, cl)
				continue
			}
			out := cl.l.name
			if cl.n > 0 {
				out = fmt.Sprintf("%s#%d", cl.l.name, cl.n)
			}
			v, err := c.layer(cl.l, ins, out)
			if err != nil {
				return "", err
			}
			c.names[key(cl.l.name, cl.n, 0)] = v
			progress = true
		}
		pending = rest
		if !progress {
			var miss []string
			for _, cl := range pending {
				miss = append(miss, cl.l.name)
			}
			return "", fmt.Errorf("tfjs: layers %v read tensors no layer produces", miss)
		}
	}
	for _, r := range outputs {
		v, ok := c.names[key(r.Layer, r.Node, r.Tensor)]
		if !ok {
			return "", fmt.Errorf("tfjs: model output %q:%d:%d is not produced", r.Layer, r.Node, r.Tensor)
		}
		c.spec.Outputs = append(c.spec.Outputs, v)
	}
	if len(c.spec.Outputs) == 0 {
		return "", fmt.Errorf("tfjs: the model has no outputs")
	}
	return cfg.Name, nil
}

// resolve maps Keras tensor references to graph values.
func (c *converter) resolve(refs []tensorRef) ([]string, bool) {
	ins := make([]string, len(refs))
	for i, r := range refs {
		v, ok := c.names[key(r.Layer, r.Node, r.Tensor)]
		if !ok {
			return nil, false
		}
		ins[i] = v
	}
	return ins, true
}

// sequential translates a Sequential config: a list of layers, or
// {"name": ..., "layers": [...]}.
func (c *converter) sequential(raw json.RawMessage) (string, error) {
	var cfg struct {
		Name   string       `json:"name"`
		Layers []kerasLayer `json:"layers"`
	}
	if err := json.Unmarshal(raw, &cfg.Layers); err != nil {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return "", fmt.Errorf("tfjs: sequential config: %w", err)
		}
	}
	if len(cfg.Layers) == 0 {
		return "", fmt.Errorf("tfjs: sequential model without layers")
	}
	x := ""
	for i := range cfg.Layers {
		l, err := newLayer(&cfg.Layers[i])
		if err != nil {
			return "", err
		}
		if i == 0 {
			in := l
			if l.class != "InputLayer" {
				in = &layer{class: "InputLayer", name: "input", cfg: l.cfg}
			}
			if err := c.inputLayer(in); err != nil {
				return "", err
			}
			x = in.name
			if l.class == "InputLayer" {
				continue
			}
		}
		if x, err = c.layer(l, []string{x}, l.name); err != nil {
			return "", err
		}
	}
	c.spec.Outputs = []string{x}
	return cfg.Name, nil
}

// inputLayer declares a graph input from batch_input_shape (or
// batch_shape, Keras 3) and takes the first image-like one as the input spec.
func (c *converter) inputLayer(l *layer) error {
	var shape []*int
	for _, k := range []string{"batch_input_shape", "batch_shape"} {
		if raw, ok := l.cfg[k]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &shape); err != nil {
				return fmt.Errorf("tfjs: input layer %q: %s: %w", l.name, k, err)
			}
			break
		}
	}
	if len(shape) == 0 {
		return fmt.Errorf("tfjs: input layer %q has no batch_input_shape", l.name)
	}
	if _, ok := c.rank[l.name]; ok {
		return fmt.Errorf("tfjs: input %q declared twice", l.name)
	}
	c.spec.Inputs = append(c.spec.Inputs, l.name)
	c.names[key(l.name, 0, 0)] = l.name
	c.rank[l.name] = len(shape)
	for _, d := range shape {
		if d == nil || *d <= 0 {
			c.shapes[l.name] = append(c.shapes[l.name], -1)
		} else {
			c.shapes[l.name] = append(c.shapes[l.name], *d)
		}
	}
	if c.input.Shape == nil && len(shape) == 4 {
		s := []int{1}
		for _, d := range shape[1:] {
			if d == nil || *d <= 0 {
				return nil // spatial size decided at run time: no input spec
			}
			s = append(s, *d)
		}
		order := "RGB"
		if s[3] == 1 {
			order = "GRAY"
		}
		c.input = weights.Input{Shape: s, ChannelOrder: order, Scale: 1}
	}
	return nil
}

// emit appends a node with a unique name derived from name.
func (c *converter) emit(op, name string, ins []string, out string, attrs any) {
	n := name
	for i := 2; c.nodeNames[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	c.nodeNames[n] = true
	c.spec.Nodes = append(c.spec.Nodes, graph.NewNode(op, n, ins, []string{out}, attrs))
}

// tensor adds a weight to the output once (with the runtime's shape) and
// returns its name.
func (c *converter) tensor(name string, shape []int, data []float32) string {
	if !c.used[name] {
		c.used[name] = true
		c.tensors = append(c.tensors, weights.Tensor{Name: name, Shape: shape, Data: data})
	}
	return name
}

// weight finds a layer's weight by its TF.js name "<layer>/<suffix>" (or a
// scoped ".../<layer>/<suffix>", with or without ":0").
func (c *converter) weight(l *layer, suffix string) (*weightData, error) {
	want := l.name + "/" + suffix
	for _, n := range []string{want, want + ":0"} {
		if w, ok := c.ws[n]; ok {
			return w, nil
		}
	}
	var found []string
	for n := range c.ws {
		if strings.HasSuffix(strings.TrimSuffix(n, ":0"), "/"+want) {
			found = append(found, n)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		return c.ws[found[0]], nil
	case 0:
		return nil, fmt.Errorf("tfjs: layer %q (%s): weight %q is not in the weights manifest", l.name, l.class, want)
	}
	return nil, fmt.Errorf("tfjs: layer %q (%s): weight %q is ambiguous: %v", l.name, l.class, want, found)
}

// clip shortens raw JSON for an error message.
func clip(raw []byte) string {
	if len(raw) > 60 {
		return string(raw[:60]) + "..."
	}
	return string(raw)
}
