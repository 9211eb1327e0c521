package weights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
)

// Errors a loader reports, wrapped with the chunk or tensor at fault.
var (
	ErrIntegrity = errors.New("integrity check failed")
	ErrBudget    = errors.New("model exceeds the memory budget")
)

// LoadOptions configure Load.
type LoadOptions struct {
	// Budget refuses, before any chunk is read, a model whose memory plan
	// (float32 parameters plus activations) exceeds it; 0: no limit.
	Budget int64
	// Progress is called after each chunk with the bytes done and the total.
	Progress func(done, total int64)
	// Parallel bounds concurrent chunk reads (default 4).
	Parallel int
	// Cache shares verified chunks between models (a common backbone is
	// read once); nil: no sharing.
	Cache *Cache
}

// Cache holds verified chunk bytes by sha256, shared by several loads.
type Cache struct {
	mu sync.Mutex
	m  map[string][]byte
	// Reads counts chunk reads from a file system (not served by the cache).
	Reads int
}

func (c *Cache) get(sum string) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[sum]
}

func (c *Cache) put(sum string, b []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	c.m[sum] = b
	c.Reads++
}

// Model is a loaded manifest with its tensors dequantized to float32.
type Model struct {
	Manifest *Manifest
	Tensors  map[string][]float32
}

// ReadManifest reads and validates dir/manifest.json from fsys.
func ReadManifest(fsys fs.FS, dir string) (*Manifest, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path.Join(dir, "manifest.json"), err)
	}
	return m, nil
}

// CheckBudget refuses a manifest whose memory plan exceeds budget bytes.
func (m *Manifest) CheckBudget(budget int64) error {
	params := m.ParamsBytes() // never less than the load allocates
	need := params + m.Memory.ActivationBytes
	if budget > 0 && need > budget {
		return fmt.Errorf("weights: %q needs %d bytes (%d of parameters, %d of activations), budget %d: %w",
			m.Model, need, params, m.Memory.ActivationBytes, budget, ErrBudget)
	}
	return nil
}

// Load reads dir/manifest.json and every chunk it lists from fsys,
// verifying each chunk's size and sha256 before decoding any tensor.
func Load(ctx context.Context, fsys fs.FS, dir string, o LoadOptions) (*Model, error) {
	m, err := ReadManifest(fsys, dir)
	if err != nil {
		return nil, err
	}
	if err := m.CheckBudget(o.Budget); err != nil {
		return nil, err
	}
	chunks, err := fetchChunks(ctx, fsys, dir, m.Chunks, o)
	if err != nil {
		return nil, err
	}
	out := &Model{Manifest: m, Tensors: make(map[string][]float32, len(m.Tensors))}
	for i := range m.Tensors {
		e := &m.Tensors[i]
		v, err := Decode(e, chunks[e.Chunk][e.Offset:e.Offset+e.Length])
		if err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
		out.Tensors[e.Name] = v
	}
	return out, nil
}

// fetchChunks reads and verifies every chunk, o.Parallel at a time.
func fetchChunks(ctx context.Context, fsys fs.FS, dir string, cs []Chunk, o LoadOptions) ([][]byte, error) {
	par := o.Parallel
	if par <= 0 {
		par = 4
	}
	var total int64
	for _, c := range cs {
		total += c.Size
	}
	out := make([][]byte, len(cs))
	errs := make([]error, len(cs))
	var mu sync.Mutex
	var done int64
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, c := range cs {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b, err := fetchChunk(ctx, fsys, dir, c, o.Cache)
			out[i], errs[i] = b, err
			if err == nil && o.Progress != nil {
				mu.Lock()
				done += c.Size
				o.Progress(done, total)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// fetchChunk returns a chunk's verified bytes, from the cache if there.
func fetchChunk(ctx context.Context, fsys fs.FS, dir string, c Chunk, cache *Cache) ([]byte, error) {
	if b := cache.get(c.SHA256); b != nil {
		return b, nil
	}
	f, err := fsys.Open(path.Join(dir, c.File))
	if err != nil {
		return nil, fmt.Errorf("weights: chunk %s: %w", c.File, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, c.Size+1))
	if err != nil {
		return nil, fmt.Errorf("weights: chunk %s: %w", c.File, err)
	}
	if err := Verify(c, b); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cache.put(c.SHA256, b)
	return b, nil
}

// Verify checks a chunk's bytes against its size and sha256.
func Verify(c Chunk, b []byte) error {
	if int64(len(b)) != c.Size {
		return fmt.Errorf("weights: chunk %s: %d bytes, manifest says %d (truncated or wrong file): %w", c.File, len(b), c.Size, ErrIntegrity)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != c.SHA256 {
		return fmt.Errorf("weights: chunk %s: sha256 %s, manifest says %s (corrupted): %w", c.File, got[:16], c.SHA256[:16], ErrIntegrity)
	}
	return nil
}

// Zeros returns a Model with every tensor of m filled with zeros: the
// network's structure before its weights arrive, for planning a pass
// (shapes, kernels, memory) while they download.
func (m *Manifest) Zeros() *Model {
	ts := make(map[string][]float32, len(m.Tensors))
	for _, e := range m.Tensors {
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		ts[e.Name] = make([]float32, n)
	}
	return &Model{Manifest: m, Tensors: ts}
}
