package data

import (
	"strings"
	"testing"

	"webcnn/core"
)

func TestBatch(t *testing.T) {
	a := &Image{H: 1, W: 2, C: 1, Pix: []float32{1, 2}}
	b := &Image{H: 1, W: 2, C: 1, Pix: []float32{3, 4}}
	shape, buf, err := Batch([]*Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if !shape.Equal(core.Shape{2, 1, 2, 1}) || len(buf) != 4 || buf[0] != 1 || buf[1] != 2 || buf[2] != 3 || buf[3] != 4 {
		t.Errorf("Batch = %v %v, want [2 1 2 1] [1 2 3 4]", shape, buf)
	}
	if _, _, err := Batch([]*Image{a, NewImage(2, 1, 1)}); err == nil || !strings.Contains(err.Error(), "batch: image 1 is 2x1x1, want 1x2x1") {
		t.Errorf("Batch of mixed sizes: error %v", err)
	}
}
