//go:build js && wasm

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"
)

// fetchFS is an fs.FS over the browser's fetch, rooted at a URL (the idea
// of wasm/worker's assetsFS, with the browser's fetch and Cache API):
// name "ab12.bin" is the URL base+"ab12.bin".
//
// Content-addressed chunks (a name of 16 hex digits + ".bin", the first
// digits of the file's sha256) are cache-first: a chunk found in the Cache
// API is not requested at all, and a fetched chunk whose bytes match its
// name is put there at once, so a second load makes no chunk request and
// a load interrupted half-way fetches only the chunks it lacks. A cached
// entry that does not match its name is dropped and fetched again; a
// fetched chunk that does not match is returned uncached, for the
// loader's sha256 check to name it. Other files (the manifest) are
// network-first: on a network failure the copy cached at the last
// success is used, so a model used once loads offline.
//
// Bodies are read as streams: progress is called with every piece.
type fetchFS struct {
	base     string   // absolute URL of the directory, ending in "/"
	cache    js.Value // a Cache, or undefined where the Cache API is missing
	progress func(n int)

	mu             sync.Mutex
	memo           map[string][]byte // files already read in this load
	hits, requests int               // chunks served by the cache, chunk requests
}

// openCache opens the named Cache, or returns undefined where the Cache
// API is missing (it needs a secure context: https or localhost).
func openCache(name string) js.Value {
	caches := js.Global().Get("caches")
	if name == "" || !caches.Truthy() {
		return js.Undefined()
	}
	c, err := await(caches.Call("open", name))
	if err != nil {
		return js.Undefined()
	}
	return c
}

func (f *fetchFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f.mu.Lock()
	b, ok := f.memo[name]
	f.mu.Unlock()
	if ok {
		return newFile(name, b), nil
	}
	url := js.Global().Get("URL").New(name, f.base).Get("href").String()
	var err error
	if sum, ok := chunkAddress(name); ok {
		b, err = f.chunk(url, sum)
	} else {
		b, err = f.file(url)
		if err == nil {
			f.mu.Lock()
			f.memo[name] = b
			f.mu.Unlock()
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: url, Err: err}
	}
	return newFile(name, b), nil
}

// chunkAddress returns the sha256 prefix a content-addressed name carries.
func chunkAddress(name string) (string, bool) {
	base := path.Base(name)
	sum, ok := strings.CutSuffix(base, ".bin")
	if !ok || len(sum) != 16 {
		return "", false
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", false
	}
	return strings.ToLower(sum), true
}

// matches says whether b's sha256 starts with the name's digits.
func matches(b []byte, sum string) bool {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8]) == sum
}

// chunk reads a content-addressed chunk, cache-first.
func (f *fetchFS) chunk(url, sum string) ([]byte, error) {
	if f.cache.Truthy() {
		if r, err := await(f.cache.Call("match", url)); err == nil && r.Truthy() {
			if b, err := readBody(r, nil); err == nil && matches(b, sum) {
				f.mu.Lock()
				f.hits++
				f.mu.Unlock()
				f.progress(len(b))
				return b, nil
			}
			await(f.cache.Call("delete", url))
		}
	}
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	// The Cache API is this chunk's cache: keep it out of the HTTP cache.
	opts := map[string]any{}
	if f.cache.Truthy() {
		opts["cache"] = "no-store"
	}
	res, err := fetch(url, opts)
	if err != nil {
		return nil, err
	}
	b, err := readBody(res, f.progress)
	if err != nil {
		return nil, err
	}
	if f.cache.Truthy() && matches(b, sum) {
		f.put(url, b, "application/octet-stream")
	}
	return b, nil
}

// file reads a file network-first, keeping a copy in the cache.
func (f *fetchFS) file(url string) ([]byte, error) {
	res, err := fetch(url, map[string]any{"cache": "no-cache"})
	if err == nil {
		b, err := readBody(res, nil)
		if err == nil {
			if f.cache.Truthy() {
				f.put(url, b, res.Get("headers").Call("get", "Content-Type").String())
			}
			return b, nil
		}
	}
	if f.cache.Truthy() {
		if r, cerr := await(f.cache.Call("match", url)); cerr == nil && r.Truthy() {
			if b, cerr := readBody(r, nil); cerr == nil {
				return b, nil
			}
		}
	}
	return nil, err
}

// put stores b under url, waiting for the write so that a load
// interrupted later keeps it; a full quota only costs the caching.
func (f *fetchFS) put(url string, b []byte, ctype string) {
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	res := js.Global().Get("Response").New(u8, map[string]any{"headers": map[string]any{"Content-Type": ctype}})
	if _, err := await(f.cache.Call("put", url, res)); err != nil {
		js.Global().Get("console").Call("warn", fmt.Sprintf("webcnn: caching %s: %v", url, err))
	}
}

// fetch requests url and fails on a network error or a status other than
// 200 with an error wrapping ErrNetwork.
func fetch(url string, opts map[string]any) (js.Value, error) {
	res, err := await(js.Global().Call("fetch", url, opts))
	if err != nil {
		return js.Value{}, fmt.Errorf("%w: fetching %s failed (offline or the server is unreachable): %v", ErrNetwork, url, err)
	}
	if !res.Get("ok").Bool() {
		return js.Value{}, fmt.Errorf("%w: %s answered HTTP %d %s", ErrNetwork, url, res.Get("status").Int(), res.Get("statusText").String())
	}
	return res, nil
}

// readBody reads a Response's body as a stream, calling progress (if not
// nil) with the size of every piece.
func readBody(res js.Value, progress func(int)) ([]byte, error) {
	body := res.Get("body")
	if !body.Truthy() {
		ab, err := await(res.Call("arrayBuffer"))
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrNetwork, res.Get("url").String(), err)
		}
		b := bytesOf(js.Global().Get("Uint8Array").New(ab))
		if progress != nil {
			progress(len(b))
		}
		return b, nil
	}
	var b []byte
	if n := res.Get("headers").Call("get", "Content-Length"); n.Type() == js.TypeString {
		if size, err := strconv.Atoi(n.String()); err == nil && size > 0 && size < 1<<30 {
			b = make([]byte, 0, size) // a hint: a compressed body grows past it
		}
	}
	reader := body.Call("getReader")
	defer reader.Call("releaseLock")
	for {
		r, err := await(reader.Call("read"))
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrNetwork, res.Get("url").String(), err)
		}
		if r.Get("done").Bool() {
			return b, nil
		}
		v := r.Get("value")
		n := v.Get("byteLength").Int()
		b = slices.Grow(b, n)
		js.CopyBytesToGo(b[len(b):len(b)+n], v)
		b = b[:len(b)+n]
		if progress != nil {
			progress(n)
		}
	}
}

// file is a fetched file, held in memory.
type file struct {
	*bytes.Reader
	name string
	size int64
}

func newFile(name string, b []byte) *file {
	return &file{Reader: bytes.NewReader(b), name: name, size: int64(len(b))}
}

func (f *file) Stat() (fs.FileInfo, error) { return f, nil }
func (f *file) Close() error               { return nil }
func (f *file) Name() string               { return path.Base(f.name) }
func (f *file) Size() int64                { return f.size }
func (f *file) Mode() fs.FileMode          { return 0o444 }
func (f *file) ModTime() time.Time         { return time.Time{} }
func (f *file) IsDir() bool                { return false }
func (f *file) Sys() any                   { return nil }
