//go:build js && wasm

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"syscall/js"

	"webcnn/wasm/worker/api"
)

// serve registers h as context.binding.handle(request, done) for
// worker.mjs: request is {method, url, headers: [[name, value]...], body:
// Uint8Array or null, overLimit} (the glue has read the body up to its
// limit; overLimit is the length of a longer one, not passed on), and
// done is called once with {status, headers, body: Uint8Array}.
//
// This replaces syumai/workers' request path, which streams every response
// through a ReadableStream built on two js.Func callbacks (pull, cancel)
// that are never released, each holding a 16,640-byte chunk buffer and
// the response's pipe: about 19 KB of the instance's memory per response,
// forever. Here the handler writes into a buffer, the body crosses to JS
// as one Uint8Array (the glue's Response then has a Content-Length), and
// the one js.Func is created once per instance, not per request.
func serve(h http.Handler) js.Func {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 2 || args[1].Type() != js.TypeFunction {
			panic("handle(request, done): want two arguments")
		}
		req, done := args[0], args[1]
		// Never block inside a callback: the handler may await Promises.
		go func() { done.Invoke(respond(h, req)) }()
		return nil
	})
	js.Global().Get("context").Get("binding").Set("handle", f)
	return f
}

// respond runs one request through h and returns the glue's response
// object; a request it cannot read, and a panic that escapes h, are a
// JSON 500.
func respond(h http.Handler, jreq js.Value) (res js.Value) {
	w := &bufferWriter{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			w = &bufferWriter{header: http.Header{}}
			api.WriteError(w, http.StatusInternalServerError, "internal error: %v", v)
			res = w.toJS()
		}
	}()
	r, err := toRequest(jreq)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, "%v", err)
		return w.toJS()
	}
	h.ServeHTTP(w, r)
	return w.toJS()
}

// toRequest converts the glue's request object to an *http.Request whose
// body is held in memory.
func toRequest(j js.Value) (*http.Request, error) {
	u, err := url.Parse(j.Get("url").String())
	if err != nil {
		return nil, fmt.Errorf("request URL: %v", err)
	}
	r := &http.Request{Method: j.Get("method").String(), URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: u.Host, RequestURI: u.RequestURI()}
	hs := j.Get("headers")
	for i, n := 0, hs.Length(); i < n; i++ {
		kv := hs.Index(i)
		r.Header.Add(kv.Index(0).String(), kv.Index(1).String())
	}
	r.Body = http.NoBody
	if n := j.Get("overLimit"); n.Type() == js.TypeNumber {
		r.ContentLength = int64(n.Float()) // the glue stopped reading: a 413
	} else if b := j.Get("body"); b.Truthy() {
		buf := make([]byte, b.Get("byteLength").Int())
		js.CopyBytesToGo(buf, b)
		r.Body, r.ContentLength = nopCloser{bytes.NewReader(buf)}, int64(len(buf))
	}
	return r, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// bufferWriter is an http.ResponseWriter that keeps the response in memory.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferWriter) Header() http.Header { return w.header }

func (w *bufferWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

var uint8Array = js.Global().Get("Uint8Array")

// toJS is the glue's response object: status, header pairs with the
// body's Content-Length, and the body as one Uint8Array.
func (w *bufferWriter) toJS() js.Value {
	w.WriteHeader(http.StatusOK)
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	pairs := make([]any, 0, len(w.header))
	for k, vs := range w.header {
		for _, v := range vs {
			pairs = append(pairs, []any{k, v})
		}
	}
	body := uint8Array.New(w.body.Len())
	js.CopyBytesToJS(body, w.body.Bytes())
	return js.ValueOf(map[string]any{"status": w.status, "headers": pairs, "body": body})
}
