package graph

import (
	"encoding/json"
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// tailGraph is a small MobileNetV2-like feature graph: a 3x3 conv
// (ReLU6), a linear 1x1 projection (a boundary), an inverted residual
// (expand 1x1 ReLU6, depthwise 3x3 ReLU6, project 1x1, add: a boundary),
// a 1x1 conv (ReLU6), global average pool and flatten. Weights seeded.
func tailGraph(t *testing.T) (*Spec, []weights.Tensor) {
	t.Helper()
	relu6 := &Act{Op: "relu6"}
	g := &Spec{Inputs: []string{"x"}, Outputs: []string{"f"}}
	var ts []weights.Tensor
	rng := core.NewRNG(11)
	tensor := func(name string, shape ...int) string {
		n := core.Shape(shape).Size()
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.NormFloat32() * 0.3
		}
		ts = append(ts, weights.Tensor{Name: name, Shape: shape, Data: v})
		return name
	}
	conv := func(name, in string, k, cin, cout, groups int, act *Act) string {
		g.Nodes = append(g.Nodes, NewNode("conv", name, []string{in, tensor(name+"/w", k, k, cin/max(groups, 1), cout), tensor(name+"/b", cout)}, []string{name},
			ConvAttrs{Pad: "same", Groups: groups, Act: act}))
		return name
	}
	a := conv("c1", "x", 3, 3, 8, 0, relu6)
	p := conv("p1", a, 1, 8, 4, 0, nil)
	e := conv("e2", p, 1, 4, 8, 0, relu6)
	d := conv("d2", e, 3, 8, 8, 8, relu6)
	q := conv("p2", d, 1, 8, 4, 0, nil)
	g.Nodes = append(g.Nodes, NewNode("add", "add2", []string{p, q}, []string{"add2"}, nil))
	c := conv("c3", "add2", 1, 4, 6, 0, relu6)
	g.Nodes = append(g.Nodes,
		NewNode("global_avg_pool", "pool", []string{c}, []string{"pool"}, nil),
		NewNode("flatten", "f", []string{"pool"}, []string{"f"}, nil))
	return g, ts
}

// TestTailSplit: the boundaries are the add and the linear projection;
// stem then tail (lowered to nn layers) computes what the whole graph
// does; the tail's gradients agree with central finite differences of
// the graph's output.
func TestTailSplit(t *testing.T) {
	g, ts := tailGraph(t)
	if got := g.Boundaries(); len(got) != 2 || got[0] != "add2" || got[1] != "p1" {
		t.Fatalf("boundaries %v, want [add2 p1]", got)
	}
	b := cpu.New()
	raw, _ := json.Marshal(g)
	full, err := New(b, raw, ts)
	if err != nil {
		t.Fatal(err)
	}
	rng := core.NewRNG(5)
	x := make([]float32, 2*7*7*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	shape := core.Shape{2, 7, 7, 3}
	want, err := nn.Infer(b, full, shape, x)
	if err != nil {
		t.Fatal(err)
	}
	for blocks := 1; blocks <= 2; blocks++ {
		s, err := g.SplitTail(blocks)
		if err != nil {
			t.Fatal(err)
		}
		sraw, _ := json.Marshal(s.Stem)
		stem, err := New(b, sraw, Need(s.Stem.Nodes, ts))
		if err != nil {
			t.Fatal(err)
		}
		mid, err := nn.Infer(b, stem, shape, x)
		if err != nil {
			t.Fatal(err)
		}
		tail, err := s.TailLayer(b, Need(s.Tail, ts))
		if err != nil {
			t.Fatal(err)
		}
		midShape := core.Shape{2, 7, 7, 4}
		got, err := nn.Infer(b, tail, midShape, mid)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("%d blocks: output %d: stem+tail %v, graph %v", blocks, i, got[i], want[i])
			}
		}
		// Gradients of L = sum(out * r) against central differences.
		r := make([]float32, len(want))
		for i := range r {
			r[i] = rng.NormFloat32()
		}
		loss := func() float64 {
			y, err := nn.Infer(b, tail, midShape, mid)
			if err != nil {
				t.Fatal(err)
			}
			var s float64
			for i := range y {
				s += float64(y[i]) * float64(r[i])
			}
			return s
		}
		in, _ := core.FromData(b, midShape, mid)
		y, pb, err := nn.ForwardGrad(&nn.Context{Mode: core.Training}, tail, in, false)
		if err != nil {
			t.Fatal(err)
		}
		dy, _ := core.FromData(b, y.Shape(), r)
		grads, err := nn.Backward(pb, dy)
		if err != nil {
			t.Fatal(err)
		}
		ps := tail.Params()
		if len(ps) != 2*(1+3*(blocks-1)) {
			t.Errorf("%d blocks: %d parameters, want %d", blocks, len(ps), 2*(1+3*(blocks-1)))
		}
		checked := 0
		for _, p := range ps {
			gt := grads.Of(p.T)
			if gt == nil {
				t.Fatalf("%s has no gradient", p.Name)
			}
			gv, _ := gt.Data()
			v, _ := p.T.Data()
			for _, i := range []int{0, len(v) / 2, len(v) - 1} {
				const eps = 1e-3
				orig := v[i]
				v[i] = orig + eps
				b.Write(p.T.Buffer(), 0, v)
				up := loss()
				v[i] = orig - eps
				b.Write(p.T.Buffer(), 0, v)
				down := loss()
				v[i] = orig
				b.Write(p.T.Buffer(), 0, v)
				fd := (up - down) / (2 * eps)
				if math.Abs(fd-float64(gv[i])) > 2e-3+2e-2*math.Abs(fd) {
					t.Errorf("%d blocks: d/d %s[%d]: backward %.5f, finite differences %.5f", blocks, p.Name, i, gv[i], fd)
				}
				checked++
			}
		}
		t.Logf("%d blocks: tail at %s, %d nodes, %d parameters, %d gradients checked", blocks, s.At, len(s.Tail), len(ps), checked)
		grads.Free()
		in.Free()
		y.Free()
		dy.Free()
	}
	if _, err := g.SplitTail(3); err == nil {
		t.Error("3 blocks of a graph with 2 boundaries: no error")
	}
}
