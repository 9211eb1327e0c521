package modelbench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/models"
	"webcnn/tools/convert/tfjs"
)

// timed is the CPU backend with a clock around every kernel: time spent
// per kind of call ("conv1x1", "dw3x3s2", "matmul", ...) and per
// kind and shape.
type timed struct {
	*cpu.Backend
	kinds  map[string]time.Duration
	shapes map[string]time.Duration
	calls  map[string]int
}

func newTimed() *timed {
	return &timed{Backend: cpu.New(), kinds: map[string]time.Duration{}, shapes: map[string]time.Duration{}, calls: map[string]int{}}
}

func (t *timed) reset() {
	clear(t.kinds)
	clear(t.shapes)
	clear(t.calls)
}

func (t *timed) add(kind, shape string, start time.Time) {
	d := time.Since(start)
	t.kinds[kind] += d
	t.shapes[kind+" "+shape] += d
	t.calls[kind+" "+shape]++
}

func (t *timed) Alloc(n int) (core.Buffer, error) {
	defer t.add("alloc", "", time.Now())
	return t.Backend.Alloc(n)
}

func (t *timed) Write(dst core.Buffer, off int, src []float32) error {
	defer t.add("write", "", time.Now())
	return t.Backend.Write(dst, off, src)
}

func (t *timed) Unary(dst, x *core.Tensor, f core.Unary) error {
	defer t.add("unary-"+f.Op.String(), fmt.Sprint(x.Shape()), time.Now())
	return t.Backend.Unary(dst, x, f)
}

func (t *timed) Binary(dst, a, b *core.Tensor, op core.BinaryOp) error {
	defer t.add(fmt.Sprintf("binary-%v", op), fmt.Sprint(a.Shape(), b.Shape()), time.Now())
	return t.Backend.Binary(dst, a, b, op)
}

func (t *timed) Reduce(dst, x *core.Tensor, op core.ReduceOp) error {
	defer t.add("reduce", fmt.Sprint(x.Shape(), dst.Shape()), time.Now())
	return t.Backend.Reduce(dst, x, op)
}

func (t *timed) MatMul(dst, a, b, bias *core.Tensor, p core.MatMul) error {
	defer t.add("matmul", fmt.Sprint(a.Shape(), b.Shape()), time.Now())
	return t.Backend.MatMul(dst, a, b, bias, p)
}

func (t *timed) Conv(dst, x, w, bias *core.Tensor, p core.Conv) error {
	ws := w.Shape()
	kind := "conv"
	if ws[ws.Rank()-2] == 1 && p.Groups > 1 {
		kind = "dw"
	}
	kind += fmt.Sprintf("%dx%d", ws[0], ws[1])
	if len(p.Stride) > 0 && p.Stride[0] > 1 {
		kind += fmt.Sprintf("s%d", p.Stride[0])
	}
	defer t.add(kind, fmt.Sprintf("%v -> %v %v", x.Shape(), dst.Shape(), p.Act.Op), time.Now())
	return t.Backend.Conv(dst, x, w, bias, p)
}

func (t *timed) Pool(dst, x *core.Tensor, p core.Pool) error {
	defer t.add("pool", fmt.Sprint(x.Shape()), time.Now())
	return t.Backend.Pool(dst, x, p)
}

func (t *timed) Copy(dst, src *core.Tensor, p core.Copy) error {
	defer t.add("copy", fmt.Sprint(src.Shape(), dst.Shape()), time.Now())
	return t.Backend.Copy(dst, src, p)
}

// input is a batch-1 224x224 RGB image in [0, 1).
func input(b *testing.B, be core.Backend) *core.Tensor {
	g := core.NewRNG(1)
	v := make([]float32, 224*224*3)
	for i := range v {
		v[i] = g.Float32()
	}
	x, err := core.FromData(be, core.Shape{1, 224, 224, 3}, v)
	if err != nil {
		b.Fatal(err)
	}
	return x
}

// run times net's forward pass (input upload, inference, output read) and
// reports the ms per kind of kernel next to ns/op; untimed-ms is the rest
// (the executor, the garbage collector).
func run(b *testing.B, be *timed, net nn.Layer) {
	forward := func() {
		x := input(b, be)
		y, err := net.Forward(nn.Eval, x)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := y.Data(); err != nil {
			b.Fatal(err)
		}
		x.Free()
		y.Free()
	}
	// Untimed runs: js/wasm engines compile hot code in tiers.
	forward()
	forward()
	be.reset()
	b.ResetTimer()
	for range b.N {
		forward()
	}
	b.StopTimer()
	n := float64(b.N)
	var total time.Duration
	for k, d := range be.kinds {
		total += d
		b.ReportMetric(d.Seconds()*1e3/n, k+"-ms")
	}
	b.ReportMetric(float64(b.Elapsed()-total)/1e6/n, "untimed-ms")
	if testing.Verbose() {
		keys := make([]string, 0, len(be.shapes))
		for k := range be.shapes {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, c string) int { return int(be.shapes[c] - be.shapes[a]) })
		for _, k := range keys {
			b.Logf("%8.2f ms %4d calls  %s", be.shapes[k].Seconds()*1e3/n, be.calls[k]/b.N, k)
		}
	}
}

// BenchmarkMobileNetV2 runs MobileNetV2 at 224x224, batch 1: the zoo's
// (torchvision's layout, 1000 classes, seeded He weights) as built (batch
// norm and ReLU6 as their own ops) and folded for inference
// (models.FoldForInference), and nsfwjs's (Keras, 5 classes, the browser
// benchmark's model, fused at load) when node_modules holds nsfwjs.
func BenchmarkMobileNetV2(b *testing.B) {
	for _, fold := range []bool{false, true} {
		name := "zoo"
		if fold {
			name = "zoo_folded"
		}
		b.Run(name, func(b *testing.B) {
			be := newTimed()
			spec, err := models.Lookup("mobilenet_v2")
			if err != nil {
				b.Fatal(err)
			}
			net, err := spec.New(nn.NewBuilder(be, 7))
			if err != nil {
				b.Fatal(err)
			}
			if fold {
				if net, _, err = models.FoldForInference(net); err != nil {
					b.Fatal(err)
				}
			}
			run(b, be, net)
		})
	}
	b.Run("nsfwjs", func(b *testing.B) {
		pkg := filepath.Join("..", "..", "..", "node_modules", "nsfwjs")
		if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
			b.Skipf("nsfwjs is not installed (npm install --ignore-scripts at the repository root): %v", err)
		}
		m, ts, err := tfjs.ImportNSFWJS(pkg, "mobilenet_v2")
		if err != nil {
			b.Fatal(err)
		}
		be := newTimed()
		g, err := graph.New(be, m.Graph, ts)
		if err != nil {
			b.Fatal(err)
		}
		run(b, be, g)
	})
}

// BenchmarkResNet18 runs the zoo's ResNet-18 (torchvision's layout, 1000
// classes, seeded He weights) at 224x224, batch 1, folded for inference
// (models.FoldForInference) as the browser benchmark runs it: sixteen 3x3
// convs, three of them with stride 2, after a 7x7 stride-2 stem.
func BenchmarkResNet18(b *testing.B) {
	be := newTimed()
	spec, err := models.Lookup("resnet18")
	if err != nil {
		b.Fatal(err)
	}
	net, err := spec.New(nn.NewBuilder(be, 7))
	if err != nil {
		b.Fatal(err)
	}
	if net, _, err = models.FoldForInference(net); err != nil {
		b.Fatal(err)
	}
	run(b, be, net)
}
