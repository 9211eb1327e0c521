package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"webcnn/core"
	"webcnn/core/autograd"
	"webcnn/core/data"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/optim"
	"webcnn/core/weights"
	"webcnn/models"
)

// Fine-tuning in the browser (Teachable-Machine style): the loaded model is
// a frozen feature extractor, as tools/cnn/finetune.go does natively. A
// zoo Sequential (LeNet-5) is cut before its last layer with parameters
// (fc3: the 84 tanh features of fc2); an imported graph (PaddleOCR's
// MobileNetV3) is cut at the input of its last pooling node, which becomes
// a global average pool and a flatten. The features are standardized
// with the training set's mean and deviation, and a new head (dropout,
// then Linear) is trained with full-batch AdamW and softmax cross-entropy
// with label smoothing on the model's backend. Only the head is saved: a
// delta manifest that names the backbone (model id and manifest URL) and
// carries the head's tensors in one content-addressed chunk.

// FinetuneOptions are finetune's options.
type FinetuneOptions struct {
	Steps     int     // full-batch AdamW steps ("epochs"; default 40)
	LR        float32 // default 0.01
	Decay     float32 // AdamW weight decay (default 0.01, not on the bias)
	Augment   bool    // also train on augmented copies
	Copies    int     // augmented copies per image (default 4)
	Dropout   float32 // before the Linear head (default 0.2; 0: none)
	Smoothing float32 // label smoothing (default 0.1)
	Seed      uint64
	OnStep    func(step, steps int, loss, acc float64)
	// Unfreeze > 0 also trains the backbone's last Unfreeze blocks
	// (finetune_tail.go), at TailLR times the head's rate (default 0.01:
	// AdamW's first steps move every weight by about the rate, which at
	// a tenth of the head's disturbs pretrained blocks visibly).
	Unfreeze int
	TailLR   float32
}

func (o *FinetuneOptions) defaults() {
	if o.Steps <= 0 {
		o.Steps = 40
	}
	if o.LR <= 0 {
		o.LR = 0.01
	}
	if o.Decay < 0 {
		o.Decay = 0
	}
	if o.Copies <= 0 {
		o.Copies = 4
	}
	if o.Dropout < 0 || o.Dropout >= 1 {
		o.Dropout = 0.2
	}
	if o.Smoothing < 0 || o.Smoothing >= 1 {
		o.Smoothing = 0.1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.TailLR <= 0 {
		o.TailLR = 0.01
	}
}

// fineTuned is a trained head on a model's frozen features.
type fineTuned struct {
	base      *model
	labels    []string
	dim       int
	mean, std []float32
	dropout   float32
	head      nn.Sequential // dropout (P may be 0), fc

	// With the last blocks trained (finetune_tail.go): the tail, its
	// number of blocks, the value it starts from and the stem's output.
	tail   nn.Sequential
	blocks int
	at     string
	out    core.Shape

	mu       sync.Mutex
	disposed bool
}

// headLayers builds the head on b: Dropout(p), Linear(dim, classes).
func headLayers(b core.Backend, dim, classes int, p float32, seed uint64) (nn.Sequential, error) {
	bd := nn.NewBuilder(b, seed)
	fc := bd.Linear(dim, classes, core.Identity)
	if err := bd.Err(); err != nil {
		return nil, err
	}
	return nn.Sequential{nn.N("dropout", &nn.Dropout{P: p}), nn.N("fc", fc)}, nil
}

// featureLayer returns the frozen feature extractor of m, built once.
func (m *model) featureLayer() (nn.Layer, error) {
	if m.feat != nil {
		return m.feat, nil
	}
	switch net := m.net.(type) {
	case nn.Sequential:
		cut := -1
		for i, c := range net {
			if nn.Count(c.Layer) > 0 {
				cut = i
			}
		}
		if cut <= 0 {
			return nil, fmt.Errorf("%w: %s has no layers before its classifier to use as features", ErrBadInput, m.id)
		}
		m.feat, m.featCut = net[:cut], "before "+net[cut].Name
	case *graph.Graph:
		spec, ts, err := featureGraph(m.man, m.tensors)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadInput, m.id, err)
		}
		g, err := spec.Build(m.lease.B, ts)
		if err != nil {
			return nil, err
		}
		m.feat, m.featCut, m.featOwned = g, "global average pool of "+spec.Nodes[len(spec.Nodes)-2].Inputs[0], true
	default:
		return nil, fmt.Errorf("%w: %s (%T) cannot be cut into a feature extractor", ErrBadInput, m.id, m.net)
	}
	return m.feat, nil
}

// features runs the frozen backbone on preprocessed inputs (each the
// manifest's input shape) in batches and returns [n, dim] on the host.
func (m *model) features(xs [][]float32) ([]float32, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, 0, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	f, err := m.featureLayer()
	if err != nil {
		return nil, 0, err
	}
	shape := core.Shape(m.man.Input.Shape)
	const batch = 16
	var out []float32
	dim := 0
	for s := 0; s < len(xs); s += batch {
		part := xs[s:min(s+batch, len(xs))]
		v := make([]float32, 0, len(part)*shape.Size())
		for _, x := range part {
			v = append(v, x...)
		}
		in, err := core.FromData(m.lease.B, core.Shape{len(part), shape[1], shape[2], shape[3]}, v)
		if err != nil {
			return nil, 0, m.fail(err)
		}
		y, err := f.Forward(nn.Eval, in)
		in.Free()
		if err != nil {
			return nil, 0, m.fail(err)
		}
		r, err := y.Data()
		y.Free()
		if err != nil {
			return nil, 0, m.fail(err)
		}
		dim = len(r) / len(part)
		out = append(out, r...)
	}
	return out, dim, nil
}

// featureGraph cuts an imported classifier at its feature vector
// (graph.Spec.FeatureCut) and keeps the tensors the cut graph reads.
func featureGraph(man *weights.Manifest, tensors map[string][]float32) (*graph.Spec, []weights.Tensor, error) {
	spec, err := graph.Parse(man.Graph)
	if err != nil {
		return nil, nil, err
	}
	out, need, err := spec.FeatureCut()
	if err != nil {
		return nil, nil, err
	}
	var kept []weights.Tensor
	for _, e := range man.Tensors {
		if need[e.Name] {
			v, ok := tensors[e.Name]
			if !ok {
				return nil, nil, fmt.Errorf("tensor %q was not kept", e.Name)
			}
			kept = append(kept, weights.Tensor{Name: e.Name, Shape: e.Shape, Data: v})
		}
	}
	return out, kept, nil
}

// augmenter draws the training copies: rotation within 12 degrees, shift
// within 6% of the side, scale 0.9 to 1.1, brightness and contrast within
// 30%, saturation within 20% (no flips: they change a text's or a
// digit's class). The fill is the mean of the image's border.
func augment(img *data.Image, g *core.RNG) *data.Image {
	side := float64(min(img.H, img.W))
	a := data.RandomAffine{Degrees: 12, Translate: 0.06 * side, ScaleMin: 0.9, ScaleMax: 1.1, Fill: borderMean(img)}
	return data.ColorJitter{Brightness: 0.3, Contrast: 0.3, Saturation: 0.2}.Apply(a.Apply(img, g), g)
}

func borderMean(img *data.Image) float32 {
	var s float64
	n := 0
	for x := 0; x < img.W; x++ {
		for _, y := range []int{0, img.H - 1} {
			for c := 0; c < img.C; c++ {
				s += float64(img.Pix[(y*img.W+x)*img.C+c])
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float32(s / float64(n))
}

// FinetuneResult is what finetune reports at the end.
type FinetuneResult struct {
	Examples  int // training examples (images and augmented copies)
	Features  int
	Cut       string
	Loss, Acc float64 // of the last step
}

// finetune trains a new head on m's frozen features of imgs, labels[i]
// indexing classes.
func (m *model) finetune(imgs []*data.Image, labels []int, classes []string, o FinetuneOptions) (*fineTuned, FinetuneResult, error) {
	o.defaults()
	var res FinetuneResult
	if len(imgs) == 0 || len(imgs) != len(labels) {
		return nil, res, fmt.Errorf("%w: finetune takes as many labels as images (%d images, %d labels)", ErrBadInput, len(imgs), len(labels))
	}
	if len(classes) < 2 {
		return nil, res, fmt.Errorf("%w: finetune needs at least 2 classes, got %d", ErrBadInput, len(classes))
	}
	seen := make([]bool, len(classes))
	for _, l := range labels {
		if l < 0 || l >= len(classes) {
			return nil, res, fmt.Errorf("%w: label %d out of %d classes", ErrBadInput, l, len(classes))
		}
		seen[l] = true
	}
	for c, ok := range seen {
		if !ok {
			return nil, res, fmt.Errorf("%w: class %q has no image", ErrBadInput, classes[c])
		}
	}
	rng := core.NewRNG(o.Seed)
	var xs [][]float32
	var ys []int
	add := func(img *data.Image, l int) error {
		x, err := m.input(img)
		if err != nil {
			return err
		}
		xs, ys = append(xs, x), append(ys, l)
		return nil
	}
	for i, img := range imgs {
		if err := add(img, labels[i]); err != nil {
			return nil, res, fmt.Errorf("image %d: %w", i, err)
		}
	}
	if o.Augment {
		for range o.Copies {
			for i, img := range imgs {
				if err := add(augment(img, rng), labels[i]); err != nil {
					return nil, res, fmt.Errorf("image %d, augmented: %w", i, err)
				}
			}
		}
	}
	b := m.lease.B
	var fv, sv []float32
	var dim int
	var st *stem
	var tail nn.Sequential
	var err error
	if o.Unfreeze > 0 {
		if sv, st, err = m.stemOutputs(o.Unfreeze, xs); err != nil {
			return nil, res, err
		}
		if tail, err = st.split.TailLayer(b, st.tail); err != nil {
			return nil, res, err
		}
		fv, dim, err = tailFeatures(tail, b, st.out, sv)
	} else {
		fv, dim, err = m.features(xs)
	}
	if err != nil {
		freeAll(tail)
		return nil, res, m.fail(err)
	}
	n := len(xs)
	mean, std := standardize(fv, n, dim)
	head, err := headLayers(b, dim, len(classes), o.Dropout, o.Seed)
	if err != nil {
		freeAll(tail)
		return nil, res, err
	}
	ft := &fineTuned{base: m, labels: classes, dim: dim, mean: mean, std: std, dropout: o.Dropout, head: head, tail: tail}
	if st != nil {
		ft.blocks, ft.at, ft.out = o.Unfreeze, st.split.At, st.out
	}
	k, err := imprint(head[1].Layer.(*nn.Linear), normalize(fv, mean, std), ys, len(classes))
	if err != nil {
		ft.dispose()
		return nil, res, m.fail(err)
	}
	for j := range std {
		std[j] /= k // the head reads the standardized features times k
	}
	net, ps := nn.Layer(head), head.Params()
	var opt optim.Optimizer = &optim.AdamW{LR: o.LR, WeightDecay: o.Decay, Exclude: optim.NoDecay}
	var x *core.Tensor
	if tail == nil {
		x, err = core.FromData(b, core.Shape{n, dim}, normalize(fv, mean, std))
	} else {
		// The whole trained part runs each step: tail, the standardizer
		// (frozen), the head.
		sl, free, serr := standardizer(b, mean, std)
		if serr != nil {
			ft.dispose()
			return nil, res, m.fail(serr)
		}
		defer free()
		net = nn.Sequential{nn.N("tail", tail), nn.N("standardize", sl), nn.N("head", head)}
		opt = &twoRates{head: opt, tail: &optim.AdamW{LR: o.LR * o.TailLR, WeightDecay: o.Decay, Exclude: optim.NoDecay}, hp: ps, tp: trainable(tail)}
		x, err = core.FromData(b, core.Shape{n, st.out[1], st.out[2], st.out[3]}, sv)
	}
	if err != nil {
		ft.dispose()
		return nil, res, m.fail(err)
	}
	defer x.Free()
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(o.Seed + 1)}
	for s := 0; s < o.Steps; s++ {
		loss, acc, err := trainStep(ctx, net, ps, opt, x, ys, o.Smoothing)
		if err != nil {
			ft.dispose()
			return nil, res, m.fail(fmt.Errorf("finetune step %d: %w", s+1, err))
		}
		res.Loss, res.Acc = loss, acc
		if o.OnStep != nil {
			o.OnStep(s+1, o.Steps, loss, acc)
		}
	}
	res.Examples, res.Features, res.Cut = n, dim, m.featCut
	if tail != nil {
		res.Cut = blocksText(ft.blocks, ft.at)
	}
	return ft, res, nil
}

// trainStep is one full-batch step; it returns the loss and the accuracy
// of the step's (dropout) forward pass.
func trainStep(ctx *nn.Context, head nn.Layer, ps []nn.Param, opt optim.Optimizer, x *core.Tensor, labels []int, smoothing float32) (float64, float64, error) {
	y, pb, err := nn.ForwardGrad(ctx, head, x, false)
	if err != nil {
		return 0, 0, err
	}
	defer y.Free()
	loss, dy, err := autograd.SoftmaxCrossEntropy(y, labels, smoothing)
	if err != nil {
		return 0, 0, err
	}
	defer dy.Free()
	if math.IsNaN(float64(loss)) {
		return 0, 0, fmt.Errorf("the loss is NaN (learning rate too high?)")
	}
	v, err := y.Data()
	if err != nil {
		return 0, 0, err
	}
	k, hits := y.Shape()[1], 0
	for i, l := range labels {
		best := 0
		for j := 1; j < k; j++ {
			if v[i*k+j] > v[i*k+best] {
				best = j
			}
		}
		if best == l {
			hits++
		}
	}
	g, err := nn.Backward(pb, dy)
	if err != nil {
		return 0, 0, err
	}
	defer g.Free()
	return float64(loss), float64(hits) / float64(len(labels)), opt.Step(ps, g)
}

// imprint starts the head as the nearest-centroid classifier of the
// standardized features z (rows of dim values, labels ys): with mu_c the
// mean of class c's rows, -|z - mu_c|^2 = 2 z.mu_c - |mu_c|^2 + (the same
// for every class), so W[:, c] = 2a mu_c and b[c] = -a |mu_c|^2 rank the
// classes as the centroids do (weight imprinting, Qi et al. 2018). a sets
// the logits' scale: the training rows' mean margin between their own
// class and the best other one becomes 4 (about 98% probability for two
// classes). Training then starts from this rather than from random
// weights, which with a few images a class generalizes far better.
//
// The weights are written divided by k, their root mean square, so that
// they are about 1 (AdamW moves each weight by about the learning rate
// per step: tiny weights would be lost in one step); the caller
// multiplies the head's input by k, which keeps the logits.
func imprint(fc *nn.Linear, z []float32, ys []int, classes int) (k float32, err error) {
	dim := len(z) / len(ys)
	mu := make([]float64, classes*dim)
	count := make([]float64, classes)
	for i, c := range ys {
		count[c]++
		for j := 0; j < dim; j++ {
			mu[c*dim+j] += float64(z[i*dim+j])
		}
	}
	norm := make([]float64, classes)
	for c := 0; c < classes; c++ {
		for j := 0; j < dim; j++ {
			mu[c*dim+j] /= max(count[c], 1)
			norm[c] += mu[c*dim+j] * mu[c*dim+j]
		}
	}
	score := func(i, c int) float64 {
		s := -norm[c]
		for j := 0; j < dim; j++ {
			s += 2 * float64(z[i*dim+j]) * mu[c*dim+j]
		}
		return s
	}
	var margin float64
	for i, c := range ys {
		best := math.Inf(-1)
		for k := 0; k < classes; k++ {
			if k != c {
				best = math.Max(best, score(i, k))
			}
		}
		margin += math.Abs(score(i, c) - best)
	}
	a := 1.0
	if margin > 0 {
		a = 4 / (margin / float64(len(ys)))
	}
	var ss float64
	for _, v := range mu {
		ss += 4 * a * a * v * v
	}
	rms := math.Sqrt(ss / float64(len(mu)))
	if rms == 0 || math.IsNaN(rms) || math.IsInf(rms, 0) {
		rms = 1
	}
	w, b := make([]float32, dim*classes), make([]float32, classes)
	for c := 0; c < classes; c++ {
		for j := 0; j < dim; j++ {
			w[j*classes+c] = float32(2 * a * mu[c*dim+j] / rms) // [In, Out]
		}
		b[c] = float32(-a * norm[c])
	}
	if err := fc.W.Backend().Write(fc.W.Buffer(), 0, w); err != nil {
		return 0, err
	}
	return float32(rms), fc.B.Backend().Write(fc.B.Buffer(), 0, b)
}

// standardize returns each feature's mean and standard deviation over n
// rows, the deviation at least a tenth of the features' mean deviation (a
// constant feature gets 1): a feature that barely varies over a few
// training images would otherwise be magnified without bound on a new
// image, or when trained blocks change it.
func standardize(v []float32, n, dim int) (mean, std []float32) {
	mean, std = make([]float32, dim), make([]float32, dim)
	for j := 0; j < dim; j++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			x := float64(v[i*dim+j])
			s += x
			ss += x * x
		}
		mu := s / float64(n)
		mean[j], std[j] = float32(mu), float32(math.Sqrt(math.Max(ss/float64(n)-mu*mu, 0)))
	}
	var all float64
	for _, sd := range std {
		all += float64(sd)
	}
	floor := float32(0.1 * all / float64(dim))
	for j, sd := range std {
		switch {
		case sd < 1e-6 && floor < 1e-6:
			std[j] = 1
		case sd < floor:
			std[j] = floor
		}
	}
	return mean, std
}

func normalize(v, mean, std []float32) []float32 {
	out := make([]float32, len(v))
	dim := len(mean)
	for i, x := range v {
		j := i % dim
		out[i] = (x - mean[j]) / std[j]
	}
	return out
}

// classify answers the k most probable of the new classes for img; with
// o.MC, the MC-dropout mean and variance over the head's dropout masks.
func (f *fineTuned) classify(img *data.Image, o ClassifyOptions) ([]Prediction, error) {
	return headsClassify([]*fineTuned{f}, img, o)
}

// samples runs the head on the backbone's features fv of one image (they
// are standardized first): one inference pass when o.MC is 0, else o.MC
// MC-dropout passes (seeded with o.Seed+salt), the softmax probabilities
// of each; done and total count passes for o.Run.
func (f *fineTuned) samples(fv []float32, o ClassifyOptions, done, total int, salt uint64) ([][]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disposed {
		return nil, fmt.Errorf("fine-tuned head: %w", ErrDisposed)
	}
	b := f.base.lease.B
	in, err := core.FromData(b, core.Shape{1, f.dim}, normalize(fv, f.mean, f.std))
	if err != nil {
		return nil, err
	}
	defer in.Free()
	if o.MC != 0 {
		return mcSamples(f.head, in, o.MC, o.Seed+salt, true, o, done, total)
	}
	y, err := f.head.Forward(nn.Eval, in)
	if err != nil {
		return nil, err
	}
	defer y.Free()
	out, err := y.Data()
	if err != nil {
		return nil, err
	}
	p := make([]float32, len(out))
	for _, c := range models.Top(out, true, nil, len(out)) {
		p[c.Index] = c.Prob
	}
	o.Run.pass(done+1, total)
	return [][]float32{p}, nil
}

func (f *fineTuned) dispose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disposed {
		return
	}
	f.disposed = true
	freeAll(f.head)
	freeAll(f.tail)
}

// freeAll frees a layer's tensors (nil: nothing).
func freeAll(l nn.Layer) {
	if l == nil {
		return
	}
	for _, p := range l.Params() {
		p.T.Free()
	}
}

// featuresOf returns the features the head reads for one preprocessed
// input: the frozen backbone's, or the stem's output through the trained
// tail.
func (f *fineTuned) featuresOf(x []float32) ([]float32, error) {
	if f.tail == nil {
		fv, _, err := f.base.features([][]float32{x})
		return fv, err
	}
	sv, _, err := f.base.stemOutputs(f.blocks, [][]float32{x})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disposed {
		return nil, fmt.Errorf("fine-tuned head: %w", ErrDisposed)
	}
	fv, _, err := tailFeatures(f.tail, f.base.lease.B, f.out, sv)
	return fv, f.base.fail(err)
}

// DeltaFormat names the delta manifest format.
const DeltaFormat = "webcnn-delta-1"

// Delta is a fine-tuned head's file: a manifest in core/weights' terms
// (entries in content-addressed chunks, each verified by sha256 on load)
// that references its backbone instead of carrying it, with the chunk's
// bytes inlined (base64) so that the head is one small download.
type Delta struct {
	Format string    `json:"format"`
	Base   DeltaBase `json:"base"`
	Head   DeltaHead `json:"head"`
	Labels []string  `json:"labels"`
	// Tensors: fc.weight [features, classes], fc.bias [classes],
	// features.mean and features.std [features]; with trained blocks,
	// tail.<node>.weight and tail.<node>.bias of each of their convs.
	Tensors []weights.Entry   `json:"tensors"`
	Chunks  []weights.Chunk   `json:"chunks"`
	Data    map[string]string `json:"data"` // chunk file -> base64 of its bytes
}

// DeltaBase names the frozen backbone.
type DeltaBase struct {
	Model    string        `json:"model"`              // the manifest's model id
	Manifest string        `json:"manifest,omitempty"` // the URL it was loaded from
	Input    weights.Input `json:"input"`
	Cut      string        `json:"cut"` // where the features are taken
}

// DeltaHead describes the head: Dropout(dropout), Linear(features,
// classes); with Unfrozen > 0, the backbone's last Unfrozen blocks were
// trained too: the tail after the value At, whose tensors are "tail.*".
type DeltaHead struct {
	Features int     `json:"features"`
	Classes  int     `json:"classes"`
	Dropout  float32 `json:"dropout"`
	Unfrozen int     `json:"unfrozen,omitempty"`
	At       string  `json:"at,omitempty"`
}

// save encodes the head as a delta manifest (JSON).
func (f *fineTuned) save() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disposed {
		return nil, fmt.Errorf("fine-tuned head: %w", ErrDisposed)
	}
	lin := f.head[1].Layer.(*nn.Linear)
	w, err := lin.W.Data()
	if err != nil {
		return nil, err
	}
	bias, err := lin.B.Data()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	var entries []weights.Entry
	type named struct {
		name  string
		shape []int
		v     []float32
	}
	all := []named{
		{"fc.weight", lin.W.Shape(), w},
		{"fc.bias", lin.B.Shape(), bias},
		{"features.mean", []int{f.dim}, f.mean},
		{"features.std", []int{f.dim}, f.std},
	}
	for _, p := range trainable(f.tail) { // the trained blocks: "tail.<node>.weight"...
		v, err := p.T.Data()
		if err != nil {
			return nil, err
		}
		all = append(all, named{"tail." + p.Name, p.T.Shape(), v})
	}
	for _, t := range all {
		off := int64(buf.Len())
		if err := binary.Write(&buf, binary.LittleEndian, t.v); err != nil {
			return nil, err
		}
		entries = append(entries, weights.Entry{Name: t.name, Shape: append([]int(nil), t.shape...), DType: weights.F32, Chunk: 0, Offset: off, Length: int64(buf.Len()) - off})
	}
	sum := sha256.Sum256(buf.Bytes())
	hx := hex.EncodeToString(sum[:])
	c := weights.Chunk{File: hx[:16] + ".bin", Size: int64(buf.Len()), SHA256: hx}
	d := Delta{
		Format: DeltaFormat,
		Base:   DeltaBase{Model: f.base.man.Model, Manifest: f.base.url, Input: f.base.man.Input, Cut: f.base.featCut},
		Head:   DeltaHead{Features: f.dim, Classes: len(f.labels), Dropout: f.dropout, Unfrozen: f.blocks, At: f.at},
		Labels: f.labels, Tensors: entries, Chunks: []weights.Chunk{c},
		Data: map[string]string{c.File: base64.StdEncoding.EncodeToString(buf.Bytes())},
	}
	return json.MarshalIndent(d, "", " ")
}

// loadDelta rebuilds a saved head on m, which must be its backbone.
func (m *model) loadDelta(raw []byte) (*fineTuned, error) {
	var d Delta
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: not a fine-tuned head (delta manifest JSON): %v", weights.ErrManifest, err)
	}
	if d.Format != DeltaFormat {
		return nil, fmt.Errorf("%w: delta format %q, want %q", weights.ErrManifest, d.Format, DeltaFormat)
	}
	if d.Base.Model != m.man.Model {
		return nil, fmt.Errorf("%w: the head was trained on %s (%s), not on %s", ErrBadInput, d.Base.Model, d.Base.Manifest, m.man.Model)
	}
	if d.Head.Classes < 2 || len(d.Labels) != d.Head.Classes || d.Head.Features < 1 || len(d.Chunks) != 1 {
		return nil, fmt.Errorf("%w: delta head %+v with %d labels and %d chunks", weights.ErrManifest, d.Head, len(d.Labels), len(d.Chunks))
	}
	c := d.Chunks[0]
	b, err := base64.StdEncoding.DecodeString(d.Data[c.File])
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %s: %v", weights.ErrManifest, c.File, err)
	}
	if err := weights.Verify(c, b); err != nil {
		return nil, err
	}
	vals := map[string][]float32{}
	for i := range d.Tensors {
		e := &d.Tensors[i]
		if e.Chunk != 0 || e.Offset < 0 || e.Length < 0 || e.Offset+e.Length > int64(len(b)) {
			return nil, fmt.Errorf("%w: tensor %s outside its chunk", weights.ErrManifest, e.Name)
		}
		v, err := weights.Decode(e, b[e.Offset:e.Offset+e.Length])
		if err != nil {
			return nil, err
		}
		vals[e.Name] = v
	}
	mean, std := vals["features.mean"], vals["features.std"]
	if len(mean) != d.Head.Features || len(std) != d.Head.Features {
		return nil, fmt.Errorf("%w: features.mean and features.std must have %d values", weights.ErrManifest, d.Head.Features)
	}
	delete(vals, "features.mean")
	delete(vals, "features.std")
	tailVals := map[string][]float32{}
	for name, v := range vals {
		if t, ok := strings.CutPrefix(name, "tail."); ok {
			tailVals[t] = v
			delete(vals, name)
		}
	}
	m.mu.Lock()
	_, err = m.featureLayer()
	var st *stem
	if err == nil && d.Head.Unfrozen > 0 {
		st, err = m.stemFor(d.Head.Unfrozen)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ft := &fineTuned{base: m, labels: d.Labels, dim: d.Head.Features, mean: mean, std: std, dropout: d.Head.Dropout}
	if st != nil {
		if st.split.At != d.Head.At {
			return nil, fmt.Errorf("%w: the head's %d trained blocks start at %q, %s splits there at %q", weights.ErrManifest, d.Head.Unfrozen, d.Head.At, m.id, st.split.At)
		}
		if ft.tail, err = st.split.TailLayer(m.lease.B, st.tail); err != nil {
			return nil, err
		}
		ft.blocks, ft.at, ft.out = d.Head.Unfrozen, st.split.At, st.out
		if err := nn.Load(ft.tail, tailVals); err != nil {
			ft.dispose()
			return nil, fmt.Errorf("%w: trained blocks: %v", weights.ErrManifest, err)
		}
	} else if len(tailVals) > 0 {
		return nil, fmt.Errorf("%w: tail tensors in a head without trained blocks", weights.ErrManifest)
	}
	if ft.head, err = headLayers(m.lease.B, d.Head.Features, d.Head.Classes, d.Head.Dropout, 1); err != nil {
		ft.dispose()
		return nil, err
	}
	if err := nn.Load(ft.head, vals); err != nil {
		ft.dispose()
		return nil, fmt.Errorf("%w: %v", weights.ErrManifest, err)
	}
	return ft, nil
}
