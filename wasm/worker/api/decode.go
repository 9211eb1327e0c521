package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"

	"webcnn/core/data"
)

// readBody reads at most limit bytes: an empty or longer body is a 413.
func readBody(r *http.Request, limit int64) ([]byte, int, error) {
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
	}
	if r.Body == nil {
		return nil, http.StatusRequestEntityTooLarge, errors.New("empty body: send the image's bytes")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the body: %v", err)
	case int64(len(b)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the limit of %d bytes", limit)
	case len(b) == 0:
		return nil, http.StatusRequestEntityTooLarge, errors.New("empty body: send the image's bytes")
	}
	return b, 0, nil
}

// header is what an image's header says before it is decoded.
type header struct {
	format string
	w, h   int
	// cost is the bytes decoding it takes at its peak: the decoder's image
	// (by bit depth and color model), its working copies, and the float32
	// RGB copy data.Decode makes.
	cost int64
}

// decodedBytesPerPixel is what the image a decoder returns takes per
// pixel, by the color model its header declares; extra is the decoder's
// working memory per pixel on top (a PNG's interlaced passes, a lossless
// WebP's ARGB plane). Only the first frame of a GIF is decoded, and a
// frame is at most the canvas: frames do not add up.
func decodedBytesPerPixel(format string, m color.Model, b []byte) (px, extra int64) {
	switch m {
	case color.GrayModel, color.AlphaModel:
		px = 1
	case color.Gray16Model, color.Alpha16Model:
		px = 2
	case color.YCbCrModel:
		px = 3 // 4:4:4 at worst
	case color.RGBA64Model, color.NRGBA64Model:
		px = 8
	default:
		px = 4 // RGBA, NRGBA, CMYK, NYCbCrA
		if _, ok := m.(color.Palette); ok {
			px = 1
		}
	}
	switch format {
	case "png":
		// Byte 28 of the IHDR chunk is the interlace method: Adam7 decodes
		// seven passes before assembling the image.
		if len(b) > 28 && b[28] == 1 {
			extra = px
		}
	case "webp":
		extra = 4
	case "jpeg":
		extra = 1
	}
	return px, extra
}

// Costs besides the decoder's image: the float32 RGB samples of
// data.Image, the color data.FromImage boxes for each pixel of an image
// type it has no fast path for (all but NRGBA, opaque RGBA and YCbCr:
// garbage, but the heap grows with it until it is collected), and the
// decoders' fixed buffers (rows, inflate window, Huffman tables).
const (
	imageBytesPerPixel = 12
	boxedBytesPerPixel = 8
	decoderBytes       = 256 << 10
)

// fastPath says whether data.FromImage reads the decoder's image for
// color model m without boxing each pixel.
func fastPath(m color.Model) bool {
	return m == color.NRGBAModel || m == color.RGBAModel || m == color.YCbCrModel
}

// readHeader reads the image's header: format, size and decoding cost.
func readHeader(b []byte) (header, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return header{}, fmt.Errorf("cannot decode the image: %v", err)
	}
	px, extra := decodedBytesPerPixel(format, cfg.ColorModel, b)
	if !fastPath(cfg.ColorModel) {
		extra += boxedBytesPerPixel
	}
	n := int64(cfg.Width) * int64(cfg.Height)
	return header{format: format, w: cfg.Width, h: cfg.Height, cost: decoderBytes + n*(px+extra+imageBytesPerPixel)}, nil
}

// decode decodes an image whose header was read and admitted.
func decode(b []byte, h header) (*data.Image, error) {
	img, _, err := data.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("cannot decode the %s image: %v", h.format, err)
	}
	return img, nil
}

// admission bounds the memory of the images being decoded and
// preprocessed at once (a budget in bytes and a count), and how many
// requests may wait for room: past that, a request is refused at once
// (503 with Retry-After) instead of queueing without bound.
type admission struct {
	budget   int64
	slots    int
	maxQueue int

	mu      sync.Mutex
	used    int64
	running int
	waiting int
	wake    chan struct{} // closed and replaced when room is freed
}

func newAdmission(budget int64, slots, maxQueue int) *admission {
	return &admission{budget: budget, slots: slots, maxQueue: maxQueue, wake: make(chan struct{})}
}

// errSaturated is the answer to a request that finds the queue full.
var errSaturated = errors.New("saturated")

// acquire reserves cost bytes and a slot, waiting while others hold them.
func (a *admission) acquire(ctx context.Context, cost int64) error {
	a.mu.Lock()
	for a.running >= a.slots || a.used+cost > a.budget {
		if a.waiting >= a.maxQueue {
			a.mu.Unlock()
			return fmt.Errorf("%w: %d requests decoding and %d waiting (limits %d and %d)", errSaturated, a.running, a.waiting, a.slots, a.maxQueue)
		}
		a.waiting++
		wake := a.wake
		a.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			a.mu.Lock()
			a.waiting--
			a.mu.Unlock()
			return ctx.Err()
		}
		a.mu.Lock()
		a.waiting--
	}
	a.running++
	a.used += cost
	a.mu.Unlock()
	return nil
}

// release returns what acquire reserved. A large decode is collected at
// once, so that the next one reuses its memory instead of growing the
// heap (the instance's memory never shrinks).
func (a *admission) release(cost int64) {
	a.mu.Lock()
	a.running--
	a.used -= cost
	close(a.wake)
	a.wake = make(chan struct{})
	a.mu.Unlock()
	if cost >= 8<<20 {
		runtime.GC()
	}
}

// retryAfterSaturated is the Retry-After of a 503 for a full queue.
const retryAfterSaturated = time.Second
