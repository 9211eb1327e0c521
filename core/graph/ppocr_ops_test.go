package graph

import (
	"encoding/json"
	"strings"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// runNode runs one node of op with attrs on input x (values of shape xs)
// and the given weights on the CPU backend.
func runNode(t *testing.T, op string, attrs any, xs core.Shape, x []float32, ws ...weights.Tensor) ([]float32, core.Shape) {
	t.Helper()
	ins := []string{"x"}
	for _, w := range ws {
		ins = append(ins, w.Name)
	}
	s := Spec{Inputs: []string{"x"}, Outputs: []string{"y"}, Nodes: []Node{NewNode(op, "n", ins, []string{"y"}, attrs)}}
	b := cpu.New()
	g, err := New(b, specJSON(t, s), ws)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	in, err := core.FromData(b, xs, x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Forward(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	return v, y.Shape()
}

// TestResizeExamples checks resize on the examples of ONNX's operator
// documentation (Operators.md, Resize: resize_upsample_scales_linear,
// ..._linear_align_corners, resize_downsample_scales_nearest,
// resize_upsample_scales_nearest), held NHWC.
func TestResizeExamples(t *testing.T) {
	x22 := []float32{1, 2, 3, 4}
	cases := []struct {
		name string
		a    ResizeAttrs
		xs   core.Shape
		x    []float32
		want []float32
		out  core.Shape
	}{
		{"linear half_pixel 2x", ResizeAttrs{Mode: "linear", Scales: []float32{1, 2, 2, 1}}, core.Shape{1, 2, 2, 1}, x22,
			[]float32{1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}, core.Shape{1, 4, 4, 1}},
		{"linear align_corners 2x", ResizeAttrs{Mode: "linear", Coord: "align_corners", Scales: []float32{1, 2, 2, 1}}, core.Shape{1, 2, 2, 1}, x22,
			[]float32{1, 4.0 / 3, 5.0 / 3, 2, 5.0 / 3, 2, 7.0 / 3, 8.0 / 3, 7.0 / 3, 8.0 / 3, 3, 10.0 / 3, 3, 10.0 / 3, 11.0 / 3, 4}, core.Shape{1, 4, 4, 1}},
		{"nearest down 0.6", ResizeAttrs{Mode: "nearest", Scales: []float32{1, 0.6, 0.6, 1}}, core.Shape{1, 2, 4, 1}, []float32{1, 2, 3, 4, 5, 6, 7, 8},
			[]float32{1, 3}, core.Shape{1, 1, 2, 1}},
		{"nearest up 2x3 (replication)", ResizeAttrs{Mode: "nearest", Scales: []float32{1, 2, 3, 1}}, core.Shape{1, 2, 2, 1}, x22,
			[]float32{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}, core.Shape{1, 4, 6, 1}},
	}
	for _, c := range cases {
		got, shape := runNode(t, "resize", c.a, c.xs, c.x)
		if !shape.Equal(c.out) || maxDiff(got, c.want) > 1e-6 {
			t.Errorf("%s: got %v %v, want %v %v", c.name, shape, got, c.out, c.want)
		}
	}
}

// TestResizeAttrs: bad attributes are refused with a message naming them.
func TestResizeAttrs(t *testing.T) {
	for _, c := range []struct {
		a    ResizeAttrs
		want string
	}{
		{ResizeAttrs{Mode: "area", Scales: []float32{1, 2}}, "mode"},
		{ResizeAttrs{Mode: "linear", Coord: "corner", Scales: []float32{1, 2}}, "coord"},
		{ResizeAttrs{Mode: "nearest", Nearest: "up", Scales: []float32{1, 2}}, "nearest"},
		{ResizeAttrs{Mode: "linear"}, "scales or sizes"},
		{ResizeAttrs{Mode: "linear", Scales: []float32{1, -2}}, "scales"},
		{ResizeAttrs{Mode: "linear", Scales: []float32{1, 2}, Roi: []float32{0}}, "roi"},
	} {
		raw, _ := json.Marshal(c.a)
		_, err := ops["resize"].decode(raw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.a, err, c.want)
		}
	}
}

// TestMatMulPaths computes batched, broadcast products both ways (one
// broadcast multiply and sum, and one matrix product per batch) and
// against float64 sums.
func TestMatMulPaths(t *testing.T) {
	b := cpu.New()
	rng := core.NewRNG(3)
	for _, c := range []struct{ a, b core.Shape }{
		{core.Shape{2, 3, 4, 5}, core.Shape{2, 3, 5, 6}},
		{core.Shape{2, 1, 4, 5}, core.Shape{3, 5, 2}},
		{core.Shape{4, 5}, core.Shape{3, 5, 2}},
		{core.Shape{3, 4, 5}, core.Shape{5}},
		{core.Shape{5}, core.Shape{2, 5, 3}},
	} {
		at, bt := randTensor(rng, "a", c.a...), randTensor(rng, "b", c.b...)
		s, err := matmulShapes(c.a, c.b)
		if err != nil {
			t.Fatal(err)
		}
		want := refMatMul(at.Data, bt.Data, s)
		for _, limit := range []int{1 << 22, 0} {
			old := matmulBroadcastLimit
			matmulBroadcastLimit = limit
			x, y := dev(t, b, at), dev(t, b, bt)
			out, err := matmulOp{}.run([]*core.Tensor{x, y})
			matmulBroadcastLimit = old
			if err != nil {
				t.Fatal(err)
			}
			got, _ := out[0].Data()
			if !out[0].Shape().Equal(s.out) || maxDiff(got, want) > 1e-5 {
				t.Errorf("%v x %v (limit %d): got %v %v, want %v %v", c.a, c.b, limit, out[0].Shape(), got, s.out, want)
			}
		}
	}
	if _, err := matmulShapes(core.Shape{2, 3}, core.Shape{4, 5}); err == nil || !strings.Contains(err.Error(), "inner") {
		t.Errorf("[2 3] x [4 5]: error %v", err)
	}
}

// refMatMul is the product in float64, batch by batch with broadcasting.
func refMatMul(a, b []float32, s mmShapes) []float32 {
	r := s.a.Rank()
	nb := s.batch.Size()
	out := make([]float32, 0, nb*s.m*s.n)
	index := func(shape core.Shape, i int) int {
		off, stride := 0, 1
		for ax := r - 3; ax >= 0; ax-- {
			j := i % s.batch[ax]
			i /= s.batch[ax]
			if shape[ax] > 1 {
				off += j * stride
			}
			stride *= shape[ax]
		}
		return off
	}
	for i := range nb {
		ao, bo := index(s.a, i)*s.m*s.k, index(s.b, i)*s.k*s.n
		for m := range s.m {
			for n := range s.n {
				sum := 0.0
				for k := range s.k {
					sum += float64(a[ao+m*s.k+k]) * float64(b[bo+k*s.n+n])
				}
				out = append(out, float32(sum))
			}
		}
	}
	return out
}

// TestConvTransposeDefinition holds conv_transpose to its definition,
// y[o] += x[i] w[k] where o = i*stride + k*dilation - pad_before, in
// float64: 1-D by hand, 2-D with every attribute on random data.
func TestConvTransposeDefinition(t *testing.T) {
	// [1 2 3] by [1 1] with stride 2: each input twice.
	got, shape := runNode(t, "conv_transpose", ConvTransposeAttrs{Stride: []int{2}}, core.Shape{1, 3, 1}, []float32{1, 2, 3},
		weights.Tensor{Name: "w", Shape: []int{2, 1, 1}, Data: []float32{1, 1}})
	if !shape.Equal(core.Shape{1, 6, 1}) || maxDiff(got, []float32{1, 1, 2, 2, 3, 3}) != 0 {
		t.Errorf("1-D: got %v %v", shape, got)
	}
	rng := core.NewRNG(5)
	a := ConvTransposeAttrs{Stride: []int{2, 3}, Dilation: []int{2, 1}, PadBefore: []int{1, 0}, PadAfter: []int{2, 1}, OutputPadding: []int{1, 2}, Groups: 2}
	const n, ih, iw, cin, cout, kh, kw = 2, 3, 4, 4, 6, 3, 2
	x := randTensor(rng, "x", n, ih, iw, cin)
	w := randTensor(rng, "w", kh, kw, cout/2, cin)
	bias := randTensor(rng, "b", cout)
	got, shape = runNode(t, "conv_transpose", a, core.Shape{n, ih, iw, cin}, x.Data, w, bias)
	oh := 2*(ih-1) + 1 + (kh-1)*2 + 1 - 3
	ow := 3*(iw-1) + 2 + (kw-1)*1 + 1 - 1
	want := make([]float64, n*oh*ow*cout)
	for b := range n {
		for i := range ih {
			for j := range iw {
				for ci := range cin {
					g := ci / (cin / 2)
					for u := range kh {
						for v := range kw {
							o, p := i*2+u*2-1, j*3+v-0
							if o < 0 || o >= oh || p < 0 || p >= ow {
								continue
							}
							for co := range cout / 2 {
								want[((b*oh+o)*ow+p)*cout+g*(cout/2)+co] += float64(x.Data[((b*ih+i)*iw+j)*cin+ci]) * float64(w.Data[((u*kw+v)*(cout/2)+co)*cin+ci])
							}
						}
					}
				}
			}
		}
	}
	wf := make([]float32, len(want))
	for i := range want {
		wf[i] = float32(want[i] + float64(bias.Data[i%cout]))
	}
	if !shape.Equal(core.Shape{n, oh, ow, cout}) || maxDiff(got, wf) > 1e-5 {
		t.Errorf("2-D: shape %v, want %v; max difference %g", shape, core.Shape{n, oh, ow, cout}, maxDiff(got, wf))
	}
}
