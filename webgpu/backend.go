package webgpu

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"webcnn/core"
)

// Buffer is a GPU storage buffer of float32 elements.
type Buffer struct {
	n     int    // elements
	size  int    // bytes on the device (bufferSize(n))
	h     handle // the device's buffer
	owner *Backend
	freed bool
	arena *Arena     // the arena whose slot this is, or nil
	slot  int        // the arena's slot
	rec   *recording // the recording that logged its allocation, or nil
	recAt int        // the allocation's index in rec
}

// Len is the number of float32 elements.
func (b *Buffer) Len() int { return b.n }

// Backend runs every op as a WebGPU compute shader.
type Backend struct {
	mu  sync.Mutex
	dev device
	lim limits

	// pool keeps freed buffers by byte size for reuse (a forward pass frees
	// and allocates the same sizes again and again); pooled is its total.
	pool   map[int][]handle
	pooled int
	// PoolBytes bounds the memory kept in the pool (default 256 MiB).
	PoolBytes int
	// dummy is bound where a kernel's optional input (a bias) is absent.
	dummy *Buffer

	rec    *recording // the pass being rehearsed (Record), or nil
	arena  *Arena     // the arena serving the running pass (Arena.Run), or nil
	passMu sync.Mutex // held by Arena.Run
}

var _ core.Backend = (*Backend)(nil)

// newBackend wraps a device.
func newBackend(d device) *Backend {
	return &Backend{dev: d, lim: d.limits(), pool: map[int][]handle{}, PoolBytes: 256 << 20}
}

// Name identifies the backend.
func (b *Backend) Name() string { return "webgpu" }

var errForeign = errors.New("webgpu: buffer from another backend")

// buffer returns the GPU buffer behind a core buffer, or an error for a
// foreign or freed one.
func (b *Backend) buffer(buf core.Buffer) (*Buffer, error) {
	g, ok := buf.(*Buffer)
	if !ok || g.owner != b {
		return nil, errForeign
	}
	if g.freed {
		return nil, errors.New("webgpu: buffer used after it was freed")
	}
	return g, nil
}

// Alloc returns a zero-filled buffer of n elements.
func (b *Backend) Alloc(n int) (core.Buffer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 {
		return nil, fmt.Errorf("webgpu: alloc of %d elements", n)
	}
	if err := b.dev.lost(); err != nil {
		return nil, err
	}
	size := bufferSize(n)
	if size > b.lim.maxBufferSize || size > b.lim.maxStorageBinding {
		return nil, fmt.Errorf("webgpu: alloc of %d elements (%d bytes) exceeds the device's buffer limit of %d bytes",
			n, size, min(b.lim.maxBufferSize, b.lim.maxStorageBinding))
	}
	if g := b.planned(n); g != nil {
		return g, nil
	}
	var g *Buffer
	if hs := b.pool[size]; len(hs) > 0 {
		h := hs[len(hs)-1]
		b.pool[size] = hs[:len(hs)-1]
		b.pooled -= size
		b.dev.clear(h)
		g = &Buffer{n: n, size: size, h: h, owner: b}
	} else {
		h, err := b.dev.newBuffer(size)
		if err != nil {
			return nil, fmt.Errorf("webgpu: alloc of %d elements: %w", n, err)
		}
		g = &Buffer{n: n, size: size, h: h, owner: b}
	}
	if r := b.rec; r != nil {
		r.allocs = append(r.allocs, recAlloc{n: n, size: size, at: r.clock, free: -1})
		r.clock++
		g.rec, g.recAt = r, len(r.allocs)-1
	}
	return g, nil
}

// Free returns the buffer to the pool (or destroys it when the pool is
// full); work already recorded that uses it still runs.
func (b *Backend) Free(buf core.Buffer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, ok := buf.(*Buffer)
	if !ok || g.owner != b || g.freed {
		return
	}
	g.freed = true
	if r := b.rec; r != nil && g.rec == r {
		r.allocs[g.recAt].free = r.clock
		r.clock++
	}
	if a := g.arena; a != nil {
		if !a.released {
			a.busy[g.slot] = false
		}
		g.h = nil
		return
	}
	if b.pooled+g.size <= b.PoolBytes {
		b.pool[g.size] = append(b.pool[g.size], g.h)
		b.pooled += g.size
	} else {
		b.dev.destroy(g.h)
	}
	g.h = nil
}

// Write copies src into dst at element off.
func (b *Backend) Write(dst core.Buffer, off int, src []float32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.buffer(dst)
	if err != nil {
		return err
	}
	if off < 0 || off+len(src) > d.n {
		return fmt.Errorf("webgpu: write of %d elements at %d into a buffer of %d", len(src), off, d.n)
	}
	if len(src) == 0 {
		return nil
	}
	return b.dev.write(d.h, 4*off, floatBytes(src))
}

// Read copies elements of src at off into dst: it submits the recorded
// work and waits for it.
func (b *Backend) Read(src core.Buffer, off int, dst []float32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := b.buffer(src)
	if err != nil {
		return err
	}
	if off < 0 || off+len(dst) > s.n {
		return fmt.Errorf("webgpu: read of %d elements at %d from a buffer of %d", len(dst), off, s.n)
	}
	if len(dst) == 0 {
		return b.dev.sync()
	}
	return b.dev.read(s.h, 4*off, floatBytes(dst))
}

// Sync submits the recorded work, waits for it and reports any error the
// device raised since the last Sync.
func (b *Backend) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dev.sync()
}

// Close releases the device; the backend is unusable afterwards.
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool = map[int][]handle{}
	b.pooled = 0
	b.dev.close()
}

// Adapter describes the GPU the backend runs on.
func (b *Backend) Adapter() Adapter { return b.dev.adapter() }

// Stats describes the work done so far: pipelines compiled, dispatches,
// submissions and reads.
func (b *Backend) Stats() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dev.counters().String()
}

// floatBytes views float32s as their little-endian bytes (WebAssembly and
// WebGPU are both little-endian).
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// launch checks the tensors' buffers and records k with them as bindings
// 1, 2, ... in order; a nil tensor (an absent bias) binds a small dummy
// buffer.
func (b *Backend) launch(k *kernel, ts ...*core.Tensor) error {
	for _, t := range ts {
		if t == nil {
			if b.dummy == nil {
				h, err := b.dev.newBuffer(16)
				if err != nil {
					return err
				}
				b.dummy = &Buffer{n: 4, size: 16, h: h, owner: b}
			}
			k.bufs = append(k.bufs, b.dummy)
			continue
		}
		g, err := b.buffer(t.Buffer())
		if err != nil {
			return err
		}
		if g.size > b.lim.maxStorageBinding {
			return fmt.Errorf("webgpu: %s: a buffer of %d bytes exceeds the binding limit of %d", k.shader, g.size, b.lim.maxStorageBinding)
		}
		k.bufs = append(k.bufs, g)
	}
	return b.dev.run(k)
}

// sameBuffer reports whether two tensors share their memory.
func sameBuffer(a, c *core.Tensor) bool {
	return a != nil && c != nil && a.Buffer() == c.Buffer()
}
