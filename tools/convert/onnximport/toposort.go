package onnximport

import (
	"fmt"

	"webcnn/tools/convert/onnx"
)

// sortNodes returns the graph's nodes in an order where every node comes
// after the nodes whose outputs it reads (ONNX requires files to list
// them so, but onnxruntime accepts any order and exporters do not always
// comply). Nodes already in order keep it (Kahn's algorithm, taking the
// earliest ready node first). An input that no node produces (a graph
// input, an initializer, a missing value the translation reports) is
// ready from the start. A cycle is an error naming a node on it.
func sortNodes(nodes []*onnx.Node) ([]*onnx.Node, error) {
	producer := map[string]int{}
	for i, n := range nodes {
		if n == nil {
			continue
		}
		for _, o := range n.Output {
			if o != "" {
				producer[o] = i
			}
		}
	}
	waiting := make([]int, len(nodes)) // inputs still to be produced
	readers := make([][]int, len(nodes))
	for i, n := range nodes {
		if n == nil {
			continue
		}
		for _, in := range n.Input {
			if p, ok := producer[in]; ok && in != "" {
				if p == i {
					return nil, fmt.Errorf("onnx import: node %q (%s) reads its own output %q", nodeLabel(n, i), n.OpType, in)
				}
				waiting[i]++
				readers[p] = append(readers[p], i)
			}
		}
	}
	// The earliest ready node is found by a scan from the first node not
	// yet taken: linear for a sorted file.
	out := make([]*onnx.Node, 0, len(nodes))
	done := make([]bool, len(nodes))
	next := 0 // every index below next is done
	ready := map[int]bool{}
	for i := range nodes {
		if waiting[i] == 0 {
			ready[i] = true
		}
	}
	for len(ready) > 0 {
		i := -1
		for j := next; j < len(nodes); j++ {
			if ready[j] {
				i = j
				break
			}
		}
		delete(ready, i)
		done[i] = true
		for next < len(nodes) && done[next] {
			next++
		}
		if nodes[i] != nil {
			out = append(out, nodes[i])
		}
		for _, r := range readers[i] {
			if waiting[r]--; waiting[r] == 0 {
				ready[r] = true
			}
		}
	}
	for i, n := range nodes {
		if !done[i] {
			return nil, fmt.Errorf("onnx import: node %q (%s) is on a cycle: its inputs depend on its own output", nodeLabel(n, i), n.OpType)
		}
	}
	return out, nil
}

// nodeLabel names a node for errors: its name, or its index.
func nodeLabel(n *onnx.Node, i int) string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprintf("#%d", i)
}
