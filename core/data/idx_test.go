package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// idxImages is a hand-built IDX3 file: magic 0x00000803 (2051), n = 2,
// rows = 2, cols = 3, then the 12 pixel bytes 1..12.
var idxImages = []byte{
	0, 0, 8, 3,
	0, 0, 0, 2,
	0, 0, 0, 2,
	0, 0, 0, 3,
	1, 2, 3, 4, 5, 6,
	7, 8, 9, 10, 11, 12,
}

// idxLabels is a hand-built IDX1 file: magic 0x00000801 (2049), n = 3,
// labels 5, 0, 4 (the first three MNIST training labels).
var idxLabels = []byte{0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	if _, err := z.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDXImages(t *testing.T) {
	for name, in := range map[string][]byte{"raw": idxImages, "gzip": gzipped(t, idxImages)} {
		n, rows, cols, pix, err := ReadIDXImages(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 2 || rows != 2 || cols != 3 || !bytes.Equal(pix, idxImages[16:]) {
			t.Errorf("%s: got n=%d rows=%d cols=%d pix=%v, want 2 2 3 %v", name, n, rows, cols, pix, idxImages[16:])
		}
	}
}

func TestReadIDXImagesLarge(t *testing.T) {
	// 3 images of 700x600 = 1,260,000 bytes: more than one idxChunk read.
	const n, rows, cols = 3, 700, 600
	in := []byte{0, 0, 8, 3, 0, 0, 0, n, 0, 0, rows >> 8, rows & 0xff, 0, 0, cols >> 8, cols & 0xff}
	want := make([]byte, n*rows*cols)
	for i := range want {
		want[i] = byte(i % 251)
	}
	gotN, gotRows, gotCols, pix, err := ReadIDXImages(bytes.NewReader(append(in, want...)))
	if err != nil || gotN != n || gotRows != rows || gotCols != cols || !bytes.Equal(pix, want) {
		t.Errorf("got n=%d rows=%d cols=%d, %d pixels equal=%v, error %v", gotN, gotRows, gotCols, len(pix), bytes.Equal(pix, want), err)
	}
}

func TestReadIDXLabels(t *testing.T) {
	for name, in := range map[string][]byte{"raw": idxLabels, "gzip": gzipped(t, idxLabels)} {
		got, err := ReadIDXLabels(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, []byte{5, 0, 4}) {
			t.Errorf("%s: labels %v, want [5 0 4]", name, got)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	// with returns idxImages with bytes [at, at+len(b)) replaced by b.
	with := func(src []byte, at int, b ...byte) []byte {
		out := append([]byte(nil), src...)
		copy(out[at:], b)
		return out
	}
	badGzip := gzipped(t, idxImages)
	badGzip[len(badGzip)-8] ^= 0xff // corrupt the CRC-32 in the trailer
	tests := []struct {
		name   string
		labels bool
		in     []byte
		want   string
	}{
		// 1234 = 0x04d2.
		{"images magic", false, with(idxImages, 0, 0, 0, 0x04, 0xd2), "idx: images magic 1234, want 2051"},
		{"labels magic", true, with(idxLabels, 0, 0, 0, 8, 3), "idx: labels magic 2051, want 2049"},
		{"labels file as images", false, idxLabels, "idx: images magic 2049, want 2051"},
		// 2 images of 2x3 need 12 bytes; 5 remain.
		{"short pixels", false, idxImages[:21], "idx: truncated: want 12 bytes of pixels, got 5"},
		{"short gzip pixels", false, gzipped(t, idxImages[:21]), "idx: truncated: want 12 bytes of pixels, got 5"},
		{"short labels", true, idxLabels[:9], "idx: truncated: want 3 bytes of labels, got 1"},
		{"short header", false, idxImages[:10], "idx: truncated: want 16 bytes of images header, got 10"},
		{"empty", true, nil, "idx: truncated: want 8 bytes of labels header, got 0"},
		{"trailing", false, append(append([]byte(nil), idxImages...), 0), "idx: trailing data after 12 bytes of pixels"},
		{"negative", false, with(idxImages, 8, 0xff, 0xff, 0xff, 0xfe), "idx: images header: extent 1 is -2"},
		{"huge", false, with(idxImages, 4, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff), "are too large"},
		{"claims more than sent", false, with(idxImages, 4, 0x7f, 0xff, 0xff, 0xff), "want 12884901882 bytes of pixels, got 12"},
		{"gzip checksum", false, badGzip, "checksum"},
	}
	for _, tc := range tests {
		var err error
		if tc.labels {
			_, err = ReadIDXLabels(bytes.NewReader(tc.in))
		} else {
			_, _, _, _, err = ReadIDXImages(bytes.NewReader(tc.in))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestReadIDXReaderError(t *testing.T) {
	// A failing reader is reported as itself, not as truncation.
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(idxImages[:16]), iotest.ErrReader(boom))
	_, _, _, _, err := ReadIDXImages(r)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "idx: reading pixels: boom") {
		t.Errorf("error %v, want idx: reading pixels: boom", err)
	}
}

func FuzzReadIDXImages(f *testing.F) {
	f.Add(idxImages)
	f.Add(gzipped(f, idxImages))
	f.Add(idxLabels)
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		n, rows, cols, pix, err := ReadIDXImages(bytes.NewReader(in))
		if err == nil && len(pix) != n*rows*cols {
			t.Errorf("n=%d rows=%d cols=%d but %d pixels", n, rows, cols, len(pix))
		}
	})
}
