//go:build js && wasm

package main

import (
	"strconv"
	"syscall/js"
)

// jsError is a rejected Promise's reason: the library's errors carry a
// code ("network", "integrity", ...) beside their message.
type jsError struct {
	Code, Message string
}

func (e *jsError) Error() string { return e.Message }

func asError(v js.Value) *jsError {
	if v.Type() == js.TypeObject {
		e := &jsError{Message: str(v.Get("message"))}
		if c := v.Get("code"); c.Type() == js.TypeString {
			e.Code = c.String()
		}
		if e.Message == "" {
			e.Message = js.Global().Get("String").Invoke(v).String()
		}
		return e
	}
	return &jsError{Message: js.Global().Get("String").Invoke(v).String()}
}

// await waits for a Promise; call it from a goroutine, never from a
// js.FuncOf callback.
func await(p js.Value) (js.Value, *jsError) {
	type result struct {
		v   js.Value
		err *jsError
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: first(args)}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: asError(first(args))}
		return nil
	})
	js.Global().Get("Promise").Call("resolve", p).Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

func first(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

func str(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func num(v js.Value) float64 {
	if v.Type() == js.TypeNumber {
		return v.Float()
	}
	return 0
}

func ints(v js.Value) []int {
	if !v.Truthy() {
		return nil
	}
	out := make([]int, v.Length())
	for i := range out {
		out[i] = v.Index(i).Int()
	}
	return out
}

// sleep waits ms milliseconds on the browser's timer (the time package
// would add 40 kB to app.wasm after brotli for this one call).
func sleep(ms int) {
	ch := make(chan struct{})
	f := js.FuncOf(func(js.Value, []js.Value) any {
		close(ch)
		return nil
	})
	js.Global().Call("setTimeout", f, ms)
	<-ch
	f.Release()
}

func now() float64 { return js.Global().Get("performance").Call("now").Float() }

// fetchJSON fetches and parses a JSON document.
func fetchJSON(url string) (js.Value, *jsError) {
	res, err := await(js.Global().Call("fetch", url))
	if err != nil {
		return js.Value{}, err
	}
	if !res.Get("ok").Bool() {
		return js.Value{}, &jsError{Code: "network", Message: url + " answered HTTP " + strconv.Itoa(res.Get("status").Int())}
	}
	return await(res.Call("json"))
}
