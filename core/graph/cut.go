package graph

import "fmt"

// FeatureCut cuts a classifier graph at its feature vector: the input of
// its last pooling node (for MobileNetV2 the 7x7 average pool over the
// 1280 channels of out_relu) becomes a global average pool and a flatten,
// so the returned graph's single output "features" is [N, C] for any input
// size. Nodes after the cut (the classifier) are dropped; need names every
// value the kept nodes read, so the caller keeps only those weights.
func (g *Spec) FeatureCut() (cut *Spec, need map[string]bool, err error) {
	last := -1
	for i, n := range g.Nodes {
		if n.Op == "pool" || n.Op == "global_avg_pool" {
			last = i
		}
	}
	if last < 0 {
		return nil, nil, fmt.Errorf("graph: no pooling node to cut at")
	}
	at := g.Nodes[last].Inputs[0]
	// Keep the nodes the cut value depends on, in order.
	need = map[string]bool{at: true}
	keep := make([]bool, last)
	for i := last - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if need[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				need[in] = true
			}
		}
	}
	cut = &Spec{Inputs: g.Inputs, Outputs: []string{"features"}}
	for i, k := range keep {
		if k {
			cut.Nodes = append(cut.Nodes, g.Nodes[i])
		}
	}
	cut.Nodes = append(cut.Nodes,
		NewNode("global_avg_pool", "features_pool", []string{at}, []string{"features_pool"}, nil),
		NewNode("flatten", "features", []string{"features_pool"}, []string{"features"}, nil))
	return cut, need, nil
}
