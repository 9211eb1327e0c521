//go:build unix

package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"webcnn/core/data"
	"webcnn/site/textstrip"
	"webcnn/wasm/worker/demo"
)

// Model ids of the Worker's default models (site.LeNet5, site.PaddleCls).
const (
	lenet  = "lenet5-mnist"
	paddle = "paddleocr-cls"
)

// sample is a good request: an encoded image for a model.
type sample struct {
	model string
	demo.Sample
}

// mnistDigits are the first n digits of the MNIST test set as gray images.
func mnistDigits(n int) ([]*image.Gray, []int, error) {
	dir, err := data.MNISTDir()
	if err != nil {
		return nil, nil, err
	}
	m, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return nil, nil, err
	}
	var imgs []*image.Gray
	var labels []int
	for k := 0; k < n; k++ {
		g := image.NewGray(image.Rect(0, 0, m.Cols, m.Rows))
		copy(g.Pix, m.Pix[k*m.Rows*m.Cols:][:m.Rows*m.Cols])
		imgs = append(imgs, g)
		labels = append(labels, int(m.Labels[k]))
	}
	return imgs, labels, nil
}

// goodSamples are the soak's good images: MNIST test digits for LeNet-5,
// text strips upright and upside down for the orientation classifier,
// and the generated pictures for both, each in every accepted format.
func goodSamples() ([]sample, error) {
	pics := map[string]image.Image{}
	digits, labels, err := mnistDigits(8)
	if err != nil {
		return nil, err
	}
	var out []sample
	add := func(model, name string, m image.Image) error {
		for _, f := range demo.Formats {
			var b bytes.Buffer
			if err := f.Encode(&b, m); err != nil {
				return fmt.Errorf("%s.%s: %w", name, f.Ext, err)
			}
			out = append(out, sample{model, demo.Sample{Name: name + "." + f.Ext, ContentType: f.ContentType, Body: b.Bytes()}})
		}
		return nil
	}
	for i, d := range digits {
		if err := add(lenet, fmt.Sprintf("mnist%d-digit%d", i, labels[i]), d); err != nil {
			return nil, err
		}
	}
	for seed := uint64(1); seed <= 4; seed++ {
		rs := textstrip.Letters(seed)
		pics[fmt.Sprintf("strip%d-up", seed)] = textstrip.Image(rs)
		pics[fmt.Sprintf("strip%d-down", seed)] = textstrip.Image(textstrip.Turn(rs))
	}
	for name, m := range pics {
		if err := add(paddle, name, m); err != nil {
			return nil, err
		}
	}
	for name, m := range demo.Pictures() {
		for _, model := range []string{lenet, paddle} {
			if err := add(model, name, m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

var update = flag.Bool("update", false, "rewrite the example images in wasm/worker/testdata")

// examples are the README's example images: the first MNIST test digit
// (a 7) and a text strip, written by `go test ./wasm/worker/e2e -run
// ExampleImages -update`.
func examples() (map[string]image.Image, error) {
	digits, _, err := mnistDigits(1)
	if err != nil {
		return nil, err
	}
	return map[string]image.Image{"digit7.png": digits[0], "textstrip.png": textstrip.Image(textstrip.Letters(1))}, nil
}

// TestExampleImages checks that the README's example images hold the
// pixels the generators make (-update rewrites them). Pixels, not bytes:
// another Go release may compress the same PNG differently.
func TestExampleImages(t *testing.T) {
	ex, err := examples()
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range ex {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join("..", "testdata", name)
		if *update {
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(file)
		if err == nil {
			err = samePixels(have, m)
		}
		if err != nil {
			t.Errorf("%s differs from its generator (%v): go test ./wasm/worker/e2e -run ExampleImages -update", file, err)
		}
	}
}

// samePixels decodes a PNG and compares its pixels with want's.
func samePixels(b []byte, want image.Image) error {
	got, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if got.Bounds() != want.Bounds() {
		return fmt.Errorf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	r := want.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := got.At(x, y).RGBA()
			r2, g2, b2, a2 := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return fmt.Errorf("pixel (%d, %d) differs", x, y)
			}
		}
	}
	return nil
}
