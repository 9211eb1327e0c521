package api

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"webcnn/core/weights"
)

// TestDecodeCost decodes pictures of each format and bit depth and checks
// that readHeader's cost covers what decoding really allocates (Go's
// allocation counter), without overstating it more than 2.5 times.
func TestDecodeCost(t *testing.T) {
	const w, h = 640, 480
	fill := func(m interface{ Set(x, y int, c color.Color) }) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.Set(x, y, color.NRGBA64{uint16(x * 97), uint16(y * 131), uint16(x * y), 0xffff - uint16(x)})
			}
		}
	}
	enc := map[string]func() []byte{}
	add := func(name string, m image.Image, f func(*bytes.Buffer, image.Image) error) {
		enc[name] = func() []byte {
			var b bytes.Buffer
			if err := f(&b, m); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
	gray, rgba, nrgba64 := image.NewGray(image.Rect(0, 0, w, h)), image.NewRGBA(image.Rect(0, 0, w, h)), image.NewNRGBA64(image.Rect(0, 0, w, h))
	fill(gray)
	fill(rgba)
	fill(nrgba64)
	pngEnc := func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }
	add("png gray 8", gray, pngEnc)
	add("png rgba 8", rgba, pngEnc)
	add("png rgba 16", nrgba64, pngEnc)
	add("jpeg", rgba, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	add("jpeg gray", gray, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	add("gif", rgba, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) })
	for name, f := range enc {
		body := f()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		hd, err := readHeader(body)
		if err != nil {
			t.Fatal(err)
		}
		img, err := decode(body, hd)
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(img)
		got := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("%-12s %7d bytes: allocated %9d, cost %9d (%.2fx; %.1f bytes a pixel)", name, len(body), got, hd.cost, float64(hd.cost)/float64(got), float64(got)/(w*h))
		if got > hd.cost || hd.cost > got*5/2 {
			t.Errorf("%s: decoding allocated %d bytes, the header's cost is %d", name, got, hd.cost)
		}
	}
}

// TestSaturated: with one decode slot and a queue of one, a third request
// is refused at once with 503 while the second waits, and the waiter
// proceeds when the slot frees.
func TestSaturated(t *testing.T) {
	s := New(Config{MaxConcurrent: 1, MaxQueue: 1})
	man := &weights.Manifest{Input: weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1}}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 28, 28)))
	r := httptest.NewRequest(http.MethodPost, "/v1/classify", nil)
	if err := s.adm.acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		_, status, _ := s.prepare(r, b.Bytes(), "m", man)
		done <- status
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.adm.mu.Lock()
		waiting := s.adm.waiting
		s.adm.mu.Unlock()
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request does not wait")
		}
	}
	_, status, err := s.prepare(r, b.Bytes(), "m", man)
	if status != http.StatusServiceUnavailable || err == nil || !strings.Contains(err.Error(), "too many requests at once: saturated: 1 requests decoding and 1 waiting") {
		t.Errorf("third request: %d %v, want 503 saturated", status, err)
	}
	s.adm.release(1)
	if status := <-done; status != 0 {
		t.Errorf("the waiting request: status %d, want success", status)
	}
}
