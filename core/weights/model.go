package weights

import "fmt"

// Tensor is a named float32 tensor on the host, as importers produce them.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteModel writes tensors and the manifest m (whose Tensors and Chunks
// it fills) into dir atomically. progress, if not nil, is called after each
// tensor with the tensors done and the total.
func WriteModel(dir string, o WriterOptions, m *Manifest, tensors []Tensor, progress func(done, total int)) error {
	w, err := NewWriter(dir, o)
	if err != nil {
		return err
	}
	for i, t := range tensors {
		if err := w.Add(t.Name, t.Shape, t.Data); err != nil {
			w.Abort()
			return err
		}
		if progress != nil {
			progress(i+1, len(tensors))
		}
	}
	if err := w.Commit(m); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return nil
}
