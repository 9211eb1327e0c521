// Package models is the zoo of the lecture's architectures: one file per
// family, constructors with the papers' arguments, torchvision's
// state_dict names wherever torchvision has the model, and a Zoo table.
//
// Every model takes NHWC input and returns logits [N, classes]. Weights are
// Kaiming/He random unless loaded (nn.Load, or the converter's manifests).
package models

import (
	"fmt"
	"sort"

	"webcnn/core"
	"webcnn/core/nn"
)

// Spec describes one zoo entry.
type Spec struct {
	ID      string     // "resnet50"
	Paper   string     // short citation
	Input   core.Shape // [1, H, W, C]
	Classes int
	Build   func(bd *nn.Builder) nn.Layer
	// Published reference figures that tests hold the model to (0: none
	// published). MACs are multiply-adds of one image.
	Params, MACs int64
	Source       string // where Params and MACs come from
}

// New builds the model on bd's backend with bd's seeded He initialization.
func (s Spec) New(bd *nn.Builder) (nn.Layer, error) {
	l := s.Build(bd)
	if err := bd.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.ID, err)
	}
	return l, nil
}

// Lookup returns the zoo entry with the given id.
func Lookup(id string) (Spec, error) {
	for _, s := range Zoo {
		if s.ID == id {
			return s, nil
		}
	}
	ids := make([]string, len(Zoo))
	for i, s := range Zoo {
		ids[i] = s.ID
	}
	sort.Strings(ids)
	return Spec{}, fmt.Errorf("models: unknown model %q (have %v)", id, ids)
}

// in224 is the ImageNet input of most of the zoo.
var in224 = core.Shape{1, 224, 224, 3}

// Zoo lists every model of the lecture.
var Zoo = []Spec{
	{ID: "lenet5", Paper: "LeCun et al. 1998 (the lecture's variant)", Input: core.Shape{1, 28, 28, 1}, Classes: 10,
		Build: func(bd *nn.Builder) nn.Layer { return LeNet5(bd, 10) }, Params: 44426, Source: "computed from the lecture's description"},
}
