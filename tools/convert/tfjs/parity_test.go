package tfjs

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// testImages returns n generated 224x224 RGB images in 0..1 (pixels/255, the
// nsfwjs preprocessing), NHWC: a diagonal colour gradient, a checkerboard,
// coloured shapes on a background, and a smooth interference pattern.
func testImages(size int) ([]float32, []string) {
	names := []string{"gradient", "checkerboard", "shapes", "waves"}
	out := make([]float32, 0, len(names)*size*size*3)
	for k := range names {
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				fx, fy := float64(x)/float64(size-1), float64(y)/float64(size-1)
				var r, g, b float64
				switch k {
				case 0:
					r, g, b = fx, fy, 1-(fx+fy)/2
				case 1:
					if (x/28+y/28)%2 == 0 {
						r, g, b = 0.95, 0.9, 0.2
					} else {
						r, g, b = 0.1, 0.15, 0.5
					}
				case 2:
					r, g, b = 0.2, 0.5, 0.3 // green field
					if dx, dy := fx-0.35, fy-0.4; dx*dx+dy*dy < 0.04 {
						r, g, b = 0.9, 0.1, 0.1 // red disc
					}
					if fx > 0.55 && fx < 0.9 && fy > 0.55 && fy < 0.85 {
						r, g, b = 0.1, 0.2, 0.9 // blue rectangle
					}
				case 3:
					r = 0.5 + 0.5*math.Sin(fx*12+fy*3)
					g = 0.5 + 0.5*math.Sin(fy*9-fx*4)
					b = 0.5 + 0.5*math.Cos((fx+fy)*7)
				}
				// Quantize as an 8-bit image would be, then scale like nsfwjs.
				for _, v := range []float64{r, g, b} {
					out = append(out, float32(math.Round(v*255))/255)
				}
			}
		}
	}
	return out, names
}

// TestNSFWJSParity converts nsfwjs's MobileNetV2 from node_modules, writes
// and loads it through the manifest format, runs it on the CPU backend and
// compares the class probabilities with TF.js running the same files.
func TestNSFWJSParity(t *testing.T) {
	node, root := reference(t)
	pkg := filepath.Join(root, "node_modules", "nsfwjs")
	const model = "mobilenet_v2"

	start := time.Now()
	m, ts, err := ImportNSFWJS(pkg, model)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"}; len(m.Labels) != 5 || m.Labels[0] != want[0] || m.Labels[4] != want[4] {
		t.Errorf("labels %v, want %v", m.Labels, want)
	}
	if !core.Shape(m.Input.Shape).Equal(core.Shape{1, 224, 224, 3}) || m.Input.Scale != 1.0/255 {
		t.Errorf("input %+v", m.Input)
	}
	t.Logf("memory plan: %.1f MB of parameters, %.1f MB of activations", float64(m.Memory.ParamBytes)/1e6, float64(m.Memory.ActivationBytes)/1e6)
	// Through the manifest and chunks, as a browser would load it.
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
	t.Logf("import, write, load: %v (%d tensors, %d parameters)", time.Since(start).Round(time.Millisecond), len(ts), nn.Count(g))

	imgs, names := testImages(224)
	n := len(names)
	start = time.Now()
	x, err := core.FromData(b, core.Shape{n, 224, 224, 3}, imgs)
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Forward(nn.Eval, x)
	if err != nil {
		t.Fatal(err)
	}
	got, err := y.Data()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("go cpu forward of %d images: %v", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	want, dims := runTFJS(t, node, filepath.Join(pkg, "dist", "models", model, "model.min.js"), imgs, []int{n, 224, 224, 3})
	t.Logf("tfjs (cpu backend): %v", time.Since(start).Round(time.Millisecond))
	if !y.Shape().Equal(core.Shape(dims)) {
		t.Fatalf("output %v, TF.js %v", y.Shape(), dims)
	}
	worst, agree := 0.0, 0
	for i := 0; i < n; i++ {
		g, w := got[5*i:5*i+5], want[5*i:5*i+5]
		d := 0.0
		for j := range g {
			d = max(d, math.Abs(float64(g[j]-w[j])))
		}
		worst = max(worst, d)
		if argmax(g) == argmax(w) {
			agree++
		} else {
			t.Errorf("%s: top-1 %s, TF.js %s", names[i], m.Labels[argmax(g)], m.Labels[argmax(w)])
		}
		t.Logf("%-12s go %v\n%-12s tfjs %v  max |diff| %.2g", names[i], g, "", w, d)
	}
	t.Logf("max |diff| of probabilities %.3g, top-1 agreement %d/%d", worst, agree, n)
	if worst > 1e-4 {
		t.Errorf("max |diff| %.3g > 1e-4", worst)
	}
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
