// Package zoomap maps a PyTorch state_dict onto a zoo architecture by
// name, converting each tensor from torch's layout to ours:
//
//	conv weight        OIHW [O, I, kh, kw]  -> HWIO [kh, kw, I, O]
//	linear weight      [Out, In]            -> [In, Out]
//	linear as 1x1 conv [Out, In]            -> [1, 1, In, Out] (ConvNeXt's pointwise layers)
//	per-channel        [C, 1, 1]            -> [C] (ConvNeXt's layer_scale)
//	first linear after a spatial flatten: its input features are also
//	permuted from torch's C, H, W order to our H, W, C order (AlexNet's
//	classifier.1, VGG's classifier.0, LeNet-5's fc1)
//
// Biases and batch-norm tensors keep their layout; num_batches_tracked
// is ignored. The model is built on the shape-only backend, so mapping
// even VGG costs no memory beyond the tensors themselves.
package zoomap

import (
	"errors"
	"fmt"
	"strings"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// ErrMismatch reports a state_dict that does not fit the architecture.
var ErrMismatch = errors.New("state_dict does not fit the architecture")

// param is one parameter of a zoo model: our name and shape, and for the
// first linear after a spatial flatten the map it flattens.
type param struct {
	name  string
	shape core.Shape
	flat  *hwc
}

type hwc struct{ h, w, c int }

// params lists a spec's parameters in the model's order.
func params(spec models.Spec) ([]param, error) {
	l, err := spec.New(&nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true})
	if err != nil {
		return nil, err
	}
	_, rows, err := nn.PlanOf(l, spec.Input)
	if err != nil {
		return nil, fmt.Errorf("zoomap: %s: %w", spec.ID, err)
	}
	flat := flattened(rows)
	var ps []param
	for _, p := range l.Params() {
		q := param{name: p.Name, shape: p.T.Shape()}
		if layer, ok := strings.CutSuffix(p.Name, ".weight"); ok && q.shape.Rank() == 2 {
			q.flat = flat[layer]
		}
		ps = append(ps, q)
	}
	return ps, nil
}

// flattened finds, in a plan, the linear layers whose input is a Flatten
// of an [N, H, W, C] map with H*W > 1 (the row before the Flatten is the
// map; layers without parameters, such as dropout, may sit between the
// Flatten and the linear layer).
func flattened(rows []nn.Row) map[string]*hwc {
	out := map[string]*hwc{}
	for i, r := range rows {
		if r.Kind != "Flatten" || i == 0 {
			continue
		}
		in := rows[i-1].Out
		if in.Rank() != 4 || in[1]*in[2] == 1 || r.Out.Rank() != 2 || in.Size()/in[0] != r.Out[1] {
			continue
		}
		for _, n := range rows[i+1:] {
			if strings.HasPrefix(n.Kind, "Linear") {
				out[n.Name] = &hwc{in[1], in[2], in[3]}
				break
			}
			if n.Params > 0 {
				break
			}
		}
	}
	return out
}

// ignored are state_dict entries with no counterpart in inference.
func ignored(name string) bool { return strings.HasSuffix(name, "num_batches_tracked") }

// FromTorch returns the parameters of spec's model, in the model's order,
// from torch tensors of the same names in torch's layouts. Every missing,
// unexpected or mis-shaped tensor is listed in one error (ErrMismatch)
// with the shape expected and the shape found.
func FromTorch(spec models.Spec, ts []weights.Tensor) ([]weights.Tensor, error) {
	ps, err := params(spec)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]weights.Tensor, len(ts))
	var problems []string
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: listed twice", t.Name))
		}
		byName[t.Name] = t
	}
	want := map[string]bool{}
	out := make([]weights.Tensor, 0, len(ps))
	for _, p := range ps {
		want[p.name] = true
		t, ok := byName[p.name]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %s: want %s (ours %v)", p.name, torchShapes(p.shape), p.shape))
			continue
		}
		v := fromTorch(p, t)
		if v == nil {
			problems = append(problems, fmt.Sprintf("%s: found %v, want %s (ours %v)", p.name, core.Shape(t.Shape), torchShapes(p.shape), p.shape))
			continue
		}
		out = append(out, weights.Tensor{Name: p.name, Shape: p.shape.Clone(), Data: v})
	}
	for _, t := range ts {
		if !want[t.Name] && !ignored(t.Name) {
			problems = append(problems, fmt.Sprintf("unexpected %s %v", t.Name, core.Shape(t.Shape)))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("zoomap: %s: %w: %d problems:\n\t%s", spec.ID, ErrMismatch, len(problems), strings.Join(problems, "\n\t"))
	}
	return out, nil
}

// torchShapes describes the torch shapes accepted for one of ours.
func torchShapes(s core.Shape) string {
	switch s.Rank() {
	case 4:
		if s[0] == 1 && s[1] == 1 {
			return fmt.Sprintf("%v or %v", core.Shape{s[3], s[2], 1, 1}, core.Shape{s[3], s[2]})
		}
		return fmt.Sprint(core.Shape{s[3], s[2], s[0], s[1]})
	case 2:
		return fmt.Sprint(core.Shape{s[1], s[0]})
	case 1:
		return fmt.Sprintf("%v or %v", s, core.Shape{s[0], 1, 1})
	}
	return fmt.Sprint(s)
}

// fromTorch converts one tensor to our layout; nil if its shape does not fit.
func fromTorch(p param, t weights.Tensor) []float32 {
	s, ts := p.shape, core.Shape(t.Shape)
	if ts.Size() != len(t.Data) || ts.Size() != s.Size() {
		return nil
	}
	switch s.Rank() {
	case 4:
		kh, kw, ci, co := s[0], s[1], s[2], s[3]
		switch {
		case ts.Equal(core.Shape{co, ci, kh, kw}):
			return permute(t.Data, []int{co, ci, kh, kw}, []int{2, 3, 1, 0})
		case kh == 1 && kw == 1 && ts.Equal(core.Shape{co, ci}):
			return permute(t.Data, []int{co, ci}, []int{1, 0})
		}
	case 2:
		in, out := s[0], s[1]
		if !ts.Equal(core.Shape{out, in}) {
			return nil
		}
		v := permute(t.Data, []int{out, in}, []int{1, 0})
		if f := p.flat; f != nil && f.h*f.w*f.c == in {
			// Our row (h*W+w)*C+c is torch's input feature c*H*W + h*W + w.
			return permute(v, []int{f.c, f.h, f.w, out}, []int{1, 2, 0, 3})
		}
		return v
	case 1:
		if ts.Rank() >= 1 && ts[0] == s[0] {
			return append([]float32(nil), t.Data...)
		}
	default:
		if ts.Equal(s) {
			return append([]float32(nil), t.Data...)
		}
	}
	return nil
}

// ToTorch is FromTorch's inverse: it returns a model's tensors (ours, by
// name) in torch's layouts and the model's order, with a
// num_batches_tracked of 0 after each batch norm's running_var, as
// torch's state_dict() has. Every weight of rank 4 becomes a conv's OIHW
// and [C] stays [C]: ConvNeXt's pointwise layers and layer_scale come out
// as 1x1 convs and vectors, which FromTorch accepts as well.
func ToTorch(spec models.Spec, ours map[string][]float32) ([]weights.Tensor, error) {
	ps, err := params(spec)
	if err != nil {
		return nil, err
	}
	var out []weights.Tensor
	for _, p := range ps {
		v, ok := ours[p.name]
		if !ok || len(v) != p.shape.Size() {
			return nil, fmt.Errorf("zoomap: %s: tensor %s: %d values, want %v", spec.ID, p.name, len(v), p.shape)
		}
		s := p.shape
		t := weights.Tensor{Name: p.name, Shape: s.Clone(), Data: append([]float32(nil), v...)}
		switch s.Rank() {
		case 4:
			t.Shape = []int{s[3], s[2], s[0], s[1]}
			t.Data = permute(v, s, []int{3, 2, 0, 1})
		case 2:
			if f := p.flat; f != nil && f.h*f.w*f.c == s[0] {
				v = permute(v, []int{f.h, f.w, f.c, s[1]}, []int{2, 0, 1, 3})
			}
			t.Shape = []int{s[1], s[0]}
			t.Data = permute(v, s, []int{1, 0})
		}
		out = append(out, t)
		if layer, ok := strings.CutSuffix(p.name, ".running_var"); ok {
			out = append(out, weights.Tensor{Name: layer + ".num_batches_tracked", Shape: []int{}, Data: []float32{0}})
		}
	}
	return out, nil
}

// permute returns v, of row-major shape dims, with its axes reordered:
// axis i of the result is axis perm[i] of v.
func permute(v []float32, dims, perm []int) []float32 {
	r := len(dims)
	stride := make([]int, r) // v's strides
	n := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = n
		n *= dims[i]
	}
	od := make([]int, r) // result dims and, for each, the stride in v
	os := make([]int, r)
	for i, p := range perm {
		od[i], os[i] = dims[p], stride[p]
	}
	out := make([]float32, len(v))
	idx := make([]int, r)
	pos := 0
	for i := range out {
		out[i] = v[pos]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			pos += os[k]
			if idx[k] < od[k] {
				break
			}
			pos -= idx[k] * os[k]
			idx[k] = 0
		}
	}
	return out
}
