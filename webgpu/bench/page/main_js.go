//go:build js && wasm

// Command page is the Go side of the browser benchmark (webgpu/bench):
// it exposes globalThis.webcnn to the page's bench.js, which times it
// against TF.js in the same Chromium.
//
//	webcnn.load(backend, files)  backend "webgpu" or "cpu"; files maps the
//	                             names of a model directory (manifest.json,
//	                             chunks) to Uint8Arrays. Decodes and
//	                             verifies the weights; resolves to
//	                             {model, adapter}.
//	webcnn.build()               builds the network on the backend (weight
//	                             upload); resolves when it is done.
//	webcnn.infer(x, shape)       uploads x (a Float32Array of shape),
//	                             runs the forward pass and reads the
//	                             output back: a Float32Array.
//	webcnn.dispose()             frees the network and closes the backend.
//	webcnn.stats()               the WebGPU backend's counters, a string.
//
// Every call returns a Promise and works in a goroutine: waiting on a
// Promise inside a js.FuncOf callback would deadlock the Go runtime.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sync"
	"syscall/js"
	"testing/fstest"
	"unsafe"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/webgpu"
)

type state struct {
	mu    sync.Mutex
	be    core.Backend
	gpu   *webgpu.Backend
	model *weights.Model
	net   nn.Layer
	arena *webgpu.Arena // the planned pass on WebGPU
}

var st state

func main() {
	api := js.Global().Get("Object").New()
	api.Set("load", promised(load))
	api.Set("build", promised(build))
	api.Set("infer", promised(infer))
	api.Set("dispose", promised(dispose))
	api.Set("stats", promised(func([]js.Value) (any, error) {
		if st.gpu == nil {
			return "", nil
		}
		s := st.gpu.Stats()
		if a := st.arena; a != nil {
			s += fmt.Sprintf("; plan: %v; %d of %d passes missed it", a.Plan(), a.Misses, a.Passes)
		}
		return s, nil
	}))
	js.Global().Set("webcnn", api)
	if f := js.Global().Get("webcnnReady"); f.Type() == js.TypeFunction {
		f.Invoke()
	}
	select {}
}

// promised wraps f as a JS function returning a Promise settled by f,
// which runs in its own goroutine (one call at a time).
func promised(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		var resolve, reject js.Value
		executor := js.FuncOf(func(_ js.Value, fs []js.Value) any {
			resolve, reject = fs[0], fs[1]
			return nil
		})
		p := js.Global().Get("Promise").New(executor)
		executor.Release()
		go func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			v, err := func() (v any, err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return f(args)
			}()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return p
	})
}

func load(args []js.Value) (any, error) {
	if len(args) < 2 {
		return nil, errors.New("load(backend, files)")
	}
	if st.be != nil {
		return nil, errors.New("load: dispose the previous model first")
	}
	files := fstest.MapFS{}
	keys := js.Global().Get("Object").Call("keys", args[1])
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		v := args[1].Get(k)
		b := make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(b, v)
		files[k] = &fstest.MapFile{Data: b}
	}
	m, err := weights.Load(context.Background(), fs.FS(files), ".", weights.LoadOptions{})
	if err != nil {
		return nil, err
	}
	adapter := ""
	switch name := args[0].String(); name {
	case "webgpu":
		g, err := webgpu.New()
		if err != nil {
			return nil, err
		}
		st.be, st.gpu = g, g
		adapter = g.Adapter().String()
	case "cpu":
		st.be = cpu.New()
	default:
		return nil, fmt.Errorf("load: backend %q: want webgpu or cpu", name)
	}
	st.model = m
	return map[string]any{"model": m.Manifest.Model, "adapter": adapter}, nil
}

func build([]js.Value) (any, error) {
	if st.model == nil {
		return nil, errors.New("build: no model loaded")
	}
	// On WebGPU, as the browser library does: plan the pass on a
	// rehearsal backend and start compiling its pipelines before the
	// weights go up, wait for them after.
	if st.gpu != nil {
		r := st.gpu.Rehearsal()
		rn, err := inferenceNet(r, st.model.Manifest.Zeros())
		if err != nil {
			return nil, err
		}
		shape := core.Shape(st.model.Manifest.Input.Shape)
		p, err := r.Record(func() error {
			_, err := nn.Infer(r, rn, shape, make([]float32, shape.Size()))
			return err
		})
		if err != nil {
			return nil, err
		}
		if st.arena, err = st.gpu.Prepare(p); err != nil {
			return nil, err
		}
	}
	net, err := inferenceNet(st.be, st.model)
	if err != nil {
		return nil, err
	}
	st.net = net
	st.model = nil // the host copy is no longer needed
	if st.gpu != nil {
		if err := st.gpu.Ready(); err != nil {
			return nil, err
		}
	}
	return nil, st.be.Sync()
}

// inferenceNet builds a manifest's network with its batch norms folded.
func inferenceNet(b core.Backend, m *weights.Model) (nn.Layer, error) {
	net, err := models.Build(b, m)
	if err != nil {
		return nil, err
	}
	net, _, err = models.FoldForInference(net)
	return net, err
}

func infer(args []js.Value) (any, error) {
	if st.net == nil {
		return nil, errors.New("infer: no model built")
	}
	if len(args) < 2 {
		return nil, errors.New("infer(x, shape)")
	}
	shape := make(core.Shape, args[1].Length())
	for i := range shape {
		shape[i] = args[1].Index(i).Int()
	}
	in := make([]float32, shape.Size())
	if n := args[0].Get("length").Int(); n != len(in) {
		return nil, fmt.Errorf("infer: %d values for shape %v", n, shape)
	}
	u8 := js.Global().Get("Uint8Array").New(args[0].Get("buffer"), args[0].Get("byteOffset"), 4*len(in))
	js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(in))), 4*len(in)), u8)
	var out []float32
	pass := func() (err error) {
		out, err = nn.Infer(st.be, st.net, shape, in)
		return err
	}
	var err error
	if st.arena != nil {
		err = st.arena.Run(pass)
	} else {
		err = pass()
	}
	if err != nil {
		return nil, err
	}
	res := js.Global().Get("Float32Array").New(len(out))
	js.CopyBytesToJS(js.Global().Get("Uint8Array").New(res.Get("buffer")), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*len(out)))
	return res, nil
}

func dispose([]js.Value) (any, error) {
	if st.net != nil {
		if f, ok := st.net.(interface{ Free() }); ok {
			f.Free()
		} else {
			for _, p := range st.net.Params() {
				p.T.Free()
			}
		}
	}
	if st.arena != nil {
		st.arena.Release()
	}
	if st.gpu != nil {
		st.gpu.Close()
	}
	st.be, st.gpu, st.model, st.net, st.arena = nil, nil, nil, nil, nil
	runtime.GC()
	return nil, nil
}
