// Package tfjsref runs the npm package nsfwjs in Node, the reference that
// tests hold what users read to: the probabilities and labels that
// nsfwjs.classify returns for an image, against those of `cnn predict
// --image`, the browser library's classify() and the Worker's
// /v1/classify on the same converted model. It calls Node on
// nsfwjs_classify.cjs (next to this file), which loads @tensorflow/tfjs
// and nsfwjs from the repository's node_modules (npm install
// --ignore-scripts at the root); nothing is downloaded.
package tfjsref

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/tools/convert/tfjs"
)

// ErrMissing reports that node or an npm package is not installed.
var ErrMissing = errors.New("tfjsref: TF.js reference unavailable")

// Runtime is a located Node binary and the repository root.
type Runtime struct {
	Node, Root string
}

// Find locates node on PATH and nsfwjs and @tensorflow/tfjs under the
// node_modules of the module root above the working directory.
func Find() (*Runtime, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: no node on PATH", ErrMissing)
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil, fmt.Errorf("%w: no go.mod above the working directory", ErrMissing)
		}
		dir = up
	}
	for _, p := range []string{"@tensorflow/tfjs", "@tensorflow/tfjs-backend-cpu", "nsfwjs"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(p), "package.json")); err != nil {
			return nil, fmt.Errorf("%w: node_modules/%s is missing (run npm install --ignore-scripts in %s)", ErrMissing, p, dir)
		}
	}
	return &Runtime{Node: node, Root: dir}, nil
}

// Require finds the runtime for a test: it skips the test when the
// packages are missing, or fails it when CNN_REQUIRE_NPM=1.
func Require(t testing.TB) *Runtime {
	t.Helper()
	r, err := Find()
	if err != nil {
		if os.Getenv("CNN_REQUIRE_NPM") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return r
}

// Class is one entry of nsfwjs.classify's answer.
type Class struct {
	Label string  `json:"className"`
	Prob  float64 `json:"probability"`
}

// ClassifyNSFWJS classifies each RGB image (pixels 0..255, rounded to
// bytes) with nsfwjs.load(model) and classify(image, 5): model is
// "MobileNetV2", "MobileNetV2Mid" or "InceptionV3".
func (r *Runtime) ClassifyNSFWJS(model string, imgs []*data.Image) ([][]Class, error) {
	dir, err := os.MkdirTemp("", "nsfwjs")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	type entry struct {
		File string `json:"file"`
		H    int    `json:"h"`
		W    int    `json:"w"`
	}
	var list []entry
	for i, img := range imgs {
		if img.C != 3 {
			return nil, fmt.Errorf("tfjsref: image %d has %d channels, want RGB", i, img.C)
		}
		b := make([]byte, len(img.Pix))
		for j, v := range img.Pix {
			b[j] = byte(min(max(v+0.5, 0), 255))
		}
		f := filepath.Join(dir, fmt.Sprintf("%d.rgb", i))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return nil, err
		}
		list = append(list, entry{f, img.H, img.W})
	}
	lb, _ := json.Marshal(list)
	lf := filepath.Join(dir, "list.json")
	if err := os.WriteFile(lf, lb, 0o644); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.Node, filepath.Join(r.Root, "tools", "convert", "tfjs", "tfjsref", "nsfwjs_classify.cjs"), model, lf)
	cmd.Dir = r.Root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tfjsref: nsfwjs_classify.cjs: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out [][]Class
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("tfjsref: nsfwjs answer %q: %w", stdout.String(), err)
	}
	if len(out) != len(imgs) {
		return nil, fmt.Errorf("tfjsref: %d answers for %d images", len(out), len(imgs))
	}
	return out, nil
}

// WriteNSFWJS converts nsfwjs's MobileNetV2 from node_modules into dir
// (manifest.json and chunks), as `convert --from tfjs --preset nsfwjs`
// does.
func (r *Runtime) WriteNSFWJS(dir string) error {
	m, ts, err := tfjs.ImportNSFWJS(filepath.Join(r.Root, "node_modules", "nsfwjs"), "mobilenet_v2")
	if err != nil {
		return err
	}
	return weights.WriteModel(dir, weights.WriterOptions{}, m, ts, nil)
}

// Images are generated RGB pictures of several sizes, none of people:
// a colour gradient at the model's 224x224 (no resize), and at other
// sizes (resized as the manifest says) a gradient, a checkerboard and
// coloured shapes, and an interference pattern.
func Images() []*data.Image {
	sizes := [][2]int{{224, 224}, {300, 200}, {160, 240}, {97, 131}}
	out := make([]*data.Image, len(sizes))
	for k, s := range sizes {
		h, w := s[0], s[1]
		img := data.NewImage(h, w, 3)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				fx, fy := float64(x)/float64(w-1), float64(y)/float64(h-1)
				var c [3]float64
				switch k {
				case 0, 1:
					c = [3]float64{fx, fy, 1 - (fx+fy)/2}
				case 2:
					c = [3]float64{0.1, 0.15, 0.5}
					if (x/20+y/20)%2 == 0 {
						c = [3]float64{0.95, 0.9, 0.2}
					}
					if dx, dy := fx-0.35, fy-0.4; dx*dx+dy*dy < 0.04 {
						c = [3]float64{0.9, 0.1, 0.1}
					}
				case 3:
					c = [3]float64{0.5 + 0.5*math.Sin(fx*12+fy*3), 0.5 + 0.5*math.Sin(fy*9-fx*4), 0.5 + 0.5*math.Sin((fx+fy)*7+1.5)}
				}
				for ch, v := range c {
					img.Pix[(y*w+x)*3+ch] = float32(int(v*255 + 0.5))
				}
			}
		}
		out[k] = img
	}
	return out
}

// PNG encodes an RGB image (pixels 0..255) as a PNG file's bytes.
func PNG(img *data.Image) ([]byte, error) {
	m := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			p := img.Pix[(y*img.W+x)*img.C:]
			if img.C == 1 {
				p = []float32{p[0], p[0], p[0]}
			}
			m.SetNRGBA(x, y, color.NRGBA{uint8(p[0]), uint8(p[1]), uint8(p[2]), 255})
		}
	}
	var b bytes.Buffer
	err := png.Encode(&b, m)
	return b.Bytes(), err
}
