package tfjs

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// TestNSFWJSGraphParity converts nsfwjs's MobileNetV2 x1.4, a TF.js graph
// model (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul, AddV2,
// AvgPool, Squeeze, Softmax; uint8-quantized weights in JS shards), writes
// and loads it through the manifest format, runs it on the CPU backend and
// compares the probabilities a user reads (models.Probabilities as the
// manifest's output kind says) with TF.js (its WebAssembly backend)
// running the package's files.
//
// Natively TF.js runs in Node at test time; CNN_TFJS_REF_WRITE=FILE saves
// its probabilities. Compiled to js/wasm (no processes there), the test
// reads them from CNN_TFJS_REF_READ=FILE (make test-wasm).
func TestNSFWJSGraphParity(t *testing.T) {
	const model = "mobilenet_v2_mid"
	imgs, names := testImages(224)
	n := len(names)
	var want []float32
	var root string
	if runtime.GOOS == "js" {
		path := os.Getenv("CNN_TFJS_REF_READ")
		if path == "" {
			t.Skip("CNN_TFJS_REF_READ names no file of TF.js probabilities (written by the native test with CNN_TFJS_REF_WRITE)")
		}
		want = readF32(t, path)
		root = moduleRoot(t)
	} else {
		var node string
		node, root = reference(t)
		start := time.Now()
		var dims [][]int
		want, dims = runTFJSWith(t, node, "wasm", filepath.Join(root, "node_modules", "nsfwjs", "dist", "models", model, "model.min.js"), imgs, []int{n, 224, 224, 3}, nil)
		t.Logf("tfjs (wasm backend): %v", time.Since(start).Round(time.Millisecond))
		if !core.Shape(dims[0]).Equal(core.Shape{n, 5}) {
			t.Fatalf("TF.js output %v, want [%d 5]", dims, n)
		}
		if path := os.Getenv("CNN_TFJS_REF_WRITE"); path != "" {
			writeF32(t, path, want)
		}
	}
	if len(want) != 5*n {
		t.Fatalf("%d reference values, want %d", len(want), 5*n)
	}

	start := time.Now()
	m, ts, err := ImportNSFWJS(filepath.Join(root, "node_modules", "nsfwjs"), model)
	if err != nil {
		t.Fatal(err)
	}
	if m.Output != "probabilities" {
		t.Errorf("output kind %q, want probabilities (the graph ends in Softmax)", m.Output)
	}
	if !core.Shape(m.Input.Shape).Equal(core.Shape{1, 224, 224, 3}) || m.Input.Scale != 1.0/255 || len(m.Labels) != 5 {
		t.Errorf("input %+v, labels %v", m.Input, m.Labels)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := weights.WriteModel(dir, weights.WriterOptions{}, m, ts, nil); err != nil {
		t.Fatal(err)
	}
	loaded, err := weights.Load(context.Background(), os.DirFS(dir), ".", weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	g, err := graph.Load(b, loaded)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	t.Logf("import, write, load: %v (%d tensors, %d parameters)", time.Since(start).Round(time.Millisecond), len(ts), nn.Count(g))

	start = time.Now()
	x, err := core.FromData(b, core.Shape{n, 224, 224, 3}, imgs)
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	out, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("go cpu forward of %d images: %v", n, time.Since(start).Round(time.Millisecond))
	worst := 0.0
	for i := range n {
		got := models.Probabilities(out[5*i:5*i+5], loaded.Manifest.Output != "probabilities")
		w := want[5*i : 5*i+5]
		d := 0.0
		for j := range got {
			d = max(d, math.Abs(float64(got[j]-w[j])))
		}
		worst = max(worst, d)
		top := models.Top(got, false, loaded.Manifest.Labels, 1)[0]
		if top.Index != argmax(w) {
			t.Errorf("%s: top-1 %s, TF.js %s", names[i], top.Label, m.Labels[argmax(w)])
		}
		t.Logf("%-12s go %v\n%-12s tfjs %v  max |diff| %.2g", names[i], got, "", w, d)
	}
	t.Logf("max |diff| of probabilities %.3g (%s/%s)", worst, runtime.GOOS, runtime.GOARCH)
	if worst > 1e-4 {
		t.Errorf("max |diff| %.3g > 1e-4", worst)
	}
}

// moduleRoot is the directory holding go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
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
			t.Fatalf("no go.mod above %s", dir)
		}
		dir = up
	}
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
