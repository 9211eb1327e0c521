// Package onnximport translates an ONNX model into the runtime's graph IR
// (graph.Spec) and weights, converting layouts at import so that the
// executor never transposes implicitly:
//
//   - activations of rank 3 and more are held channels-last (NCHW -> NHWC),
//     so Conv, pooling, BatchNormalization and channel-wise arithmetic run
//     natively; a value is turned back to ONNX order (an explicit transpose,
//     or a free reshape when the memory order is the same, e.g. [N,C,1,1])
//     only where ONNX semantics depend on it: Reshape, Flatten, Squeeze,
//     Unsqueeze, MatMul and Gemm on data that is not channels-last;
//   - Conv weights [O, I/g, kh, kw] become [kh, kw, I/g, O] (HWIO), Gemm's
//     B (transB, alpha) and MatMul's B become dense [In, Out] weights;
//   - constants combined with activations (Add, Mul...) have their axes
//     reordered to the activation's layout and their leading 1s dropped
//     (a conv bias [C,1,1] becomes [C]); scalar constants become an affine
//     activation.
//
// Weights are the graph's initializers and the values of Constant nodes,
// named by their ONNX names. Shape arithmetic on constants and on Shape's
// result (Shape, Cast, Slice, Concat, Gather, Unsqueeze, Squeeze, Reshape,
// arithmetic) is folded at import; the batch (axis 0 of the input) stays
// symbolic, so a model exported at batch 1 runs at any batch: a Reshape
// whose target starts with the batch extent 1 keeps the batch instead.
//
// After translation, convolutions and dense layers absorb what follows
// them when nothing else reads their output: BatchNormalization (folded
// into weights and bias), Add of a per-channel constant (bias), an affine
// activation (folded), then one activation (fused). The ONNX pattern of
// hard swish, x * Clip(x + 3, 0, 6) / 6, becomes one hard_swish.
//
// Graph inputs are float (double and float16 inputs are computed in
// float32; integer inputs must be initializers); a rank-4 input is an
// image fed NHWC (an ONNX input that is already NHWC, as TF exports have,
// is detected by its channel axis and kept). Graph outputs of rank 3 and
// more stay channels-last, the runtime's layout. Options.ONNXLayout keeps
// every input and output in ONNX's order instead, as ONNX's backend test
// suite compares them (suite_test.go).
//
// Supported ops are listed by Ops; any other op, a non-default domain, or
// an attribute the runtime cannot honour is an error naming the node and
// its op type. Malformed protobuf or graphs are errors, never panics.
// Presets complete the preprocessing and labels of known models (mnist-8,
// paddleocr-cls), which ONNX files do not record.
package onnximport

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"webcnn/core/weights"
	"webcnn/tools/convert/onnx"
)

// ErrUnsupported reports an op or attribute the importer cannot translate.
var ErrUnsupported = errors.New("onnx import: unsupported")

// Options configure ImportWith.
type Options struct {
	// Name is the manifest's model id ("": the graph's name, or "onnx-model").
	Name string
	// Height and Width give the input's spatial size where the graph
	// leaves it dynamic (0: keep the graph's; the manifest then has no
	// input shape when the graph's is dynamic).
	Height, Width int
	// ONNXLayout keeps every graph input and output in ONNX's axis order
	// (NCHW for images): the graph transposes at its boundaries instead
	// of taking and giving the runtime's NHWC. Conformance tests compare
	// tensors in the file's own layout this way.
	ONNXLayout bool
	// StaticShapes takes every input extent as the file declares it,
	// the batch included (by default axis 0 of an input is a batch of
	// any size).
	StaticShapes bool
}

// Import translates an ONNX model (the bytes of a .onnx file) into a
// manifest (graph, input spec, output kind; no labels) and its tensors in
// the runtime's layouts, ready for weights.WriteModel. The input spec is
// the graph input's size in NHWC, GRAY for one channel and RGB for three,
// pixels unscaled (0..255): ONNX files do not record their preprocessing,
// so callers set Scale, Offset, Mean and Std (see Presets). The
// manifest's Inputs and Outputs name the graph's values in ONNX's terms
// (shapes in ONNX order and the permutation to the runtime's), and each
// output's kind is models.OutputKind's: probabilities when the graph ends
// in Softmax, a map for outputs with spatial extents, else logits.
func Import(model []byte, name string) (*weights.Manifest, []weights.Tensor, error) {
	return ImportWith(model, Options{Name: name})
}

// ImportWith is Import with options.
func ImportWith(model []byte, o Options) (*weights.Manifest, []weights.Tensor, error) {
	var m onnx.Model
	if err := m.Unmarshal(model); err != nil {
		return nil, nil, fmt.Errorf("onnx import: %w", err)
	}
	return ImportModel(&m, o)
}

// ImportModel is ImportWith on a decoded model.
func ImportModel(m *onnx.Model, o Options) (*weights.Manifest, []weights.Tensor, error) {
	if m.Graph == nil {
		return nil, nil, fmt.Errorf("onnx import: the model has no graph")
	}
	e, err := newImporter(m, o)
	if err != nil {
		return nil, nil, err
	}
	if err := e.translate(); err != nil {
		return nil, nil, err
	}
	e.fuse()
	spec, ts := e.finish()
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx import: %w", err)
	}
	name := o.Name
	if name == "" {
		name = m.Graph.Name
	}
	if name == "" {
		name = "onnx-model"
	}
	man := &weights.Manifest{Format: weights.Version, Model: name, Graph: raw, Input: e.inputSpec()}
	outShapes, err := memory(man, ts)
	if err != nil {
		return nil, nil, err
	}
	e.ports(man, spec, outShapes)
	return man, ts, nil
}

// value is an ONNX value as the importer holds it: a constant, or an
// activation of the graph being built (name) with its ONNX dims and
// whether it is held channels-last (our tensor is the ONNX tensor with
// axes permuted by toLast).
type value struct {
	name string
	c    *constant
	dims []int64
	cl   bool
}

// ours returns the dims of the tensor the runtime holds.
func (v *value) ours() []int64 {
	if v.cl {
		return permuteDims(v.dims, toLast(len(v.dims)))
	}
	return v.dims
}

// layout returns the permutation L with ours = permute(onnx, L).
func (v *value) layout() []int {
	if v.cl {
		return toLast(len(v.dims))
	}
	return identity(len(v.dims))
}

// ourAxis maps an ONNX axis of v to the runtime's axis.
func (v *value) ourAxis(a int) int {
	return slices.Index(v.layout(), a)
}

func identity(r int) []int {
	p := make([]int, r)
	for i := range p {
		p[i] = i
	}
	return p
}

// irNode is a node of the graph being built; its inputs are values or
// weights, its attrs one of models' *Attrs types (or graph.Act).
type irNode struct {
	op, name string
	in       []irIn
	out      []string
	attrs    any
	dead     bool
}

type irIn struct {
	v string // a value, or
	w *wt    // a weight
}

// wt is a weight tensor in the runtime's layout.
type wt struct {
	name  string
	shape []int
	data  []float32
}

// importer holds the translation's state.
type importer struct {
	g      *onnx.Graph
	opset  int64
	vals   map[string]*value // by ONNX name
	bad    map[string]error  // constants that failed to decode
	nodes  []*irNode
	used   map[string]bool // every name taken: ONNX names and ours
	nodeNm map[string]bool // node names taken
	ours   map[string]bool // our value names
	conv   map[string]*value
	wcache map[string]*wt
	input  *value   // the first graph input
	inputs []*value // every graph input, in order
	outs   []string
	o      Options
}

func newImporter(m *onnx.Model, o Options) (*importer, error) {
	e := &importer{g: m.Graph, vals: map[string]*value{}, bad: map[string]error{}, used: map[string]bool{},
		nodeNm: map[string]bool{}, ours: map[string]bool{}, conv: map[string]*value{}, wcache: map[string]*wt{}, o: o}
	e.opset = -1
	for _, s := range m.OpsetImport {
		if s.Domain == "" || s.Domain == "ai.onnx" {
			e.opset = s.Version
		}
	}
	if e.opset < 0 {
		if len(m.OpsetImport) > 0 {
			return nil, fmt.Errorf("%w: no default (ai.onnx) opset is imported", ErrUnsupported)
		}
		e.opset = 1 // IR 1-2 files predate opset_import
	}
	g := m.Graph
	for _, n := range g.Node {
		for _, s := range append(append([]string{}, n.Input...), n.Output...) {
			e.used[s] = true
		}
	}
	for _, t := range g.Initializer {
		if t == nil {
			continue
		}
		e.used[t.Name] = true
		c, err := decodeTensor(t)
		if err != nil {
			e.bad[t.Name] = err
			continue
		}
		e.vals[t.Name] = &value{c: c, dims: c.dims}
	}
	var inputs []*onnx.ValueInfo
	for _, vi := range g.Input {
		if vi == nil {
			continue
		}
		e.used[vi.Name] = true
		if _, init := e.vals[vi.Name]; init || e.bad[vi.Name] != nil {
			continue // IR < 4: initializers are listed as inputs too
		}
		inputs = append(inputs, vi)
	}
	for _, vi := range g.Output {
		if vi != nil {
			e.used[vi.Name] = true
		}
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: the graph has no input (every value is a constant)", ErrUnsupported)
	}
	for _, vi := range inputs {
		if err := e.setInput(vi); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// setInput declares a graph input. A rank-4 input is an image: NCHW
// unless its axis 1 cannot be channels while axis 3 can (then it is
// already NHWC); either way the runtime feeds NHWC, unless ONNXLayout
// keeps ONNX's order. Inputs take float values; integer inputs must be
// constants (initializers).
func (e *importer) setInput(vi *onnx.ValueInfo) error {
	if vi.Name == "" {
		return fmt.Errorf("onnx import: a graph input has no name")
	}
	if vi.Type == nil || vi.Type.Tensor == nil || vi.Type.Tensor.Shape == nil {
		return fmt.Errorf("%w: input %q has no tensor type with a known rank", ErrUnsupported, vi.Name)
	}
	switch t := vi.Type.Tensor.ElemType; t {
	case onnx.Float, onnx.Double, onnx.Float16: // computed in float32
	default:
		return fmt.Errorf("%w: input %q has element type %d (want FLOAT, DOUBLE or FLOAT16, computed in float32; integer inputs must be initializers)", ErrUnsupported, vi.Name, t)
	}
	ds := vi.Type.Tensor.Shape.Dim
	lo := 2
	if e.o.StaticShapes {
		lo = 1
	}
	if len(ds) < lo || len(ds) > 6 {
		return fmt.Errorf("%w: input %q has rank %d (want %d to 6: batch first)", ErrUnsupported, vi.Name, len(ds), lo)
	}
	dims := make([]int64, len(ds))
	for i, d := range ds {
		switch {
		case i == 0 && !e.o.StaticShapes:
			dims[i] = dimBatch
		case d.Value > 0 && d.Param == "" && d.Value <= 1<<30:
			dims[i] = d.Value
		case e.o.StaticShapes:
			return fmt.Errorf("%w: input %q has a dynamic extent on axis %d", ErrUnsupported, vi.Name, i)
		default:
			dims[i] = dimUnknown
		}
	}
	v := &value{name: vi.Name, dims: dims}
	if len(dims) == 4 && !e.o.ONNXLayout {
		v.cl = true
		if !channels(dims[1]) && channels(dims[3]) {
			v.cl = false
		}
		// Fill a dynamic height and width from the options.
		h, w := 2, 3
		if !v.cl {
			h, w = 1, 2
		}
		if dims[h] == dimUnknown && e.o.Height > 0 {
			dims[h] = int64(e.o.Height)
		}
		if dims[w] == dimUnknown && e.o.Width > 0 {
			dims[w] = int64(e.o.Width)
		}
	}
	if e.input == nil {
		e.input = v
	}
	e.inputs = append(e.inputs, v)
	e.vals[vi.Name] = v
	e.ours[vi.Name] = true
	return nil
}

// sizeHint says how to fix the input's extents left unknown at import
// ("" when every extent but the batch is known).
func (e *importer) sizeHint() string {
	if !slicesContainsUnknown(e.input.dims[1:]) {
		return ""
	}
	return fmt.Sprintf("the input %q is %s with extents unknown at import: give its height and width with --input-size HxW (onnximport.Options Height and Width)", e.input.name, showDims(e.input.dims))
}

func slicesContainsUnknown(dims []int64) bool {
	for _, d := range dims {
		if d < 0 {
			return true
		}
	}
	return false
}

func channels(d int64) bool { return d == 1 || d == 3 || d == 4 }

// inputSpec describes the (first) input in NHWC at batch 1 (no shape
// when an extent is dynamic or the graph has several inputs).
func (e *importer) inputSpec() weights.Input {
	in := weights.Input{Scale: 1}
	ours := e.input.ours()
	in.Shape = []int{1}
	if e.o.StaticShapes && ours[0] > 0 {
		in.Shape[0] = int(ours[0])
	}
	if len(e.inputs) > 1 {
		in.Shape = nil
	}
	for _, d := range ours[1:] {
		if in.Shape == nil {
			break
		}
		if d <= 0 {
			in.Shape = nil
			break
		}
		in.Shape = append(in.Shape, int(d))
	}
	if len(ours) == 4 {
		switch ours[3] {
		case 1:
			in.ChannelOrder = "GRAY"
		case 3:
			in.ChannelOrder = "RGB"
		}
	}
	return in
}

// translate walks the nodes in a topological order (sortNodes) and
// translates each.
func (e *importer) translate() error {
	nodes, err := sortNodes(e.g.Node)
	if err != nil {
		return err
	}
	for i, n := range nodes {
		if n == nil {
			continue
		}
		where := n.Name
		if where == "" {
			where = fmt.Sprintf("#%d", i)
		}
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return fmt.Errorf("%w: node %q: op %s of domain %q", ErrUnsupported, where, n.OpType, n.Domain)
		}
		h, ok := handlers[n.OpType]
		if !ok {
			return fmt.Errorf("%w: node %q: op %s (supported: %s)", ErrUnsupported, where, n.OpType, strings.Join(Ops(), ", "))
		}
		if len(n.Output) == 0 || n.Output[0] == "" {
			return fmt.Errorf("onnx import: node %q (%s) has no output", where, n.OpType)
		}
		if err := h(e, n); err != nil {
			if hint := e.sizeHint(); hint != "" && !strings.Contains(err.Error(), "--input-size") {
				return fmt.Errorf("onnx import: node %q (%s): %w (%s)", where, n.OpType, err, hint)
			}
			return fmt.Errorf("onnx import: node %q (%s): %w", where, n.OpType, err)
		}
	}
	for _, vi := range e.g.Output {
		if vi == nil {
			continue
		}
		v, ok := e.vals[vi.Name]
		switch {
		case !ok:
			return fmt.Errorf("onnx import: graph output %q is not computed by any node", vi.Name)
		case v.c != nil:
			return fmt.Errorf("%w: graph output %q is a constant", ErrUnsupported, vi.Name)
		case slices.Contains(e.inputs, v) && !e.o.ONNXLayout:
			return fmt.Errorf("%w: graph output %q is an input", ErrUnsupported, vi.Name)
		}
		if e.o.ONNXLayout {
			var err error
			if v, err = e.asCF(v); err != nil {
				return err
			}
		}
		if !slices.Contains(e.outs, v.name) {
			e.outs = append(e.outs, v.name)
		}
	}
	if len(e.outs) == 0 {
		return fmt.Errorf("onnx import: the graph has no outputs")
	}
	return nil
}

// Ops lists the supported ONNX op types, sorted.
func Ops() []string {
	out := make([]string, 0, len(handlers))
	for k := range handlers {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
