package onnximport

import (
	"math"
	"slices"

	"webcnn/core/graph"
)

// fuse simplifies the translated graph: hard swish patterns become one
// activation, chains of views one reshape, then convolutions and dense
// layers absorb what follows them while nothing else reads their output.
func (e *importer) fuse() {
	e.fuseHardSwish()
	e.collapseViews()
	for e.absorbOnce() {
	}
}

// collapseViews makes a reshape of a reshape or flatten (that nothing
// else reads) one reshape. The importer writes a 0 (copy) only for the
// batch on axis 0, which both views keep there, so the target stays valid.
func (e *importer) collapseViews() {
	prod, uses := e.index()
	for _, n := range e.nodes {
		if n.dead || n.op != "reshape" {
			continue
		}
		for {
			p := prod[n.in[0].v]
			if p == nil || p.dead || (p.op != "reshape" && p.op != "flatten") || uses[n.in[0].v] != 1 {
				break
			}
			n.in = p.in
			p.dead = true
		}
	}
}

// index returns the producer and the number of readers of every value
// (graph outputs count as readers that never go away).
func (e *importer) index() (map[string]*irNode, map[string]int) {
	prod, uses := map[string]*irNode{}, map[string]int{}
	for _, n := range e.nodes {
		if n.dead {
			continue
		}
		for _, o := range n.out {
			prod[o] = n
		}
		for _, in := range n.in {
			if in.w == nil {
				uses[in.v]++
			}
		}
	}
	for _, o := range e.outs {
		uses[o] += 1 << 20
	}
	return prod, uses
}

// actOf returns the activation of an act node.
func actOf(n *irNode) (graph.Act, bool) {
	if n == nil || n.dead || n.op != "act" {
		return graph.Act{}, false
	}
	a, ok := n.attrs.(graph.Act)
	return a, ok
}

// fuseHardSwish rewrites x * relu6(x + 3) * (1/6), as ONNX exporters write
// hard swish (Add, Clip, Mul, Div), into hard_swish(x).
func (e *importer) fuseHardSwish() {
	prod, uses := e.index()
	for _, d := range e.nodes {
		a, ok := actOf(d)
		if !ok || a.Op != "affine" || math.Abs(float64(a.Alpha)-1.0/6) > 1e-6 || a.Beta != 0 {
			continue
		}
		m := prod[d.in[0].v]
		if m == nil || m.dead || m.op != "mul" || uses[m.out[0]] != 1 || m.in[0].w != nil || m.in[1].w != nil {
			continue
		}
		for _, k := range [][2]int{{0, 1}, {1, 0}} {
			x, c := m.in[k[0]].v, m.in[k[1]].v
			cn := prod[c]
			ca, ok := actOf(cn)
			if !ok || uses[c] != 1 || !(ca.Op == "relu6" || ca.Op == "clip" && ca.Alpha == 0 && ca.Beta == 6) {
				continue
			}
			an := prod[cn.in[0].v]
			aa, ok := actOf(an)
			if !ok || uses[an.out[0]] != 1 || aa.Op != "affine" || aa.Alpha != 1 || aa.Beta != 3 || an.in[0].v != x {
				continue
			}
			d.attrs = graph.Act{Op: "hard_swish"}
			d.in = []irIn{{v: x}}
			m.dead, cn.dead, an.dead = true, true, true
			break
		}
	}
}

// absorbOnce folds one node into the convolution or dense layer before it.
func (e *importer) absorbOnce() bool {
	prod, uses := e.index()
	for _, n := range e.nodes {
		if n.dead {
			continue
		}
		xi := -1
		for i, in := range n.in {
			if in.w == nil {
				if xi >= 0 {
					xi = -1
					break
				}
				xi = i
			}
		}
		if xi < 0 {
			continue
		}
		v := n.in[xi].v
		p := prod[v]
		if p == nil || uses[v] != 1 {
			continue
		}
		if e.absorb(p, n, xi) {
			n.dead = true
			p.out = n.out
			return true
		}
	}
	return false
}

// absorb folds n (reading p's output at input xi) into p, a conv or dense
// layer without activation: batch norm and affine activations into the
// weights and bias, Add of a per-channel constant into the bias, any other
// activation as the fused one.
func (e *importer) absorb(p, n *irNode, xi int) bool {
	var act **graph.Act
	switch a := p.attrs.(type) {
	case *graph.ConvAttrs:
		act = &a.Act
	case *graph.DenseAttrs:
		act = &a.Act
	default:
		return false
	}
	if *act != nil || len(p.in) < 2 || p.in[1].w == nil {
		return false
	}
	w := p.in[1].w
	cout := w.shape[len(w.shape)-1]
	var b *wt
	if len(p.in) > 2 {
		if b = p.in[2].w; b == nil {
			return false
		}
	}
	bias := make([]float64, cout)
	if b != nil {
		for i, v := range b.data {
			bias[i] = float64(v)
		}
	}
	scale := make([]float64, cout)
	for i := range scale {
		scale[i] = 1
	}
	biasName := ""
	switch n.op {
	case "act":
		a, _ := n.attrs.(graph.Act)
		if a.Op != "affine" {
			*act = &a
			return true
		}
		for c := range scale {
			scale[c] = float64(a.Alpha)
			bias[c] = bias[c]*float64(a.Alpha) + float64(a.Beta)
		}
		biasName = p.name + "/bias"
	case "batch_norm":
		ps := make([]*wt, 4)
		for i := range ps {
			if ps[i] = n.in[1+i].w; ps[i] == nil || len(ps[i].data) != cout {
				return false
			}
		}
		eps := 1e-5
		if na, ok := n.attrs.(graph.NormAttrs); ok && na.Eps != nil {
			eps = float64(*na.Eps)
		}
		gamma, beta, mean, vr := ps[0].data, ps[1].data, ps[2].data, ps[3].data
		for c := range scale {
			s := float64(gamma[c]) / math.Sqrt(float64(vr[c])+eps)
			if math.IsNaN(s) || math.IsInf(s, 0) {
				return false
			}
			scale[c] = s
			bias[c] = (bias[c]-float64(mean[c]))*s + float64(beta[c])
		}
		biasName = ps[1].name
	case "add":
		k := n.in[1-xi].w
		if k == nil || !(len(k.data) == 1 || len(k.shape) == 1 && k.shape[0] == cout) {
			return false
		}
		for c := range bias {
			bias[c] += float64(k.data[min(c, len(k.data)-1)])
		}
		biasName = k.name
	default:
		return false
	}
	if !slices.ContainsFunc(scale, func(s float64) bool { return s != 1 }) {
		// the weights stay
	} else {
		nw := make([]float32, len(w.data))
		for i, v := range w.data {
			nw[i] = float32(float64(v) * scale[i%cout])
		}
		p.in[1] = irIn{w: &wt{name: w.name, shape: w.shape, data: nw}}
	}
	nb := make([]float32, cout)
	for i, v := range bias {
		nb[i] = float32(v)
	}
	if b != nil {
		biasName = b.name
	}
	nbw := &wt{name: biasName, shape: []int{cout}, data: nb}
	if len(p.in) > 2 {
		p.in[2] = irIn{w: nbw}
	} else {
		p.in = append(p.in, irIn{w: nbw})
	}
	return true
}
