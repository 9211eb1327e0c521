package onnximport

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"webcnn/core"
	"webcnn/tools/convert/onnx"
	"webcnn/tools/convert/onnx/ort"
)

// ortCase is a small graph on input "x" (ONNX dims in), compared with
// onnxruntime's output within tol of max(|output|, 1) (0: 1e-5).
type ortCase struct {
	name  string
	opset int64
	in    []int64
	graph func(b *builder) string
	tol   float64
}

// checkCases imports every case, runs them all in one onnxruntime
// process, then runs each imported graph on the CPU backend and compares.
// Inputs are uniform in [-1, 1]; rank-4 inputs are NCHW images, fed NHWC.
func checkCases(t *testing.T, seed uint64, cases []ortCase) {
	rt := runtime(t)
	dir := t.TempDir()
	type prepared struct {
		raw []byte
		x   []float32
		job int
	}
	preps := make([]prepared, len(cases))
	var jobs []ort.Job
	for i, c := range cases {
		raw := c.model(seed, i)
		path := filepath.Join(dir, fmt.Sprintf("case%d.onnx", i))
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1000+uint64(i)))
		dims := make([]int, len(c.in))
		n := 1
		for k, d := range c.in {
			dims[k] = int(d)
			n *= int(d)
		}
		x := make([]float32, n)
		for k := range x {
			x[k] = float32(2*rng.Float64() - 1)
		}
		preps[i] = prepared{raw: raw, x: x, job: len(jobs)}
		jobs = append(jobs, ort.Job{Model: path, In: x, Dims: dims})
	}
	res, err := rt.RunBatch(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := preps[i]
			r := res[p.job]
			if r.Err != nil {
				t.Fatalf("onnxruntime: %v", r.Err)
			}
			man, ts, err := Import(p.raw, "case")
			if err != nil {
				t.Fatal(err)
			}
			in := c.in
			shape := make(core.Shape, len(in))
			for k, d := range in {
				shape[k] = int(d)
			}
			ours := p.x
			if len(in) == 4 && (man.Input.Shape == nil || !slices.Equal(man.Input.Shape[1:], []int(shape[1:]))) {
				shape = core.Shape{int(in[0]), int(in[2]), int(in[3]), int(in[1])}
				ours = nhwc(p.x, shape[0], shape[3], shape[1], shape[2])
			}
			g := build(t, man, ts)
			got, gs := forward(t, g, shape, ours)
			want, dims := r.Out, r.Dims
			switch {
			case slices.Equal([]int(gs), dims):
			case len(dims) >= 3 && slices.Equal([]int(gs), permuteInts(dims, toLast(len(dims)))):
				n, c := dims[0], dims[1]
				want = nhwc(want, n, c, len(want)/(n*c), 1)
			default:
				t.Fatalf("output shape %v, onnxruntime %v", gs, dims)
			}
			tol := c.tol
			if tol == 0 {
				tol = 1e-5
			}
			d, s := maxDiff(got, want)
			if d > tol*math.Max(s, 1) || math.IsNaN(d) {
				t.Errorf("outputs %v differ by %g (max |output| %g)\n ours %v\n  ort %v", dims, d, s, got[:min(12, len(got))], want[:min(12, len(want))])
			}
		})
	}
}

// model writes case i's ONNX bytes (weights seeded by seed and i).
func (c ortCase) model(seed uint64, i int) []byte {
	b := &builder{rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	out := b.graph(c.graph)
	m := &onnx.Model{IRVersion: onnx.IRVersion, OpsetImport: []onnx.OperatorSetID{{Version: c.opset}}, Graph: &onnx.Graph{
		Name: "case", Node: b.nodes, Initializer: b.inits,
		Input:  []*onnx.ValueInfo{onnx.TensorInfo("x", c.in...)},
		Output: []*onnx.ValueInfo{{Name: out, Type: &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Float}}}},
	}}
	return m.Marshal()
}

// graph runs f on b and returns its output name.
func (b *builder) graph(f func(b *builder) string) string { return f(b) }

func fattr(name string, v ...float32) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrFloats, Floats: v}
}

// floats adds a rank-1 float constant.
func (b *builder) floats(v ...float32) string {
	return b.tensor(onnx.FloatTensor(b.name("fs"), []int64{int64(len(v))}, v))
}
