package models

import (
	"fmt"
	"math"
	"sort"

	"webcnn/core/data"
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
// (bilinear) to the input's height and width, then
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
		var err error
		if img, err = data.Resize(img, h, w, data.Bilinear); err != nil {
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
