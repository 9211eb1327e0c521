package onnximport

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"webcnn/core"
	"webcnn/core/data"
	"webcnn/models"
	"webcnn/site/textstrip"
)

// Strips are 48x192 RGB pictures of text-like marks, black on white,
// drawn without a font.
const stripH, stripW = 48, 192

// digitStrip writes MNIST digits (ink black on white) in a row, 40 pixels
// high: handwriting, which is not symmetric under a half turn either.
func digitStrip(set *data.MNIST, first int) *data.Image {
	img := whiteStrip()
	for k := range 6 {
		d := set.Image(first + k)
		big, err := data.Resize(d, 40, 40, data.Bilinear)
		if err != nil {
			panic(err)
		}
		x0, y0 := 2+k*31, 4
		for y := range 40 {
			for x := range 40 {
				if x0+x >= stripW {
					continue
				}
				v := 255 - big.Pix[y*40+x]
				for c := range 3 {
					p := &img.Pix[((y0+y)*stripW+x0+x)*3+c]
					*p = min(*p, v)
				}
			}
		}
	}
	return img
}

func whiteStrip() *data.Image {
	img := data.NewImage(stripH, stripW, 3)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	return img
}

// fill inks rows [y0, y1) and columns [x0, x1), clipped.
func fill(img *data.Image, y0, y1, x0, x1 int) {
	for y := max(y0, 0); y < min(y1, img.H); y++ {
		for x := max(x0, 0); x < min(x1, img.W); x++ {
			for c := range img.C {
				img.Pix[(y*img.W+x)*img.C+c] = 20
			}
		}
	}
}

// rotate180 turns a picture upside down (a half turn).
func rotate180(img *data.Image) *data.Image {
	out := data.NewImage(img.H, img.W, img.C)
	for y := range img.H {
		for x := range img.W {
			copy(out.Pix[((img.H-1-y)*img.W+img.W-1-x)*img.C:][:img.C], img.Pix[(y*img.W+x)*img.C:][:img.C])
		}
	}
	return out
}

// TestPaddleOCRCls holds the imported PaddleOCR orientation classifier to
// onnxruntime-node on generated strips and their half turns (outputs are
// probabilities: within 1e-4), and checks that a half turn flips the class
// of letter strips. MNIST digit strips (handwriting) are compared too; the
// model is much less sure of their orientation, so their classes are only
// logged.
func TestPaddleOCRCls(t *testing.T) {
	rt := runtime(t)
	path, model := paddleCls(t)
	m, ts, err := ImportPreset(model, "paddleocr-cls")
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Input; !slices.Equal(in.Shape, []int{1, 48, 192, 3}) || in.ChannelOrder != "BGR" || in.Scale != 1/127.5 || in.Offset != -1 {
		t.Errorf("input %+v, want [1 48 192 3] BGR, x/127.5 - 1", in)
	}
	if m.Output != "probabilities" || !slices.Equal(m.Labels, []string{"0", "180"}) {
		t.Errorf("output %q, labels %v", m.Output, m.Labels)
	}

	const letters = 16
	var strips []*data.Image
	var names []string
	for i := range letters {
		// site/textstrip's generator, the one the page draws with.
		strips = append(strips, data.FromImage(textstrip.Image(textstrip.Letters(uint64(i+1)))))
		names = append(names, fmt.Sprintf("letters %d", i))
	}
	if dir, err := data.MNISTDir(); err == nil {
		set, err := data.LoadMNIST(dir, "t10k")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			strips = append(strips, digitStrip(set, 6*i))
			names = append(names, fmt.Sprintf("digits %d-%d", 6*i, 6*i+5))
		}
	}
	n := len(strips)
	for i := range n {
		strips = append(strips, rotate180(strips[i]))
	}
	x := make([]float32, 0, len(strips)*stripH*stripW*3)
	for _, s := range strips {
		v, err := models.Preprocess(s.Clone(), m.Input)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, v...)
	}
	b := len(strips)
	want, dims, err := rt.Run(path, nchw(x, b, stripH, stripW, 3), []int{b, 3, stripH, stripW})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dims, []int{b, 2}) {
		t.Fatalf("onnxruntime output dims %v", dims)
	}
	g := build(t, m, ts)
	got, shape := forward(t, g, core.Shape{b, stripH, stripW, 3}, x)
	if !shape.Equal(core.Shape{b, 2}) {
		t.Fatalf("output shape %v", shape)
	}
	d, _ := maxDiff(got, want)
	t.Logf("max |ours - onnxruntime| over %d strips: %.3g", b, d)
	if d > 1e-4 {
		t.Errorf("probabilities differ by %g:\n ours %v\n  ort %v", d, got, want)
	}

	flips, right := 0, 0
	var meanUp, meanDown float64
	for i := range n {
		up, down := got[2*i:2*i+2], got[2*(n+i):2*(n+i)+2]
		t.Logf("%-12s upright p(0)=%.4f p(180)=%.4f   half turn p(0)=%.4f p(180)=%.4f", names[i], up[0], up[1], down[0], down[1])
		if i >= letters {
			continue
		}
		if argmax(up) != argmax(down) {
			flips++
		}
		if argmax(up) == 0 && argmax(down) == 1 {
			right++
		}
		meanUp += float64(up[0]) / letters
		meanDown += float64(down[1]) / letters
	}
	t.Logf("letter strips: the half turn flips the class of %d/%d (%d/%d both right); mean p(0) upright %.3f, mean p(180) turned %.3f",
		flips, letters, right, letters, meanUp, meanDown)
	// Seeded strips on fixed weights: the counts are what this test
	// measured (16/16); the bounds leave room for a changed generator.
	if right < letters-2 || meanUp < 0.9 || meanDown < 0.9 {
		t.Errorf("the classifier does not see the half turn: %d/%d right, mean p(0) %.3f upright, p(180) %.3f turned", right, letters, meanUp, meanDown)
	}
	if dir := os.Getenv("CNN_WRITE_STRIPS"); dir != "" {
		writeStrips(t, dir, strips)
	}
}

// writeStrips saves the strips as PNG files into dir (CNN_WRITE_STRIPS=dir),
// to look at them.
func writeStrips(t *testing.T, dir string, strips []*data.Image) {
	for i, s := range strips {
		img := image.NewRGBA(image.Rect(0, 0, s.W, s.H))
		for y := range s.H {
			for x := range s.W {
				p := s.Pix[(y*s.W+x)*3:]
				img.Set(x, y, color.RGBA{uint8(p[0]), uint8(p[1]), uint8(p[2]), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("strip%02d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
