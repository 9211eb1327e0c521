package main

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/optim"
	"webcnn/core/weights"
)

// Fine-tuning past the head (finetune's unfreeze option): the last blocks
// of an imported backbone train too. Graph ops have no backward pass, so
// the feature graph (graph.Spec.FeatureCut, then Fuse: batch norms folded
// into the convolutions, which then train as plain convs with a bias) is
// split before its last blocks (graph.Spec.SplitTail): the stem stays a
// frozen graph, run once per training image, and the tail is lowered to
// nn layers (TailSplit.TailLayer) with copies of their weights, trained
// with the head by backpropagation (nn.ForwardGrad) on the model's
// backend, at a hundredth of the head's learning rate. The tail's weights go
// into the saved delta with the head's.

// stem is a backbone split before its last blocks.
type stem struct {
	split *graph.TailSplit
	graph *graph.Graph     // the frozen stem, on the model's backend
	tail  []weights.Tensor // the fused tensors the tail reads (host copies)
	out   core.Shape       // the stem's output for one image
}

// fusedFeatures returns the model's feature graph with batch norms folded
// into the convolutions, and its tensors.
func (m *model) fusedFeatures() (*graph.Spec, []weights.Tensor, error) {
	if _, ok := m.net.(*graph.Graph); !ok || m.tensors == nil {
		return nil, nil, fmt.Errorf("%w: %s is not an imported graph: only the head can train on it", ErrBadInput, m.id)
	}
	spec, ts, err := featureGraph(m.man, m.tensors)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrBadInput, m.id, err)
	}
	fs, fts, _ := spec.Fuse(ts)
	return fs, fts, nil
}

// tailBlocks is how many last blocks of m can train (0: the head only).
func (m *model) tailBlocks() int {
	if m.tailMax >= 0 {
		return m.tailMax
	}
	m.tailMax = 0
	fs, fts, err := m.fusedFeatures()
	if err != nil {
		return 0
	}
	shapes := make([]weights.Tensor, len(fts))
	for i, t := range fts {
		shapes[i] = weights.Tensor{Name: t.Name, Shape: t.Shape}
	}
	for k := 1; k <= len(fs.Boundaries()) && k <= maxBlocks; k++ {
		s, err := fs.SplitTail(k)
		if err != nil {
			break
		}
		if _, err := s.TailLayer(nn.Shapes{}, graph.Need(s.Tail, shapes)); err != nil {
			break
		}
		m.tailMax = k
	}
	return m.tailMax
}

// maxBlocks bounds the blocks offered for training.
const maxBlocks = 4

// stemFor returns m split before its last blocks blocks, built once per
// count (the caller holds m.mu).
func (m *model) stemFor(blocks int) (*stem, error) {
	if s := m.stems[blocks]; s != nil {
		return s, nil
	}
	switch n := m.tailBlocks(); {
	case n == 0:
		return nil, fmt.Errorf("%w: %s cannot train its last blocks (only an imported graph whose tail lowers to trainable layers can): train the head only (unfreeze 0)", ErrBadInput, m.id)
	case blocks < 1 || blocks > n:
		return nil, fmt.Errorf("%w: %s can train its last 1 to %d blocks, not %d", ErrBadInput, m.id, n, blocks)
	}
	fs, fts, err := m.fusedFeatures()
	if err != nil {
		return nil, err
	}
	sp, err := fs.SplitTail(blocks)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadInput, m.id, err)
	}
	g, err := sp.Stem.Build(m.lease.B, graph.Need(sp.Stem.Nodes, fts))
	if err != nil {
		return nil, err
	}
	outs, err := g.OutputShapes(core.Shape(m.man.Input.Shape))
	if err != nil {
		g.Free()
		return nil, err
	}
	if m.stems == nil {
		m.stems = map[int]*stem{}
	}
	s := &stem{split: sp, graph: g, tail: graph.Need(sp.Tail, fts), out: outs[0]}
	m.stems[blocks] = s
	return s, nil
}

// stemOutputs runs the frozen stem on preprocessed inputs in batches and
// returns the outputs on the host, one stem.out per input.
func (m *model) stemOutputs(blocks int, xs [][]float32) ([]float32, *stem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	s, err := m.stemFor(blocks)
	if err != nil {
		return nil, nil, err
	}
	shape := core.Shape(m.man.Input.Shape)
	const batch = 16
	var out []float32
	for i := 0; i < len(xs); i += batch {
		part := xs[i:min(i+batch, len(xs))]
		v := make([]float32, 0, len(part)*shape.Size())
		for _, x := range part {
			v = append(v, x...)
		}
		y, err := nn.Infer(m.lease.B, s.graph, core.Shape{len(part), shape[1], shape[2], shape[3]}, v)
		if err != nil {
			return nil, nil, m.fail(err)
		}
		out = append(out, y...)
	}
	return out, s, nil
}

// tailFeatures runs a trained tail on stem outputs (n of them) in
// inference and returns the features on the host.
func tailFeatures(tail nn.Layer, b core.Backend, out core.Shape, sv []float32) ([]float32, int, error) {
	n := len(sv) / out.Size()
	y, err := nn.Infer(b, tail, core.Shape{n, out[1], out[2], out[3]}, sv)
	if err != nil {
		return nil, 0, err
	}
	return y, len(y) / n, nil
}

// standardizer is the frozen layer (x - mean) / std of the features
// between a trained tail and the head: a batch norm on fixed statistics
// (gamma 1, beta 0, variance std^2, eps 0) that gradients pass through.
func standardizer(b core.Backend, mean, std []float32) (nn.Layer, func(), error) {
	ones, zeros, vars := make([]float32, len(mean)), make([]float32, len(mean)), make([]float32, len(mean))
	for i, s := range std {
		ones[i], vars[i] = 1, s*s
	}
	var ts []*core.Tensor
	free := func() {
		for _, t := range ts {
			t.Free()
		}
	}
	for _, v := range [][]float32{ones, zeros, mean, vars} {
		t, err := core.FromData(b, core.Shape{len(v)}, v)
		if err != nil {
			free()
			return nil, nil, err
		}
		ts = append(ts, t)
	}
	return nn.Frozen{Layer: &nn.BatchNorm{Gamma: ts[0], Beta: ts[1], Mean: ts[2], Var: ts[3]}}, free, nil
}

// twoRates steps the head's and the tail's parameters with optimizers of
// their own (the tail, pretrained, at a smaller learning rate).
type twoRates struct {
	head, tail optim.Optimizer
	hp, tp     []nn.Param
}

func (o *twoRates) Step(_ []nn.Param, g *nn.Grads) error {
	if err := o.head.Step(o.hp, g); err != nil {
		return err
	}
	return o.tail.Step(o.tp, g)
}

func (o *twoRates) SetLR(float32) {}

// trainable lists a layer's parameters that are not buffers.
func trainable(l nn.Layer) []nn.Param {
	var ps []nn.Param
	for _, p := range l.Params() {
		if !p.Buffer {
			ps = append(ps, p)
		}
	}
	return ps
}

// FinetunePlan is what fine-tuning will hold in memory, before it starts.
type FinetunePlan struct {
	Blocks, MaxBlocks int
	At                string // where the tail starts ("" for the head only)
	Features          int
	TrainableParams   int64 // the tail's and the head's
	// Bytes, by part: the trained weights' copies, their gradients and
	// AdamW's two moments; the stem's (or the features') outputs of every
	// example; the tail's activations over the batch (kept for the
	// backward pass, and their gradients); the frozen stem's own copy of
	// the backbone's weights.
	Weights, Optimizer, Inputs, Activations, Stem int64
}

// Total is the sum of the parts.
func (p FinetunePlan) Total() int64 {
	return p.Weights + p.Optimizer + p.Inputs + p.Activations + p.Stem
}

// finetunePlan plans fine-tuning with the last blocks trained (0: the
// head only) on examples images (augmented copies counted) of classes.
func (m *model) finetunePlan(blocks, examples, classes int) (FinetunePlan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return FinetunePlan{}, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	p := FinetunePlan{Blocks: blocks, MaxBlocks: m.tailBlocks()}
	if examples < 1 || classes < 2 {
		return p, fmt.Errorf("%w: a plan needs examples >= 1 and classes >= 2", ErrBadInput)
	}
	if blocks == 0 {
		f, err := m.featureLayer()
		if err != nil {
			return p, err
		}
		out, _, err := nn.PlanOf(f, core.Shape(m.man.Input.Shape))
		if err != nil {
			return p, err
		}
		p.Features = out.Size()
	} else {
		if blocks < 0 || blocks > p.MaxBlocks {
			return p, fmt.Errorf("%w: %s can train its last 1 to %d blocks, not %d", ErrBadInput, m.id, p.MaxBlocks, blocks)
		}
		fs, fts, err := m.fusedFeatures()
		if err != nil {
			return p, err
		}
		sp, err := fs.SplitTail(blocks)
		if err != nil {
			return p, err
		}
		shapes := make([]weights.Tensor, 0, len(fts))
		var stemParams int64
		for _, t := range graph.Need(sp.Tail, fts) {
			shapes = append(shapes, weights.Tensor{Name: t.Name, Shape: t.Shape})
		}
		for _, t := range graph.Need(sp.Stem.Nodes, fts) {
			stemParams += int64(len(t.Data))
		}
		tail, err := sp.TailLayer(nn.Shapes{}, shapes)
		if err != nil {
			return p, err
		}
		g, err := sp.Stem.Build(nn.Shapes{}, stripData(graph.Need(sp.Stem.Nodes, fts)))
		if err != nil {
			return p, err
		}
		outs, err := g.OutputShapes(core.Shape(m.man.Input.Shape))
		if err != nil {
			return p, err
		}
		o := outs[0]
		out, rows, err := nn.PlanOf(tail, core.Shape{examples, o[1], o[2], o[3]})
		if err != nil {
			return p, err
		}
		var acts int64
		for _, r := range rows {
			acts += int64(r.Out.Size())
		}
		p.At, p.Features = sp.At, out[1]
		p.TrainableParams = nn.Count(tail)
		p.Inputs = 4 * int64(examples) * int64(o.Size())
		p.Activations = 2 * 4 * acts // kept for backward, and their gradients
		p.Stem = 4 * stemParams
		if m.stems[blocks] != nil {
			p.Stem = 0 // built already
		}
	}
	head := int64(p.Features*classes + classes)
	p.TrainableParams += head
	p.Weights = 4 * p.TrainableParams
	p.Optimizer = 3 * 4 * p.TrainableParams // gradients, AdamW's m and v
	if blocks == 0 {
		p.Inputs = 4 * int64(examples) * int64(p.Features)
	}
	return p, nil
}

func stripData(ts []weights.Tensor) []weights.Tensor {
	out := make([]weights.Tensor, len(ts))
	for i, t := range ts {
		out[i] = weights.Tensor{Name: t.Name, Shape: t.Shape}
	}
	return out
}

// blocksText says where a head with trained blocks takes its features.
func blocksText(blocks int, at string) string {
	if blocks == 1 {
		return "the last block trained, after " + at
	}
	return fmt.Sprintf("the last %d blocks trained, after %s", blocks, at)
}
