package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"webcnn/core"
	"webcnn/core/data"
)

// cnn augment-pictures draws the augmentations of package data on a
// generated scene for the README: one PNG per transform and a labelled
// contact sheet, remade with
//
//	go run ./tools/cnn augment-pictures -out docs/augment

// augSide is the side of the scene and of every tile in pixels.
const augSide = 128

// augPicture is one tile: a file name, a label and the picture.
type augPicture struct {
	Name, Label string
	Img         *data.Image
}

func augmentPictures(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("augment-pictures", flag.ContinueOnError)
	out := fs.String("out", "docs/augment", "folder for <name>.png and augmentations.png")
	seed := fs.Uint64("seed", 1, "seed of the random transforms")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	files, err := augmentFiles(*seed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var total int
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*out, f.name), f.png, 0o644); err != nil {
			return err
		}
		total += len(f.png)
		fmt.Fprintf(w, "wrote %s (%d bytes)\n", filepath.Join(*out, f.name), len(f.png))
	}
	fmt.Fprintf(w, "%d files, %d bytes\n", len(files), total)
	return nil
}

// pngFile is one encoded output.
type pngFile struct {
	name string
	png  []byte
}

// augmentFiles returns the tiles as PNG files and the contact sheet
// augmentations.png last.
func augmentFiles(seed uint64) ([]pngFile, error) {
	pics, err := augmentations(seed)
	if err != nil {
		return nil, err
	}
	var files []pngFile
	for _, p := range pics {
		b, err := encodePNG(toRGBA(p.Img))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		files = append(files, pngFile{p.Name + ".png", b})
	}
	b, err := encodePNG(contactSheet(pics, 5))
	if err != nil {
		return nil, err
	}
	return append(files, pngFile{"augmentations.png", b}), nil
}

// augmentations applies each augmentation of package data to the scene,
// random ones from an RNG seeded with seed, in this order.
func augmentations(seed uint64) ([]augPicture, error) {
	scene := augScene(augSide)
	rng := core.NewRNG(seed)
	crop, err := data.RandomResizedCrop{H: augSide, W: augSide, ScaleMin: 0.25, ScaleMax: 0.6}.Apply(scene, rng)
	if err != nil {
		return nil, err
	}
	pics := []augPicture{
		{"original", "original", scene},
		{"hflip", "horizontal flip", data.HFlip(scene)},
		{"rotate+5", "rotate +5 deg", data.Rotate(scene, 5, 0)},
		{"rotate-5", "rotate -5 deg", data.Rotate(scene, -5, 0)},
		{"colorjitter", "colour jitter 0.4", data.ColorJitter{Brightness: 0.4, Contrast: 0.4, Saturation: 0.4}.Apply(scene, rng)},
		{"crop", "random crop+resize", crop},
		{"barrel", "lens k=+0.3 barrel", data.Lens(scene, 0.3, 0)},
		{"pincushion", "lens k=-0.3 pincushion", data.Lens(scene, -0.3, 0)},
	}
	for i := 1; i <= 2; i++ {
		img, ops := data.RandAugment{N: 2, M: 9}.Apply(scene, rng)
		pics = append(pics, augPicture{fmt.Sprintf("randaugment%d", i), "RandAugment(2, 9): " + strings.Join(ops, " + "), img})
	}
	return pics, nil
}

// augScene draws a side x side RGB scene in [0, 255]: a sky graded from
// deep to pale blue, a sun at the upper left (so a flip shows), green
// ground graded towards the front, a red house with a brown roof, a blue
// lake, and a white grid every 16 pixels that makes geometric warps
// visible.
func augScene(side int) *data.Image {
	img := data.NewImage(side, side, 3)
	s := float64(side)
	horizon := 0.62 * s
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			var r, g, b float64
			if fy < horizon {
				t := fy / horizon
				r, g, b = 30+150*t, 80+130*t, 180+70*t
			} else {
				t := (fy - horizon) / (s - horizon)
				r, g, b = 70-40*t, 170-60*t, 60-30*t
			}
			switch {
			case math.Hypot(fx-0.22*s, fy-0.2*s) < 0.11*s: // sun
				r, g, b = 255, 215, 40
			case math.Pow((fx-0.3*s)/(0.17*s), 2)+math.Pow((fy-0.82*s)/(0.07*s), 2) < 1: // lake
				r, g, b = 40, 90, 200
			case fx > 0.55*s && fx < 0.85*s && fy > 0.45*s && fy < 0.72*s: // house
				r, g, b = 200, 40, 40
				if fx > 0.64*s && fx < 0.72*s && fy > 0.58*s { // door
					r, g, b = 90, 50, 20
				}
			case fy > 0.3*s && fy <= 0.45*s && math.Abs(fx-0.7*s) < (fy-0.3*s)*1.3: // roof
				r, g, b = 120, 70, 30
			}
			if x%16 == 0 || y%16 == 0 { // grid
				r, g, b = (r+255*2)/3, (g+255*2)/3, (b+255*2)/3
			}
			p := img.Pix[(y*side+x)*3:]
			p[0], p[1], p[2] = float32(r), float32(g), float32(b)
		}
	}
	return img
}

// toRGBA rounds and clips [0, 255] samples into an RGBA picture.
func toRGBA(img *data.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < img.H*img.W; i++ {
		for c := 0; c < 3; c++ {
			out.Pix[4*i+c] = uint8(math.Round(math.Min(math.Max(float64(img.Pix[i*img.C+c]), 0), 255)))
		}
		out.Pix[4*i+3] = 255
	}
	return out
}

// contactSheet lays the tiles out cols per row on white, each labelled
// below in a 7x13 bitmap font (up to three lines).
func contactSheet(pics []augPicture, cols int) *image.RGBA {
	const gap, lines, lineH = 6, 3, 13
	const label = lines*lineH + 2
	rows := (len(pics) + cols - 1) / cols
	tw, th := augSide+gap, augSide+label+gap
	sheet := image.NewRGBA(image.Rect(0, 0, cols*tw+gap, rows*th+gap))
	draw.Draw(sheet, sheet.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	for i, p := range pics {
		x, y := gap+(i%cols)*tw, gap+(i/cols)*th
		draw.Draw(sheet, image.Rect(x, y, x+augSide, y+augSide), toRGBA(p.Img), image.Point{}, draw.Src)
		for j, line := range wrap(p.Label, augSide/7, lines) { // 7 pixels per character
			d.Dot = fixed.P(x, y+augSide+(j+1)*lineH)
			d.DrawString(line)
		}
	}
	return sheet
}

// wrap breaks text at spaces into at most n lines of at most width
// characters (a longer word is cut).
func wrap(text string, width, n int) []string {
	var lines []string
	for _, w := range strings.Fields(text) {
		if k := len(lines) - 1; k >= 0 && len(lines[k])+1+len(w) <= width {
			lines[k] += " " + w
			continue
		}
		lines = append(lines, w[:min(len(w), width)])
	}
	return lines[:min(len(lines), n)]
}

// encodePNG compresses img as much as image/png can.
func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	return buf.Bytes(), err
}
