package cpu

import "sync"

// scratch recycles float32 memory by length: the buffers that Free
// releases (Alloc takes them back, cleared) and the packing and im2col
// buffers of the fast paths. A forward pass allocates the same sizes
// every time; without reuse, zeroing fresh memory and collecting garbage
// (on the one thread of js/wasm) took about a tenth of MobileNetV2's time
// there. A sync.Pool per length lets the collector drop what stays unused
// through two collections, so the memory held is bounded by use.
var scratch struct {
	mu    sync.Mutex
	pools map[int]*sync.Pool
}

// getScratch returns n float32 values of unspecified content.
func getScratch(n int) []float32 {
	if s, ok := scratchPool(n).Get().(*[]float32); ok {
		return *s
	}
	return make([]float32, n)
}

// putScratch hands s back for reuse; the caller must not use it again.
func putScratch(s []float32) {
	if len(s) == 0 {
		return
	}
	s = s[:len(s):len(s)]
	scratchPool(len(s)).Put(&s)
}

// scratchPool is the pool of buffers of length n.
func scratchPool(n int) *sync.Pool {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	p := scratch.pools[n]
	if p == nil {
		if scratch.pools == nil {
			scratch.pools = map[int]*sync.Pool{}
		}
		p = new(sync.Pool)
		scratch.pools[n] = p
	}
	return p
}
