//go:build js && wasm

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"syscall/js"
	"time"
)

// await waits for a JS Promise from a goroutine (never from inside a
// callback) and releases both of its callbacks, whichever one ran.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg0(args))}
		return nil
	})
	p.Call("then", then, catch)
	r := <-ch
	then.Release()
	catch.Release()
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

func jsError(v js.Value) error {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		return errors.New(v.Get("message").String())
	}
	return fmt.Errorf("%v", v)
}

// bytesOf awaits a Response's or an R2 object's arrayBuffer() and copies it.
func bytesOf(obj js.Value) ([]byte, error) {
	ab, err := await(obj.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	u := uint8Array.New(ab)
	b := make([]byte, u.Get("byteLength").Int())
	js.CopyBytesToGo(b, u)
	return b, nil
}

// assetsFS reads files from the Worker's static assets through their
// binding (a Fetcher): name "models/lenet5-mnist/manifest.json" is the
// asset at that path. A 404 is fs.ErrNotExist.
type assetsFS struct{ binding js.Value }

func newAssetsFS(binding string) (fs.FS, error) {
	b := envValue(binding)
	if b.Type() != js.TypeObject || b.Get("fetch").Type() != js.TypeFunction {
		return nil, fmt.Errorf("no binding %q: add \"assets\": {\"binding\": %q, ...} to wrangler.jsonc", binding, binding)
	}
	return assetsFS{b}, nil
}

func (a assetsFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	// The host is not used: the binding serves its own assets.
	res, err := await(a.binding.Call("fetch", "https://assets.invalid/"+name))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	switch status := res.Get("status").Int(); {
	case status == 404:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case status != 200:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("assets answered %d", status)}
	}
	b, err := bytesOf(res)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return &file{name: name, Reader: bytes.NewReader(b), size: int64(len(b))}, nil
}

// r2FS reads files from an R2 bucket binding: name is the object key
// prefix+name. A missing object is fs.ErrNotExist.
type r2FS struct {
	bucket js.Value
	prefix string
}

func newR2FS(binding, prefix string) (fs.FS, error) {
	b := envValue(binding)
	if b.Type() != js.TypeObject || b.Get("get").Type() != js.TypeFunction {
		return nil, fmt.Errorf("no R2 binding %q: add \"r2_buckets\": [{\"binding\": %q, \"bucket_name\": ...}] to wrangler.jsonc", binding, binding)
	}
	return r2FS{bucket: b, prefix: prefix}, nil
}

func (r r2FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	key := path.Join(r.prefix, name)
	obj, err := await(r.bucket.Call("get", key))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: key, Err: err}
	}
	if obj.IsNull() || obj.IsUndefined() {
		return nil, &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	b, err := bytesOf(obj)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: key, Err: err}
	}
	var mod time.Time
	if u := obj.Get("uploaded"); u.Type() == js.TypeObject {
		mod = time.UnixMilli(int64(u.Call("getTime").Float()))
	}
	return &file{name: name, Reader: bytes.NewReader(b), size: int64(len(b)), mod: mod}, nil
}

// file is a fetched file, held in memory.
type file struct {
	*bytes.Reader
	name string
	size int64
	mod  time.Time
}

func (f *file) Stat() (fs.FileInfo, error) { return f, nil }
func (f *file) Close() error               { return nil }
func (f *file) Name() string               { return path.Base(f.name) }
func (f *file) Size() int64                { return f.size }
func (f *file) Mode() fs.FileMode          { return 0o444 }
func (f *file) ModTime() time.Time         { return f.mod }
func (f *file) IsDir() bool                { return false }
func (f *file) Sys() any                   { return nil }
