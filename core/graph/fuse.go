package graph

import (
	"encoding/json"
	"math"

	"webcnn/core/weights"
)

// Fuse rewrites a graph for inference, as Build does before binding it:
// a batch_norm that reads a conv or dense output (which nothing else
// reads) is folded into that layer's weights and bias,
//
//	W'[..., c] = W[..., c] * s[c],  b'[c] = (b[c] - mean[c]) * s[c] + beta[c],
//	s[c] = gamma[c] / sqrt(var[c] + eps)
//
// and an activation that follows a conv or dense layer without one
// becomes its fused activation (the kernels apply it in their store). A
// MobileNetV2 imported from Keras layers thus runs 52 convolutions instead
// of 52 convolutions, 52 batch norms (five kernels each) and 35 ReLU6.
//
// Fuse does not modify s or the tensors' data: rewritten weights are new
// slices, and the tensors only batch norms read are left out of the list
// it returns. The rewrite depends on the graph's structure, never on the
// values, so a graph with placeholder weights fuses the same way; a tensor
// without data (planning on shapes) leaves its nodes unfused. It returns
// the number of nodes removed.
func (s *Spec) Fuse(tensors []weights.Tensor) (*Spec, []weights.Tensor, int) {
	out := &Spec{Inputs: s.Inputs, Outputs: s.Outputs, Nodes: append([]Node(nil), s.Nodes...)}
	ts := append([]weights.Tensor(nil), tensors...)
	byName := map[string]int{}
	for i, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return s, tensors, 0 // Build reports it
		}
		byName[t.Name] = i
	}
	dead := make([]bool, len(out.Nodes))
	fused := 0
	for changed := true; changed; {
		changed = false
		// Readers of every value and tensor among live nodes; graph
		// outputs are readers that stay.
		reads := map[string]int{}
		prod := map[string]int{}
		for i, n := range out.Nodes {
			if dead[i] {
				continue
			}
			for _, in := range n.Inputs {
				reads[in]++
			}
			for _, o := range n.Outputs {
				prod[o] = i
			}
		}
		for _, o := range out.Outputs {
			reads[o] += 1 << 20
		}
		for i, n := range out.Nodes {
			if dead[i] || len(n.Inputs) == 0 || len(n.Outputs) != 1 || (n.Op != "batch_norm" && n.Op != "act") {
				continue
			}
			x := n.Inputs[0]
			pi, ok := prod[x]
			if !ok || reads[x] != 1 {
				continue
			}
			p := out.Nodes[pi]
			if (p.Op != "conv" && p.Op != "dense") || len(p.Outputs) != 1 || len(p.Inputs) < 2 || len(p.Inputs) > 3 {
				continue
			}
			np, ok := fuseInto(p, n, ts, byName, reads)
			if !ok {
				continue
			}
			np.Outputs = n.Outputs
			out.Nodes[pi] = np
			dead[i] = true
			fused++
			changed = true
			break
		}
	}
	if fused == 0 {
		return s, tensors, 0
	}
	live := out.Nodes[:0]
	used := map[string]bool{}
	for i, n := range out.Nodes {
		if !dead[i] {
			live = append(live, n)
			for _, in := range n.Inputs {
				used[in] = true
			}
		}
	}
	out.Nodes = live
	kept := ts[:0]
	for _, t := range ts {
		if used[t.Name] {
			kept = append(kept, t)
		}
	}
	return out, kept, fused
}

// fuseInto returns p with n (a batch_norm or act reading p's output)
// folded in, rewriting p's weight and bias in ts; ok is false when the
// pattern does not apply.
func fuseInto(p, n Node, ts []weights.Tensor, byName map[string]int, reads map[string]int) (Node, bool) {
	var attrs struct {
		conv  ConvAttrs
		dense DenseAttrs
	}
	act := &attrs.dense.Act
	if p.Op == "conv" {
		act = &attrs.conv.Act
	}
	if len(p.Attrs) > 0 {
		var err error
		if p.Op == "conv" {
			err = json.Unmarshal(p.Attrs, &attrs.conv)
		} else {
			err = json.Unmarshal(p.Attrs, &attrs.dense)
		}
		if err != nil {
			return p, false
		}
	}
	if *act != nil {
		return p, false
	}
	if n.Op == "act" {
		if len(n.Inputs) != 1 {
			return p, false
		}
		var a Act
		if err := json.Unmarshal(n.Attrs, &a); err != nil || a.Op == "" || a.Op == "affine" {
			return p, false
		}
		*act = &a
		return withAttrs(p, attrs.conv, attrs.dense)
	}
	// batch_norm: x, gamma, beta, mean, var, all tensors of Cout values.
	if len(n.Inputs) != 5 {
		return p, false
	}
	wi, ok := byName[p.Inputs[1]]
	if !ok || reads[p.Inputs[1]] != 1 || len(ts[wi].Shape) == 0 || ts[wi].Data == nil {
		return p, false
	}
	w := ts[wi]
	cout := w.Shape[len(w.Shape)-1]
	if cout <= 0 || len(w.Data)%cout != 0 {
		return p, false
	}
	var bias []float32
	bi := -1
	if len(p.Inputs) == 3 {
		if bi, ok = byName[p.Inputs[2]]; !ok || reads[p.Inputs[2]] != 1 || len(ts[bi].Data) != cout {
			return p, false
		}
		bias = ts[bi].Data
	}
	var bn [4][]float32
	for k := range bn {
		ti, ok := byName[n.Inputs[1+k]]
		if !ok || len(ts[ti].Data) != cout {
			return p, false
		}
		bn[k] = ts[ti].Data
	}
	var na NormAttrs
	if len(n.Attrs) > 0 {
		if err := json.Unmarshal(n.Attrs, &na); err != nil {
			return p, false
		}
	}
	eps := float64(na.eps())
	gamma, beta, mean, vr := bn[0], bn[1], bn[2], bn[3]
	scale := make([]float64, cout)
	nb := make([]float32, cout)
	for c := range scale {
		scale[c] = float64(gamma[c]) / math.Sqrt(float64(vr[c])+eps)
		b := 0.0
		if bias != nil {
			b = float64(bias[c])
		}
		nb[c] = float32((b-float64(mean[c]))*scale[c] + float64(beta[c]))
	}
	nw := make([]float32, len(w.Data))
	for i, v := range w.Data {
		nw[i] = float32(float64(v) * scale[i%cout])
	}
	ts[wi] = weights.Tensor{Name: w.Name, Shape: w.Shape, Data: nw}
	np := p
	np.Inputs = append([]string(nil), p.Inputs...)
	if bi >= 0 {
		ts[bi] = weights.Tensor{Name: ts[bi].Name, Shape: ts[bi].Shape, Data: nb}
	} else {
		// The batch norm's beta tensor becomes the bias (its shape is
		// [Cout]); any other reader of beta would see it changed.
		beta := n.Inputs[2]
		ti := byName[beta]
		if reads[beta] != 1 || len(ts[ti].Shape) != 1 {
			ts[wi] = w
			return p, false
		}
		ts[ti] = weights.Tensor{Name: beta, Shape: ts[ti].Shape, Data: nb}
		np.Inputs = append(np.Inputs, beta)
	}
	return np, true // the attributes are unchanged: no activation yet
}

// withAttrs returns n with its conv or dense attributes re-encoded, or
// false when they have no JSON form.
func withAttrs(n Node, conv ConvAttrs, dense DenseAttrs) (Node, bool) {
	var a any = conv
	if n.Op == "dense" {
		a = dense
	}
	b, err := json.Marshal(a)
	if err != nil {
		return n, false
	}
	n.Attrs = b
	return n, true
}
