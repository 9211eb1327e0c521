package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Writer packs tensors into content-addressed chunks and writes them with
// their manifest. Nothing appears in the output directory until Commit:
// chunks are staged in a temporary directory beside it, then renamed in
// (existing chunks with the same content are kept: they are identical),
// and manifest.json is renamed last, so an interrupted conversion leaves
// no half-written output.
type Writer struct {
	dir       string
	stage     string
	chunkSize int64
	dtype     DType
	tensors   []Entry
	chunks    []Chunk
	cur       []byte
	err       error
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	ChunkSize int64 // 0: DefaultChunkSize
	DType     DType // storage of float tensors ("" = F32)
}

// NewWriter prepares to write a model into dir (created if needed).
func NewWriter(dir string, o WriterOptions) (*Writer, error) {
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.DType == "" {
		o.DType = F32
	}
	if _, err := o.DType.size(); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	stage, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".weights-stage-")
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return &Writer{dir: dir, stage: stage, chunkSize: o.ChunkSize, dtype: o.DType}, nil
}

// Add appends a tensor in the writer's dtype. 1-D tensors (biases, norm
// parameters) are kept in f32 when the dtype is int8: their per-channel
// scale would be one value each.
func (w *Writer) Add(name string, shape []int, v []float32) error {
	d := w.dtype
	if d == Int8 && len(shape) < 2 {
		d = F32
	}
	return w.AddAs(name, shape, v, d)
}

// AddAs appends a tensor stored in dtype d.
func (w *Writer) AddAs(name string, shape []int, v []float32, d DType) error {
	if w.err != nil {
		return w.err
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != len(v) {
		return fmt.Errorf("weights: tensor %q shape %v needs %d values, got %d", name, shape, n, len(v))
	}
	b, scales, err := encode(d, shape, v)
	if err != nil {
		return fmt.Errorf("weights: tensor %q: %w", name, err)
	}
	if len(w.cur) > 0 && int64(len(w.cur)+len(b)) > w.chunkSize {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.tensors = append(w.tensors, Entry{Name: name, Shape: append([]int(nil), shape...), DType: d,
		Chunk: len(w.chunks), Offset: int64(len(w.cur)), Length: int64(len(b)), Scales: scales})
	w.cur = append(w.cur, b...)
	return nil
}

// flush writes the current chunk into the staging directory.
func (w *Writer) flush() error {
	if len(w.cur) == 0 {
		return nil
	}
	sum := sha256.Sum256(w.cur)
	h := hex.EncodeToString(sum[:])
	c := Chunk{File: h[:16] + ".bin", Size: int64(len(w.cur)), SHA256: h}
	if err := os.WriteFile(filepath.Join(w.stage, c.File), w.cur, 0o644); err != nil {
		w.err = fmt.Errorf("weights: chunk %s: %w", c.File, err)
		return w.err
	}
	w.chunks = append(w.chunks, c)
	w.cur = nil
	return nil
}

// Commit completes m with the tensors and chunks, validates it and
// publishes everything into the output directory.
func (w *Writer) Commit(m *Manifest) error {
	defer os.RemoveAll(w.stage)
	if w.err != nil {
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	m.Format = Version
	m.Tensors, m.Chunks = w.tensors, w.chunks
	if m.Memory.ParamBytes == 0 {
		for i := range w.tensors {
			m.Memory.ParamBytes += 4 * w.tensors[i].Elements()
		}
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	js, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if err := os.WriteFile(filepath.Join(w.stage, "manifest.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("weights: manifest: %w", err)
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	published := map[string]bool{}
	for _, c := range w.chunks {
		if published[c.File] { // two identical chunks in one model
			continue
		}
		published[c.File] = true
		if err := os.Rename(filepath.Join(w.stage, c.File), filepath.Join(w.dir, c.File)); err != nil {
			return fmt.Errorf("weights: publish chunk %s: %w", c.File, err)
		}
	}
	if err := os.Rename(filepath.Join(w.stage, "manifest.json"), filepath.Join(w.dir, "manifest.json")); err != nil {
		return fmt.Errorf("weights: publish manifest: %w", err)
	}
	return nil
}

// Abort discards everything staged.
func (w *Writer) Abort() { os.RemoveAll(w.stage) }
