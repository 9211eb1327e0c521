package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"webcnn/core/data"
	"webcnn/core/graph"
	"webcnn/core/weights"
)

// Class is one entry of a top-k answer.
type Class struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Prob  float32 `json:"prob"`
}

// Preprocess turns a decoded image into a model's input as the manifest's
// input spec says: gray or RGB, channels swapped for BGR, resized
// (bilinear, with the source's coordinate mapping in.Resize) to the
// input's height and width, then
// x = (pixel*Scale + Offset - Mean[c]) / Std[c]. img may be modified.
func Preprocess(img *data.Image, in weights.Input) ([]float32, error) {
	if len(in.Shape) != 4 || in.Shape[0] != 1 {
		return nil, fmt.Errorf("models: input shape %v is not NHWC with batch 1", in.Shape)
	}
	h, w, c := in.Shape[1], in.Shape[2], in.Shape[3]
	switch {
	case c == 1:
		img = data.ToGray(img)
	case c == 3 && img.C == 1:
		img = data.ToRGB(img)
	}
	if img.C != c {
		return nil, fmt.Errorf("models: a %d-channel image cannot feed input %v", img.C, in.Shape)
	}
	if in.ChannelOrder == "BGR" && img.C == 3 {
		for i := 0; i < len(img.Pix); i += 3 {
			img.Pix[i], img.Pix[i+2] = img.Pix[i+2], img.Pix[i]
		}
	}
	if img.H != h || img.W != w {
		coords, err := data.ParseCoords(in.Resize)
		if err != nil {
			return nil, fmt.Errorf("models: input: %w", err)
		}
		if img, err = data.ResizeWith(img, h, w, data.Bilinear, coords); err != nil {
			return nil, err
		}
	}
	scale := in.Scale
	if scale == 0 {
		scale = 1
	}
	data.Scale(img, scale, in.Offset)
	if len(in.Mean) > 0 {
		if err := data.Normalize(img, in.Mean, in.Std); err != nil {
			return nil, err
		}
	}
	return img.Pix, nil
}

// ErrNotClassifier reports a model whose output is not class scores (a
// map): it is read as a tensor (cnn predict --out, the library's predict),
// not as top-k classes.
var ErrNotClassifier = errors.New("not a classifier")

// NeedsSoftmax reports whether the first output of the model man
// describes holds logits (true: a softmax turns them into probabilities)
// or probabilities already (false: the model ends in a softmax or
// sigmoid). A map is an ErrNotClassifier. This is the one place that reads
// the manifest's output kind: cnn predict, the browser library and the
// Worker all classify through it.
func NeedsSoftmax(man *weights.Manifest) (bool, error) {
	switch man.Output {
	case "", weights.Logits:
		return true, nil
	case weights.Probabilities:
		return false, nil
	case weights.Features:
		return false, fmt.Errorf("%w: %s is a feature extractor (its output is features, not classes): teach it classes with finetune", ErrNotClassifier, man.Model)
	case weights.Map:
		what := "a map"
		if len(man.Outputs) > 0 {
			p := man.Outputs[0]
			what = fmt.Sprintf("a map %q of shape %v", p.Name, p.Shape)
			if p.Layout != "" {
				what += " " + p.Layout
			}
		}
		return false, fmt.Errorf("%w: %s outputs %s, not class scores: read it as a tensor (cnn predict --out DIR, model.predict)", ErrNotClassifier, man.Model, what)
	}
	return false, fmt.Errorf("%w: %s: output kind %q", weights.ErrManifest, man.Model, man.Output)
}

// ClassProbabilities returns the class probabilities of a model's first
// output out, as its manifest says: the softmax of logits, probabilities
// as they are.
func ClassProbabilities(man *weights.Manifest, out []float32) ([]float32, error) {
	sm, err := NeedsSoftmax(man)
	if err != nil {
		return nil, err
	}
	return Probabilities(out, sm), nil
}

// Classify returns the k most probable classes of a model's first output
// out, labelled by the manifest, as its output kind says (see
// NeedsSoftmax).
func Classify(man *weights.Manifest, out []float32, k int) ([]Class, error) {
	sm, err := NeedsSoftmax(man)
	if err != nil {
		return nil, err
	}
	return Top(out, sm, man.Labels, k), nil
}

// OutputKind says what output i of an imported graph is, from the node
// that computes it and its shape in the runtime's layout at batch 1
// (extents <= 0 unknown; nil: unknown, taken for a classifier's):
// Map when more than the batch and the last axis are not 1 (a detection
// or segmentation map, a sequence) or the rank is below 2; otherwise
// Probabilities when a softmax over the last axis or a sigmoid computes
// it (through reshapes, which keep the values), else Logits. Every
// importer sets the manifest's output kinds with it.
func OutputKind(s *graph.Spec, i int, shape []int) string {
	if shape != nil {
		if len(shape) < 2 {
			return weights.Map
		}
		for _, d := range shape[1 : len(shape)-1] {
			if d != 1 {
				return weights.Map
			}
		}
	}
	if i < 0 || i >= len(s.Outputs) {
		return weights.Logits
	}
	producer := map[string]*graph.Node{}
	for j := range s.Nodes {
		for _, o := range s.Nodes[j].Outputs {
			producer[o] = &s.Nodes[j]
		}
	}
	v := s.Outputs[i]
	for range len(s.Nodes) {
		n := producer[v]
		if n == nil {
			return weights.Logits
		}
		var a struct {
			Act  *graph.Act `json:"act"`
			Axis *int       `json:"axis"`
		}
		var act graph.Act
		if len(n.Attrs) > 0 { // attrs that do not decode are an error at load
			_ = json.Unmarshal(n.Attrs, &a)
			_ = json.Unmarshal(n.Attrs, &act)
		}
		switch n.Op {
		case "reshape", "flatten", "identity":
			if len(n.Inputs) == 0 {
				return weights.Logits
			}
			v = n.Inputs[0]
			continue
		case "softmax":
			if a.Axis == nil || *a.Axis == -1 || (shape != nil && *a.Axis == len(shape)-1) {
				return weights.Probabilities
			}
		case "act":
			if act.Op == "sigmoid" {
				return weights.Probabilities
			}
		case "dense", "conv":
			if a.Act != nil && a.Act.Op == "sigmoid" {
				return weights.Probabilities
			}
		}
		return weights.Logits
	}
	return weights.Logits
}

// Top returns the k most probable classes, most probable first (ties keep
// the lower index first). With softmax set, out holds logits and is turned
// into probabilities (max-subtracted, in float64); otherwise out already
// holds probabilities. Labels name the classes; a class without a label is
// named by its index.
func Top(out []float32, softmax bool, labels []string, k int) []Class {
	if len(out) == 0 || k <= 0 {
		return nil
	}
	p := Probabilities(out, softmax)
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	k = min(k, len(idx))
	top := make([]Class, k)
	for i := range top {
		j := idx[i]
		label := fmt.Sprint(j)
		if j < len(labels) {
			label = labels[j]
		}
		top[i] = Class{Label: label, Index: j, Prob: p[j]}
	}
	return top
}

// Probabilities returns a copy of out, turned from logits into
// probabilities by a softmax (max-subtracted, in float64) when softmax is
// set.
func Probabilities(out []float32, softmax bool) []float32 {
	p := append([]float32(nil), out...)
	if !softmax || len(p) == 0 {
		return p
	}
	mx := float64(p[0])
	for _, v := range p {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for i, v := range p {
		e := math.Exp(float64(v) - mx)
		p[i] = float32(e)
		s += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
	}
	return p
}

// ZooPorts describes a zoo model's input and output as PyTorch sees them
// (the weights' source): an NCHW image of the given NHWC input shape and
// logits of classes classes, both of any batch. Zoo manifests carry them
// with output kind Logits.
func ZooPorts(in []int, classes int) (inputs, outputs []weights.Port) {
	src := []int{-1}
	if len(in) == 4 {
		src = append(src, in[3], in[1], in[2])
	}
	inputs = []weights.Port{{Name: "input", Shape: src, Layout: weights.LayoutName(len(src), true)}}
	if len(in) == 4 {
		inputs[0].Perm = []int{0, 3, 1, 2}
	} else {
		inputs[0].Shape = nil
	}
	outputs = []weights.Port{{Name: "output", Kind: weights.Logits, Shape: []int{-1, classes}, Layout: "NC"}}
	return inputs, outputs
}
