package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Magic numbers of the IDX files of MNIST (http://yann.lecun.com/exdb/mnist/):
// two zero bytes, the element type (0x08: unsigned byte) and the number of
// dimensions.
const (
	idxImagesMagic = 0x00000803 // 2051: ubyte, 3 dimensions (n, rows, cols)
	idxLabelsMagic = 0x00000801 // 2049: ubyte, 1 dimension (n)

	// idxMaxBytes bounds the product of the extents (1 TiB, far beyond any
	// IDX file) so that it cannot overflow.
	idxMaxBytes = 1 << 40

	// idxChunk is how many bytes idxBody asks for at a time, so that a
	// header claiming more data than follows allocates little.
	idxChunk = 1 << 20
)

// ReadIDXImages reads an IDX3 ubyte file of n images of rows x cols pixels,
// stored row-major one image after another, as MNIST's
// train-images-idx3-ubyte. Gzip-compressed input is detected by its magic
// bytes 0x1f 0x8b and decompressed transparently.
func ReadIDXImages(r io.Reader) (n, rows, cols int, pix []uint8, err error) {
	r, err = idxReader(r)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	h, err := idxHeader(r, "images", idxImagesMagic, 3)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	pix, err = idxBody(r, "pixels", h)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return h[0], h[1], h[2], pix, nil
}

// ReadIDXLabels reads an IDX1 ubyte file of labels, as MNIST's
// train-labels-idx1-ubyte, gzip-compressed or not.
func ReadIDXLabels(r io.Reader) ([]uint8, error) {
	r, err := idxReader(r)
	if err != nil {
		return nil, err
	}
	h, err := idxHeader(r, "labels", idxLabelsMagic, 1)
	if err != nil {
		return nil, err
	}
	return idxBody(r, "labels", h)
}

// idxReader returns r, or a gzip reader over it when it starts with the
// gzip magic bytes.
func idxReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip: %w", err)
		}
		return z, nil
	}
	return br, nil
}

// idxHeader reads and checks the big-endian magic number, then the dims
// big-endian int32 extents that follow it.
func idxHeader(r io.Reader, what string, magic uint32, dims int) ([]int, error) {
	buf := make([]byte, 4*(1+dims))
	if k, err := io.ReadFull(r, buf[:4]); err != nil {
		return nil, readErr(err, what+" header", len(buf), k)
	}
	if m := binary.BigEndian.Uint32(buf); m != magic {
		return nil, fmt.Errorf("idx: %s magic %d, want %d", what, m, magic)
	}
	if k, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, readErr(err, what+" header", len(buf), 4+k)
	}
	h := make([]int, dims)
	for i := range h {
		h[i] = int(int32(binary.BigEndian.Uint32(buf[4*(i+1):])))
		if h[i] < 0 {
			return nil, fmt.Errorf("idx: %s header: extent %d is %d", what, i, h[i])
		}
	}
	return h, nil
}

// idxBody reads exactly the product of the extents in bytes, then checks
// that the input ends there (which also makes gzip verify its checksum).
// Memory grows with the bytes actually read, never with the header's claim.
func idxBody(r io.Reader, what string, extents []int) ([]byte, error) {
	want := int64(1)
	for _, e := range extents {
		if e != 0 && want > idxMaxBytes/int64(e) {
			return nil, fmt.Errorf("idx: %s extents %v are too large", what, extents)
		}
		want *= int64(e)
	}
	buf := make([]byte, 0, min(want, idxChunk))
	for int64(len(buf)) < want {
		n := int(min(want-int64(len(buf)), idxChunk))
		buf = slices.Grow(buf, n)
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+n])
		buf = buf[:len(buf)+k]
		if err != nil {
			return nil, readErr(err, what, want, int64(len(buf)))
		}
	}
	extra, err := io.Copy(io.Discard, io.LimitReader(r, 1))
	if err != nil {
		return nil, fmt.Errorf("idx: after %s: %w", what, err)
	}
	if extra > 0 {
		return nil, fmt.Errorf("idx: trailing data after %d bytes of %s", want, what)
	}
	return buf, nil
}

// readErr reports a short read of what: truncation when the input ended
// early, the reader's own error otherwise.
func readErr[N int | int64](err error, what string, want, got N) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("idx: truncated: want %d bytes of %s, got %d", want, what, got)
	}
	return fmt.Errorf("idx: reading %s: %w", what, err)
}
