package models_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"webcnn/core/graph"
	"webcnn/core/weights"
	"webcnn/models"
)

// TestOutputKind checks the kinds importers record, on small graphs: a
// softmax over the last axis (directly or through a reshape) and a
// sigmoid (an act node, or fused into a dense layer) give probabilities,
// a plain dense layer logits, an output with spatial extents or unknown
// ones a map whatever computes it.
func TestOutputKind(t *testing.T) {
	node := func(op, name string, in, out string, attrs any) graph.Node {
		return graph.NewNode(op, name, []string{in}, []string{out}, attrs)
	}
	axis := func(a int) graph.AxisAttrs { return graph.AxisAttrs{Axis: &a} }
	sigmoid := graph.Act{Op: "sigmoid"}
	for _, c := range []struct {
		name  string
		nodes []graph.Node
		shape []int
		want  string
	}{
		{"dense", []graph.Node{node("dense", "d", "x", "y", nil)}, []int{1, 5}, weights.Logits},
		{"softmax", []graph.Node{node("dense", "d", "x", "z", nil), node("softmax", "s", "z", "y", axis(-1))}, []int{1, 5}, weights.Probabilities},
		{"softmax axis 1 of rank 2", []graph.Node{node("softmax", "s", "x", "y", axis(1))}, []int{1, 5}, weights.Probabilities},
		{"softmax then reshape", []graph.Node{node("softmax", "s", "x", "z", nil), node("reshape", "r", "z", "y", graph.ReshapeAttrs{Shape: []int{-1, 5}})}, []int{1, 5}, weights.Probabilities},
		{"sigmoid", []graph.Node{node("act", "a", "x", "y", sigmoid)}, []int{1, 1}, weights.Probabilities},
		{"dense with sigmoid", []graph.Node{node("dense", "d", "x", "y", graph.DenseAttrs{Act: &sigmoid})}, []int{1, 3}, weights.Probabilities},
		{"conv map", []graph.Node{node("act", "a", "x", "y", sigmoid)}, []int{1, 8, 6, 1}, weights.Map},
		{"unknown extents", []graph.Node{node("softmax", "s", "x", "y", nil)}, []int{1, 0, 0, 2}, weights.Map},
		{"classifier as [N,1,1,C]", []graph.Node{node("softmax", "s", "x", "y", nil)}, []int{1, 1, 1, 10}, weights.Probabilities},
		{"rank 1", []graph.Node{node("dense", "d", "x", "y", nil)}, []int{1}, weights.Map},
		{"shape unknown", []graph.Node{node("softmax", "s", "x", "y", nil)}, nil, weights.Probabilities},
	} {
		s := &graph.Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: c.nodes}
		if got := models.OutputKind(s, 0, c.shape); got != c.want {
			b, _ := json.Marshal(s)
			t.Errorf("%s %v: %s, want %s (%s)", c.name, c.shape, got, c.want, b)
		}
	}
}

// TestClassifyKinds: Classify applies a softmax to logits only, and
// refuses a map with an error that says how to read it.
func TestClassifyKinds(t *testing.T) {
	out := []float32{2, 0, 1}
	for _, c := range []struct {
		kind string
		want float32 // the top class's probability
	}{
		{"", 0.66524096}, // e^2 / (e^2 + 1 + e): softmax of logits
		{weights.Logits, 0.66524096},
		{weights.Probabilities, 2}, // as it is
	} {
		top, err := models.Classify(&weights.Manifest{Model: "m", Output: c.kind}, out, 1)
		if err != nil || top[0].Index != 0 || math.Abs(float64(top[0].Prob-c.want)) > 1e-6 {
			t.Errorf("kind %q: %+v %v, want class 0 at %v", c.kind, top, err, c.want)
		}
	}
	man := &weights.Manifest{Model: "det", Output: weights.Map, Outputs: []weights.Port{{Name: "maps", Kind: weights.Map, Shape: []int{-1, 1, 640, 640}, Layout: "NCHW"}}}
	_, err := models.Classify(man, out, 1)
	if !errors.Is(err, models.ErrNotClassifier) || !strings.Contains(err.Error(), `"maps" of shape [-1 1 640 640] NCHW`) {
		t.Errorf("a map: %v, want ErrNotClassifier naming the output", err)
	}
}
