package main

import (
	"fmt"
	"strings"
	"sync"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/webgpu"
)

// backends hands out the compute backends: one CPU backend, and one WebGPU
// device shared by the models that run on it, opened on first use, closed
// (its memory and buffer pool released) when the last of them is disposed,
// and opened anew after a device loss.
type backends struct {
	mu   sync.Mutex
	cpu  core.Backend
	gpu  *webgpu.Backend
	refs int // models holding gpu
	open func() (*webgpu.Backend, error)
}

func newBackends() *backends {
	return &backends{cpu: cpu.New(), open: webgpu.New}
}

// lease is a backend given to one model.
type lease struct {
	B core.Backend
	// Name is "cpu" or "webgpu"; Note says why it is not the one asked
	// for, or which adapter runs it.
	Name, Note string
	release    func()
}

// Release gives the backend back (once).
func (l *lease) Release() {
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

// acquire returns the backend for want: "cpu"; "webgpu" (the CPU with a
// note when WebGPU is unavailable); or "auto" (WebGPU on a hardware
// adapter, else the CPU: a software adapter such as SwiftShader is slower
// than the CPU backend). It must run in a goroutine, not a js.FuncOf
// callback: opening a device waits on Promises.
func (bs *backends) acquire(want string) (*lease, error) {
	switch want {
	case "", "auto", "cpu", "webgpu":
	default:
		return nil, fmt.Errorf("%w: backend %q: want \"cpu\", \"webgpu\" or \"auto\"", ErrBadInput, want)
	}
	if want == "cpu" {
		return &lease{B: bs.cpu, Name: "cpu"}, nil
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.gpu == nil {
		g, err := bs.open()
		if err != nil {
			why := strings.TrimPrefix(err.Error(), "webgpu: unavailable: ")
			return &lease{B: bs.cpu, Name: "cpu", Note: "WebGPU is not available: " + why}, nil
		}
		bs.gpu = g
	}
	ad := bs.gpu.Adapter()
	if want != "webgpu" && ad.Fallback {
		bs.closeIfUnused()
		return &lease{B: bs.cpu, Name: "cpu", Note: "the WebGPU adapter is a software one (" + ad.String() + "): the CPU is faster"}, nil
	}
	bs.refs++
	g := bs.gpu
	var once sync.Once
	return &lease{B: g, Name: "webgpu", Note: ad.String(), release: func() {
		once.Do(func() {
			bs.mu.Lock()
			defer bs.mu.Unlock()
			if bs.gpu == g {
				bs.refs--
				bs.closeIfUnused()
			}
		})
	}}, nil
}

// closeIfUnused closes the device when no model holds it; bs.mu is held.
func (bs *backends) closeIfUnused() {
	if bs.gpu != nil && bs.refs == 0 {
		bs.gpu.Close()
		bs.gpu = nil
	}
}

// lost forgets a device that reported its loss, so that the next load
// opens a new one; the models on it stay unusable.
func (bs *backends) lost(b core.Backend) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if g, ok := b.(*webgpu.Backend); ok && bs.gpu == g {
		bs.gpu, bs.refs = nil, 0
	}
}
