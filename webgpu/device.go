package webgpu

import (
	"fmt"
	"strings"
	"time"
)

// device is what the backend needs from WebGPU; device_js.go implements it
// with syscall/js. Offsets and sizes are in bytes, multiples of 4.
type device interface {
	// newBuffer creates a zero-filled storage buffer of size bytes.
	newBuffer(size int) (handle, error)
	// destroy releases a buffer once the work recorded so far is submitted.
	destroy(handle)
	// clear records a zero fill of a buffer (a pooled buffer reused).
	clear(handle)
	// write copies b into a buffer at off, after the work recorded so far.
	write(h handle, off int, b []byte) error
	// read copies len(b) bytes of a buffer at off into b, after the work
	// recorded so far.
	read(h handle, off int, b []byte) error
	// run records one compute dispatch.
	run(k *kernel) error
	// prepare starts compiling the pipeline of a shader and specialization
	// without waiting for it; run waits for it when it needs it.
	prepare(shader string, d defs) error
	// ready waits for every pipeline prepare started and reports the
	// compilation errors.
	ready() error
	// sync submits the recorded work and waits for the GPU to finish it.
	sync() error
	// limits reports the device's limits that shape the plans.
	limits() limits
	// adapter describes the adapter behind the device.
	adapter() Adapter
	// counters returns the work done so far.
	counters() stats
	// lost returns an error wrapping ErrDeviceLost once the device is lost.
	lost() error
	// close destroys the device.
	close()
}

// handle is a device buffer (a js.Value in the browser).
type handle any

// limits are the device limits the plans respect.
type limits struct {
	maxBufferSize        int // bytes
	maxStorageBinding    int // bytes
	maxWorkgroupsPerDim  int
	maxInvocationsPerWG  int
	maxWorkgroupStorage  int // bytes
	minUniformOffsetAlgn int // bytes
}

// defaultLimits are WebGPU's guaranteed minimums.
var defaultLimits = limits{
	maxBufferSize:        256 << 20,
	maxStorageBinding:    128 << 20,
	maxWorkgroupsPerDim:  65535,
	maxInvocationsPerWG:  256,
	maxWorkgroupStorage:  16384,
	minUniformOffsetAlgn: 256,
}

// kernel is one planned dispatch: the shader and its specialization, the
// uniform words (binding 0), the storage buffers (bindings 1, 2, ... in
// order) and the workgroup counts.
type kernel struct {
	shader string
	defs   defs
	params []uint32
	bufs   []*Buffer
	groups [3]int
}

// uniformSize is the room each dispatch's uniforms take in the batch's
// uniform buffer: WebGPU's minimum uniform offset alignment, and more than
// the largest Params struct of the shaders.
const uniformSize = 256

// maxBatch is the number of dispatches recorded before a submission.
const maxBatch = 256

// stats count a device's work, for tests and benchmarks.
type stats struct {
	Compiles   int            // pipelines compiled
	Prepared   int            // of which compiled ahead of use (prepare)
	Compile    time.Duration  // time spent waiting for compilations
	ByShader   map[string]int // pipelines compiled per shader
	Dispatches int
	Submits    int
	Reads      int
	Read       time.Duration // time spent waiting for reads (GPU work included)
}

func (s stats) String() string {
	return fmt.Sprintf("%d pipelines %v compiled (%d ahead of use) waiting %v, %d dispatches, %d submits, %d reads waiting %v",
		s.Compiles, s.ByShader, s.Prepared, s.Compile.Round(time.Millisecond), s.Dispatches, s.Submits, s.Reads, s.Read.Round(time.Millisecond))
}

// Adapter describes the GPU behind a backend, as the browser reports it.
type Adapter struct {
	Vendor, Architecture, Description string
	// Fallback marks a software adapter (SwiftShader): correct but slower
	// than the CPU backend, so callers may prefer the CPU there.
	Fallback bool
}

func (a Adapter) String() string {
	s := strings.TrimSpace(a.Vendor + " " + a.Architecture + " " + a.Description)
	if a.Fallback {
		s += " (fallback adapter)"
	}
	return s
}
