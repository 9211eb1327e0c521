package onnximport

import (
	"slices"

	"webcnn/core/graph"
	"webcnn/core/weights"
	"webcnn/models"
)

// ports describes the graph's inputs and outputs in the manifest, in ONNX's
// terms: the ONNX names, shapes in ONNX order (-1 for the batch and for
// extents known only at run time) and the permutation from ONNX's axis
// order to the runtime's (NCHW values are held NHWC). outShapes are the
// outputs' shapes in our layout at batch 1 when the input size is known
// (nil otherwise). Each output's kind comes from models.OutputKind.
func (e *importer) ports(m *weights.Manifest, spec *graph.Spec, outShapes [][]int) {
	m.Inputs = nil
	for _, v := range e.inputs {
		m.Inputs = append(m.Inputs, e.port(v.name, v, nil))
	}
	seen := map[string]bool{}
	for _, vi := range e.g.Output {
		if vi == nil {
			continue
		}
		v := e.vals[vi.Name]
		if v == nil || seen[v.name] {
			continue
		}
		seen[v.name] = true
		i := len(m.Outputs)
		var ours []int
		if outShapes != nil && i < len(outShapes) {
			ours = outShapes[i]
		}
		p := e.port(vi.Name, v, ours)
		batch1 := ours
		if batch1 == nil { // unknown extents are 0: a map
			for i, d := range v.ours() {
				batch1 = append(batch1, max(int(d), 0))
				if i == 0 {
					batch1[0] = 1
				}
			}
		}
		p.Kind = models.OutputKind(spec, i, batch1)
		m.Outputs = append(m.Outputs, p)
	}
	if len(m.Outputs) > 0 {
		m.Output = m.Outputs[0].Kind
	}
}

// port describes value v named name; ours, when known, is its shape in
// our layout at batch 1 and fills the extents v.dims leaves unknown.
func (e *importer) port(name string, v *value, ours []int) weights.Port {
	r := len(v.dims)
	p := weights.Port{Name: name, Shape: make([]int, r)}
	perm := identity(r)
	if v.cl {
		perm = toFirst(r) // ONNX axis i is our axis toFirst(r)[i]
		p.Perm = perm
		p.Layout = weights.LayoutName(r, true)
	} else if r == 2 || (r == 4 && slices.Contains(e.inputs, v)) {
		p.Layout = weights.LayoutName(r, r == 2)
	}
	for i, d := range v.dims {
		switch {
		case i == 0 || d == dimBatch:
			p.Shape[i] = -1
		case d > 0:
			p.Shape[i] = int(d)
		case ours != nil && len(ours) == r && ours[perm[i]] > 0:
			p.Shape[i] = ours[perm[i]]
		default:
			p.Shape[i] = -1
		}
	}
	return p
}
