package demo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
)

// EncodeWebP writes img as a lossless WebP (VP8L, RFC 9649) in the
// simplest form the format allows: no transforms, no color cache, no
// backward references, and fixed 8-bit prefix codes for green, red and
// blue (every value coded as itself) with alpha a single symbol (255).
// The files are about 3 bytes a pixel: this is for tests, not for sizes.
func EncodeWebP(w io.Writer, img image.Image) error {
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 || b.Dx() > 1<<14 || b.Dy() > 1<<14 {
		return errors.New("webp: image size out of range")
	}
	var bw bitWriter
	bw.bits(0x2f, 8) // VP8L signature
	bw.bits(uint32(b.Dx()-1), 14)
	bw.bits(uint32(b.Dy()-1), 14)
	bw.bits(0, 1)       // alpha_is_used
	bw.bits(0, 3)       // version
	bw.bits(0, 1)       // no transform
	bw.bits(0, 1)       // no color cache
	bw.bits(0, 1)       // no meta prefix codes
	bw.fixed8(256 + 24) // green: 256 literals + 24 length prefixes (unused)
	bw.fixed8(256)      // red
	bw.fixed8(256)      // blue
	bw.single(255)      // alpha: always 255, zero bits a pixel
	bw.single(0)        // distance: unused
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			bw.code8(c.G)
			bw.code8(c.R)
			bw.code8(c.B)
		}
	}
	data := bw.flush()
	var out bytes.Buffer
	pad := len(data) & 1
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(data)+pad))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(data)))
	out.Write(data)
	if pad == 1 {
		out.WriteByte(0)
	}
	_, err := w.Write(out.Bytes())
	return err
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

// fixed8 writes a normal prefix code over an alphabet of n symbols where
// the first 256 have length 8 and the rest length 0. The code-length code
// itself has two symbols of one bit each: 0 (code 0) and 8 (code 1).
func (w *bitWriter) fixed8(n int) {
	w.bits(0, 1) // normal code
	// kCodeLengthCodeOrder = 17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8: twelve
	// entries reach symbol 8.
	w.bits(12-4, 4)
	for _, sym := range []int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8} {
		if sym == 0 || sym == 8 {
			w.bits(1, 3)
		} else {
			w.bits(0, 3)
		}
	}
	w.bits(0, 1) // max_symbol = alphabet size
	for i := 0; i < n; i++ {
		if i < 256 {
			w.bits(1, 1) // length 8
		} else {
			w.bits(0, 1) // length 0
		}
	}
}

// single writes a simple prefix code with one 8-bit symbol: it takes no
// bits to read.
func (w *bitWriter) single(sym uint8) {
	w.bits(1, 1) // simple code
	w.bits(0, 1) // one symbol
	w.bits(1, 1) // of 8 bits
	w.bits(uint32(sym), 8)
}

// code8 writes v in the fixed 8-bit canonical code (code v), whose bits
// are read most significant first.
func (w *bitWriter) code8(v uint8) {
	var r uint32
	for i := 0; i < 8; i++ {
		r |= uint32(v>>i&1) << (7 - i)
	}
	w.bits(r, 8)
}
