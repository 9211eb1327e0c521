package main

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/augment with cnn augment-pictures")

// augmentDir is docs/augment from this package's folder.
const augmentDir = "../../docs/augment"

// TestAugmentPictures: the pictures in docs/augment are what
// `go run ./tools/cnn augment-pictures -out docs/augment` makes (pixels
// within 2 levels of 255, so that the floating-point rounding of another
// platform passes; PNG bytes may differ between zlib versions), and they
// stay small for the README. With -update it remakes them.
func TestAugmentPictures(t *testing.T) {
	if *update {
		if err := augmentPictures(io.Discard, []string{"-out", augmentDir}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := augmentFiles(1)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		path := filepath.Join(augmentDir, f.name)
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (remake with go test ./tools/cnn -run TestAugmentPictures -update)", err)
		}
		total += len(old)
		want, err := png.Decode(bytes.NewReader(old))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := png.Decode(bytes.NewReader(f.png))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if d := maxDiff(got, want); d > 2 {
			t.Errorf("%s: differs from the regenerated picture by up to %d levels (remake with -update)", path, d)
		}
	}
	if total > 200<<10 {
		t.Errorf("docs/augment holds %d bytes, want under 200 KB", total)
	}
}

// maxDiff is the largest difference of two pictures' 8-bit samples, or
// 255 when their sizes differ.
func maxDiff(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return 255
	}
	d := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, aa := a.At(x, y).RGBA()
			br, bg, bb, ba := b.At(x, y).RGBA()
			for _, p := range [][2]uint32{{ar, br}, {ag, bg}, {ab, bb}, {aa, ba}} {
				d = max(d, abs(int(p[0]>>8)-int(p[1]>>8)))
			}
		}
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
