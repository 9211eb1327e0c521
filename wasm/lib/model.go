package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/webgpu"
)

// model is a network built on one backend.
type model struct {
	id    string
	man   *weights.Manifest
	lease *lease
	bs    *backends
	sum   *models.Summary

	mu       sync.Mutex // one pass at a time: the layers are shared
	net      nn.Layer
	disposed bool

	url       string               // the manifest's URL (a fine-tuned head names it)
	tensors   map[string][]float32 // an imported graph's weights, for its feature extractor
	feat      nn.Layer             // the frozen feature extractor (finetune.go), built once
	featCut   string               // where feat cuts the network
	featOwned bool                 // feat has tensors of its own to free
	stems     map[int]*stem        // the backbone split before its last blocks (finetune_tail.go)
	tailMax   int                  // how many last blocks can train (-1: not known yet)

	arena *webgpu.Arena  // the planned pass on WebGPU (gpuplan.go), or nil
	plan  map[string]any // what the plan holds, for summary()
}

// newModel builds wm's network on the leased backend.
func newModel(id string, wm *weights.Model, l *lease, bs *backends) (*model, error) {
	net, sum, err := build(l.B, wm)
	if err != nil {
		return nil, err
	}
	m := &model{id: id, man: wm.Manifest, lease: l, bs: bs, net: net, sum: sum, tailMax: -1}
	if _, ok := net.(*graph.Graph); ok {
		m.tensors = wm.Tensors
	}
	return m, nil
}

// warmUp runs one pass on zeros, so that a GPU backend compiles its
// pipelines while the model loads rather than on the first image.
func (m *model) warmUp() error {
	_, err := m.run(make([]float32, core.Shape(m.man.Input.Shape).Size()))
	return err
}

// softmax says whether the network's outputs are logits (see
// models.NeedsSoftmax); a model whose output is a map is not classified.
func (m *model) softmax() (bool, error) {
	sm, err := models.NeedsSoftmax(m.man)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return sm, nil
}

// classes refuses a feature extractor (output "features": a backbone cut
// before its head, such as the page's MobileNetV2) where classes are
// asked for: it has none of its own, only what finetune teaches it.
func (m *model) classes() error {
	if m.man.Output == "features" {
		return fmt.Errorf("%w: %s is a feature extractor (its output is %d features, not classes): teach it classes with finetune and classify with the new head", ErrBadInput, m.id, m.featureCount())
	}
	return nil
}

// featureCount is the size of a feature extractor's output, from the
// summary (0 when unknown).
func (m *model) featureCount() int {
	if m.sum == nil || len(m.sum.Rows) == 0 {
		return 0
	}
	return m.sum.Rows[len(m.sum.Rows)-1].Out.Size()
}

// Prediction is one class of an answer; Mean and Var are set for MC-dropout
// and ensembles (Prob is then Mean).
type Prediction struct {
	Label string
	Index int
	Prob  float32
	Mean  float32
	Var   float32
	Stats bool
}

// input turns RGB or gray pixels into the network's input.
func (m *model) input(img *data.Image) ([]float32, error) {
	x, err := models.Preprocess(img.Clone(), m.man.Input)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return x, nil
}

// run is one forward pass (ctx nil: inference) of a preprocessed input,
// read back to the host.
func (m *model) run(x []float32) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	var out []float32
	pass := func() (err error) {
		out, err = nn.Infer(m.lease.B, m.net, core.Shape(m.man.Input.Shape), x)
		return err
	}
	if m.arena != nil {
		return out, m.fail(m.arena.Run(pass))
	}
	return out, m.fail(pass())
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// build makes wm's network on b for inference, batch norms folded into
// the convolutions (models.FoldForInference), and summarizes the network
// as built (the published architecture's layers and parameters). The same
// function builds the network that runs and the one a GPU plan rehearses.
func build(b core.Backend, wm *weights.Model) (nn.Layer, *models.Summary, error) {
	net, err := models.Build(b, wm)
	if err != nil {
		return nil, nil, err
	}
	sum, err := models.SummarizeLayer(wm.Manifest.Model, net, core.Shape(wm.Manifest.Input.Shape))
	if err != nil {
		sum = nil
	}
	net, _, err = models.FoldForInference(net)
	if err != nil {
		return nil, nil, err
	}
	return net, sum, nil
}

// mc runs the lecture's Monte-Carlo dropout: o.MC forward passes with a
// new dropout mask each (batch norm keeps its running statistics: the
// nn.MCSample mode; mcSamples reports each pass to o.Run and stops
// when it is cancelled), and returns the mean and variance over the
// passes of the outputs (of their softmax probabilities when softmax is
// set).
func (m *model) mc(x []float32, o ClassifyOptions, softmax bool) (mean, variance []float32, err error) {
	if o.MC < 1 || o.MC > 1000 {
		return nil, nil, fmt.Errorf("%w: mcDropout %d: want 1 to 1000 passes", ErrBadInput, o.MC)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return nil, nil, fmt.Errorf("%s: %w", m.id, ErrDisposed)
	}
	in, err := core.FromData(m.lease.B, core.Shape(m.man.Input.Shape), x)
	if err != nil {
		return nil, nil, m.fail(err)
	}
	defer in.Free()
	ys, err := mcSamples(m.net, in, o.MC, o.Seed, softmax, o, 0, o.MC)
	if err != nil {
		return nil, nil, m.fail(err)
	}
	return MeanVar(ys)
}

// fail passes err on, telling the backends when it is a device loss.
func (m *model) fail(err error) error {
	if err != nil && errors.Is(err, webgpu.ErrDeviceLost) {
		m.bs.lost(m.lease.B)
	}
	return err
}

// Run follows a long run (MC-dropout passes, ensembles of heads).
type Run struct {
	// OnPass, if set, is called after each pass with the passes done and
	// the total.
	OnPass func(done, total int)
	// Canceled, if set, is asked between passes: true stops the run with
	// ErrAborted.
	Canceled func() bool
}

func (r *Run) pass(done, total int) {
	if r != nil && r.OnPass != nil {
		r.OnPass(done, total)
	}
}

func (r *Run) canceled() bool { return r != nil && r.Canceled != nil && r.Canceled() }

// ClassifyOptions are classify's options.
type ClassifyOptions struct {
	TopK int    // default 5
	MC   int    // MC-dropout passes (0: one inference pass)
	Seed uint64 // the dropout masks' seed
	// Run, if set, follows a long run (mc.go).
	Run *Run
}

// classify answers the k most probable classes of img.
func (m *model) classify(img *data.Image, o ClassifyOptions) ([]Prediction, error) {
	if err := m.classes(); err != nil {
		return nil, err
	}
	sm, err := m.softmax()
	if err != nil {
		return nil, err
	}
	x, err := m.input(img)
	if err != nil {
		return nil, err
	}
	if o.MC == 0 {
		out, err := m.run(x)
		if err != nil {
			return nil, err
		}
		top, err := models.Classify(m.man, out, topK(o.TopK))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		return fromTop(top, nil), nil
	}
	mean, variance, err := m.mc(x, o, sm)
	if err != nil {
		return nil, err
	}
	return fromTop(models.Top(mean, false, m.man.Labels, topK(o.TopK)), variance), nil
}

// probs returns the class probabilities of one inference pass.
func (m *model) probs(img *data.Image) ([]float32, error) {
	if err := m.classes(); err != nil {
		return nil, err
	}
	x, err := m.input(img)
	if err != nil {
		return nil, err
	}
	out, err := m.run(x)
	if err != nil {
		return nil, err
	}
	p, err := models.ClassProbabilities(m.man, out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return p, nil
}

// dispose frees the network's memory (GPU buffers on WebGPU) and gives
// the backend back; later calls fail with ErrDisposed.
func (m *model) dispose() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.disposed {
		return
	}
	m.disposed = true
	if g, ok := m.net.(interface{ Free() }); ok {
		g.Free()
	} else {
		for _, p := range m.net.Params() {
			p.T.Free()
		}
	}
	m.net = nil
	if g, ok := m.feat.(interface{ Free() }); ok && m.featOwned {
		g.Free()
	}
	for _, st := range m.stems {
		st.graph.Free()
	}
	m.feat, m.tensors, m.stems = nil, nil, nil
	if m.arena != nil {
		m.arena.Release()
		m.arena = nil
	}
	m.lease.Release()
}

func topK(k int) int {
	if k <= 0 {
		return 5
	}
	return k
}

// fromTop converts a top-k answer, with each class's variance when
// variance is not nil (its Prob is then the mean).
func fromTop(top []models.Class, variance []float32) []Prediction {
	out := make([]Prediction, len(top))
	for i, c := range top {
		out[i] = Prediction{Label: c.Label, Index: c.Index, Prob: c.Prob}
		if variance != nil {
			out[i].Mean, out[i].Var, out[i].Stats = c.Prob, variance[c.Index], true
		}
	}
	return out
}

// MeanVar is the lecture's combination of M predictions y^m of one input
// (ensemble members, or dropout masks):
//
//	mean = 1/M sum_m y^m          var = 1/M sum_m (y^m - mean)^2
//
// (the population variance, as nn.MeanVar computes on a backend).
func MeanVar(ys [][]float32) (mean, variance []float32, err error) {
	if len(ys) == 0 {
		return nil, nil, fmt.Errorf("%w: no predictions to combine", ErrBadInput)
	}
	n := len(ys[0])
	mean, variance = make([]float32, n), make([]float32, n)
	for i, y := range ys {
		if len(y) != n {
			return nil, nil, fmt.Errorf("%w: member %d has %d outputs, member 0 has %d", ErrBadInput, i, len(y), n)
		}
	}
	M := float64(len(ys))
	for j := 0; j < n; j++ {
		var s float64
		for _, y := range ys {
			s += float64(y[j])
		}
		mu := s / M
		var v float64
		for _, y := range ys {
			d := float64(y[j]) - mu
			v += d * d
		}
		mean[j], variance[j] = float32(mu), float32(v/M)
	}
	return mean, variance, nil
}

// ensembleClassify runs every member once on img and combines their class
// probabilities with MeanVar; labels come from the first member.
func ensembleClassify(ms []*model, img *data.Image, k int) ([]Prediction, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: an ensemble needs at least one model", ErrBadInput)
	}
	ys := make([][]float32, len(ms))
	for i, m := range ms {
		p, err := m.probs(img)
		if err != nil {
			return nil, fmt.Errorf("ensemble member %d (%s): %w", i, m.id, err)
		}
		ys[i] = p
	}
	mean, variance, err := MeanVar(ys)
	if err != nil {
		return nil, err
	}
	return fromTop(models.Top(mean, false, ms[0].man.Labels, topK(k)), variance), nil
}

// MaxPixels is the largest picture the runtime takes (2048x2048):
// cnn.mjs scales every picture down to 1024 pixels a side before it
// crosses into Go, and a bigger one would cost 12 bytes a pixel of wasm
// memory that is never given back.
const MaxPixels = 1 << 22

// CheckSize refuses a picture of more than MaxPixels, before its bytes
// are copied.
func CheckSize(w, h int) error {
	if w > 0 && h > 0 && int64(w)*int64(h) > MaxPixels {
		return fmt.Errorf("%w: a %dx%d picture is over the %d pixels the runtime takes: scale it down first (cnn.mjs does, to 1024 pixels a side)", ErrBadInput, w, h, MaxPixels)
	}
	return nil
}

// RGBA converts w*h RGBA bytes (ImageData's layout) to the RGB image that
// models.Preprocess takes, dropping alpha as data.FromImage does.
func RGBA(pix []byte, w, h int) (*data.Image, error) {
	if w <= 0 || h <= 0 || len(pix) != 4*w*h {
		return nil, fmt.Errorf("%w: %d bytes of RGBA for a %dx%d image (want %d)", ErrUnsupportedImage, len(pix), w, h, 4*w*h)
	}
	img := data.NewImage(h, w, 3)
	for i, j := 0, 0; i < len(pix); i, j = i+4, j+3 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2] = float32(pix[i]), float32(pix[i+1]), float32(pix[i+2])
	}
	return img, nil
}

// Decode decodes an encoded image with core/data (PNG, JPEG, GIF, WebP).
func Decode(b []byte) (*data.Image, error) {
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		if err := CheckSize(cfg.Width, cfg.Height); err != nil {
			return nil, err
		}
	}
	img, _, err := data.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: not a PNG, JPEG, GIF or WebP picture (%d bytes): %v", ErrUnsupportedImage, len(b), err)
	}
	return img, nil
}
