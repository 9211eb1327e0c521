//go:build js && wasm

package main

import (
	"fmt"
	"runtime/debug"
	"syscall/js"
	"unsafe"
)

// promise returns a JS Promise settled by work, run in its own goroutine:
// a js.FuncOf callback must return before anything it starts can wait on
// a Promise. A panic in work rejects the Promise (kind "internal") and
// the runtime goes on serving.
func promise(work func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer func() {
				if r := recover(); r != nil {
					js.Global().Get("console").Call("error", fmt.Sprintf("webcnn: panic: %v\n%s", r, debug.Stack()))
					reject.Invoke(jsError(fmt.Errorf("internal error (a bug, please report it): %v", r)))
				}
			}()
			v, err := work()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	defer executor.Release() // the executor runs synchronously in the constructor
	return js.Global().Get("Promise").New(executor)
}

// jsError is err as a JS Error whose code is Kind(err).
func jsError(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	e.Set("name", "WebCNNError")
	e.Set("code", Kind(err))
	return e
}

// jsFailure is a rejected JS Promise's reason as a Go error.
type jsFailure struct{ v js.Value }

func (f jsFailure) Error() string {
	if f.v.Type() == js.TypeObject && f.v.Get("message").Type() == js.TypeString {
		return f.v.Get("name").String() + ": " + f.v.Get("message").String()
	}
	return js.Global().Get("String").Invoke(f.v).String()
}

// await waits for a Promise; it must not run in a js.FuncOf callback.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsFailure{arg0(args)}}
		return nil
	})
	p.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// bytesOf copies a Uint8Array or Uint8ClampedArray into Go in one call.
func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// float32sOf copies a Float32Array into Go in one call.
func float32sOf(v js.Value) ([]float32, error) {
	if !v.InstanceOf(js.Global().Get("Float32Array")) {
		return nil, fmt.Errorf("%w: predict takes a Float32Array", ErrBadInput)
	}
	n := v.Get("length").Int()
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	u8 := js.Global().Get("Uint8Array").New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n), u8)
	return out, nil
}

// float32Array copies v into a new Float32Array in one call.
func float32Array(v []float32) js.Value {
	a := js.Global().Get("Float32Array").New(len(v))
	if len(v) > 0 {
		u8 := js.Global().Get("Uint8Array").New(a.Get("buffer"))
		js.CopyBytesToJS(u8, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
	}
	return a
}
