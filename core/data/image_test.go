package data

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testColor is the generated test picture: pixel (x, y) is
// R = 50x, G = 80y, B = 20(x+y) + 5, all distinct for a 4x3 picture.
func testColor(x, y int) color.NRGBA {
	return color.NRGBA{R: uint8(50 * x), G: uint8(80 * y), B: uint8(20*(x+y) + 5), A: 255}
}

// testPicture is the 4 wide, 3 high picture of testColor.
func testPicture() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			m.SetNRGBA(x, y, testColor(x, y))
		}
	}
	return m
}

// wantPicture is testPicture as the HWC samples Decode must return.
func wantPicture() *Image {
	want := NewImage(3, 4, 3)
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			c := testColor(x, y)
			copy(want.Pix[(y*4+x)*3:], []float32{float32(c.R), float32(c.G), float32(c.B)})
		}
	}
	return want
}

// maxDiff returns the largest |got-want| over the samples, or +Inf when the
// extents differ.
func maxDiff(got, want *Image) float64 {
	if got.H != want.H || got.W != want.W || got.C != want.C || len(got.Pix) != len(want.Pix) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range got.Pix {
		d = max(d, math.Abs(float64(got.Pix[i])-float64(want.Pix[i])))
	}
	return d
}

func TestDecodeLossless(t *testing.T) {
	pic := testPicture()
	palette := color.Palette{}
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			palette = append(palette, testColor(x, y))
		}
	}
	paletted := image.NewPaletted(pic.Bounds(), palette)
	for i := range paletted.Pix {
		paletted.Pix[i] = uint8(i) // pixel i is palette entry i: row-major testColor
	}
	var pngBuf, gifBuf bytes.Buffer
	if err := png.Encode(&pngBuf, pic); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gifBuf, paletted, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		data   []byte
	}{{"png", pngBuf.Bytes()}, {"gif", gifBuf.Bytes()}} {
		got, format, err := Decode(bytes.NewReader(tc.data))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tc.format, err)
		}
		if format != tc.format {
			t.Errorf("Decode(%s): format %q", tc.format, format)
		}
		if d := maxDiff(got, wantPicture()); d != 0 {
			t.Errorf("Decode(%s): max difference %v from the encoded picture, want 0\ngot  %v\nwant %v", tc.format, d, got.Pix, wantPicture().Pix)
		}
	}
}

func TestDecodeJPEG(t *testing.T) {
	// Two flat 16x16 blocks, one per JPEG macroblock (4:2:0 chroma), so only
	// DC coefficients are non-zero and quality 100 keeps each block within
	// the rounding of the YCbCr round trip.
	left, right := color.NRGBA{200, 30, 90, 255}, color.NRGBA{20, 160, 240, 255}
	pic := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	want := NewImage(16, 32, 3)
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			c := left
			if x >= 16 {
				c = right
			}
			pic.SetNRGBA(x, y, c)
			copy(want.Pix[(y*32+x)*3:], []float32{float32(c.R), float32(c.G), float32(c.B)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	got, format, err := Decode(&buf)
	if err != nil || format != "jpeg" {
		t.Fatalf("Decode(jpeg) = format %q, error %v", format, err)
	}
	// Tolerance: 8-bit YCbCr rounding in both directions costs a level or
	// two per channel (measured here: 1).
	if d := maxDiff(got, want); d > 3 {
		t.Errorf("Decode(jpeg): max difference %v from the encoded picture, want <= 3", d)
	}
}

func TestDecodeWebP(t *testing.T) {
	dir := testModuleDir(t, "golang.org/x/image")
	// Lossless WebP files of x/image's own tests and the PNGs they were made
	// from: every decoded sample must equal the PNG's.
	for _, name := range []string{"gopher-doc.8bpp", "gopher-doc.with-alpha", "blue-purple-pink"} {
		webp := decodeFile(t, filepath.Join(dir, "testdata", name+".lossless.webp"), "webp")
		twin := decodeFile(t, filepath.Join(dir, "testdata", name+".png"), "png")
		if d := maxDiff(webp, twin); d != 0 {
			t.Errorf("%s: WebP differs from its PNG twin by up to %v", name, d)
		}
	}
}

// decodeFile decodes the named file and checks its format.
func decodeFile(t *testing.T, name, format string) *Image {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, got, err := Decode(f)
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	if got != format {
		t.Fatalf("Decode(%s): format %q, want %q", name, got, format)
	}
	return m
}

func TestDecodeUnknown(t *testing.T) {
	_, _, err := Decode(strings.NewReader("BM not really a bitmap"))
	if !errors.Is(err, image.ErrFormat) {
		t.Errorf("Decode(garbage) = %v, want an error wrapping image.ErrFormat", err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "data: decode image: ") {
		t.Errorf("Decode(garbage) error %q lacks the package prefix", err)
	}
}

func TestFromImageFastPaths(t *testing.T) {
	// Each fast path of pixel() must equal the generic rgb(At(x, y)).
	nrgba := image.NewNRGBA(image.Rect(1, 2, 5, 5)) // non-zero origin
	rgba := image.NewRGBA(image.Rect(0, 0, 4, 3))
	ycc := image.NewYCbCr(image.Rect(0, 0, 4, 3), image.YCbCrSubsampleRatio420)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(37 * i)
	}
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(29 * i)
		if i%4 == 3 && i%8 == 3 {
			rgba.Pix[i] = 255 // half the pixels opaque
		}
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(19 * i)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(90+40*i), uint8(200-50*i)
	}
	for _, src := range []image.Image{nrgba, rgba, ycc} {
		got := FromImage(src)
		b := src.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl := rgb(src.At(x, y))
				p := got.Pix[((y-b.Min.Y)*got.W+x-b.Min.X)*3:]
				if p[0] != r || p[1] != g || p[2] != bl {
					t.Errorf("%T (%d,%d): fast path %v, generic %v", src, x, y, p[:3], []float32{r, g, bl})
				}
			}
		}
	}
}

func TestFromImageDropsAlpha(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	m.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 128}) // translucent: straight color kept
	m.SetNRGBA(1, 0, color.NRGBA{7, 8, 9, 0})        // transparent: color still kept
	g := image.NewGray16(image.Rect(0, 0, 1, 1))
	g.SetGray16(0, 0, color.Gray16{Y: 0x8000})
	for _, tc := range []struct {
		src  image.Image
		want []float32
	}{
		{m, []float32{200, 100, 50, 7, 8, 9}},
		// 16-bit gray 0x8000 = 32768; 32768/257 = 127.50194...
		{g, []float32{32768.0 / 257, 32768.0 / 257, 32768.0 / 257}},
	} {
		got := FromImage(tc.src)
		if got.C != 3 || len(got.Pix) != len(tc.want) {
			t.Fatalf("%T: got %s image", tc.src, got.size())
		}
		for i := range tc.want {
			if got.Pix[i] != tc.want[i] {
				t.Errorf("%T: got %v, want %v", tc.src, got.Pix, tc.want)
				break
			}
		}
	}
}
