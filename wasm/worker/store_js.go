//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"
	"github.com/syumai/workers/cloudflare/r2"
)

// assetsFS reads files from the Worker's static assets through their
// binding (a Fetcher): name "models/lenet5/manifest.json" is the asset at
// that path. A 404 is fs.ErrNotExist.
type assetsFS struct {
	client *fetch.Client
}

func newAssetsFS(binding string) (fs.FS, error) {
	b := cloudflare.GetBinding(binding)
	if b.IsUndefined() || b.IsNull() {
		return nil, fmt.Errorf("no binding %q: add \"assets\": {\"binding\": %q, ...} to wrangler.jsonc", binding, binding)
	}
	return assetsFS{fetch.NewClient(fetch.WithBinding(b))}, nil
}

func (a assetsFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	// The host is not used: the binding serves its own assets.
	req, err := fetch.NewRequest(context.Background(), http.MethodGet, "https://assets.invalid/"+name, nil)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	res, err := a.client.Do(req, nil)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case res.StatusCode != http.StatusOK:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("assets answered %s", res.Status)}
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return &file{name: name, Reader: bytes.NewReader(b), size: int64(len(b))}, nil
}

// r2FS reads files from an R2 bucket binding: name is the object key
// prefix+name. A missing object is fs.ErrNotExist.
type r2FS struct {
	bucket *r2.Bucket
	prefix string
}

func newR2FS(binding, prefix string) (fs.FS, error) {
	b, err := r2.NewBucket(binding)
	if err != nil {
		return nil, fmt.Errorf("no R2 binding %q: add \"r2_buckets\": [{\"binding\": %q, \"bucket_name\": ...}] to wrangler.jsonc: %w", binding, binding, err)
	}
	return r2FS{bucket: b, prefix: prefix}, nil
}

func (r r2FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	key := path.Join(r.prefix, name)
	obj, err := r.bucket.Get(key)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: key, Err: err}
	}
	if obj == nil || obj.Body == nil {
		return nil, &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: key, Err: err}
	}
	return &file{name: name, Reader: bytes.NewReader(b), size: int64(len(b)), mod: obj.Uploaded}, nil
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
