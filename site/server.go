package site

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// types are the Content-Types the site needs, by extension (the system's
// MIME table is not trusted: .mjs and .wasm are missing from many).
var types = map[string]string{
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".ts":          "text/plain; charset=utf-8", // cnn.d.ts, for reading
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".webp":        "image/webp",
	".bin":         "application/octet-stream",
	".txt":         "text/plain; charset=utf-8",
}

// compressible are the types worth gzipping on the fly (chunks of float
// weights are not: they shrink by a few percent for the CPU time of every
// request; a chunk's brotli copy, made once by Precompress, is served).
var compressible = map[string]bool{".html": true, ".css": true, ".js": true, ".mjs": true, ".ts": true,
	".json": true, ".webmanifest": true, ".wasm": true, ".svg": true, ".txt": true}

// chunkPath matches content-addressed chunks: models/<id>/<16 hex>.bin.
var chunkPath = regexp.MustCompile(`^/models/[^/]+/[0-9a-f]{16}\.bin$`)

// Handler serves a site directory.
type Handler struct {
	fsys fs.FS
	// Intercept, if set, sees every request first and answers it itself
	// when it returns true (tests inject failures with it).
	Intercept func(w http.ResponseWriter, r *http.Request) bool

	mu   sync.Mutex
	hits map[string]int
	gz   map[string]gzEntry
}

type gzEntry struct {
	mod  time.Time
	size int64
	data []byte
}

// NewHandler serves the files of fsys (os.DirFS of a built site).
func NewHandler(fsys fs.FS) *Handler {
	return &Handler{fsys: fsys, hits: map[string]int{}, gz: map[string]gzEntry{}}
}

// Hits returns the number of requests per path since the last reset.
func (h *Handler) Hits() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.hits))
	for p, n := range h.hits {
		out[p] = n
	}
	return out
}

// ResetHits forgets the counts.
func (h *Handler) ResetHits() {
	h.mu.Lock()
	h.hits = map[string]int{}
	h.mu.Unlock()
}

// ServeHTTP serves GET and HEAD requests for files; a directory serves its
// index.html. Headers: the Content-Type of the extension; Cache-Control
// immutable on content-addressed chunks and no-cache (revalidate with
// Last-Modified) on everything else, the page and sw.js included; for
// text and wasm, the brotli file that site.Build wrote beside the file
// (name.br; chunks too) when the client accepts br, else gzip (not for
// chunks) when it accepts gzip.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + r.URL.Path)
	h.mu.Lock()
	h.hits[p]++
	h.mu.Unlock()
	if h.Intercept != nil && h.Intercept(w, r) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		name = "."
	}
	info, err := fs.Stat(h.fsys, name)
	if err == nil && info.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
		info, err = fs.Stat(h.fsys, name)
	}
	if err != nil || info.IsDir() {
		http.NotFound(w, r)
		return
	}
	ext := path.Ext(name)
	hd := w.Header()
	if t, ok := types[ext]; ok {
		hd.Set("Content-Type", t)
	} else {
		hd.Set("Content-Type", "application/octet-stream")
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	if chunkPath.MatchString(p) {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	var body []byte
	if compressible[ext] || ext == ".bin" {
		hd.Add("Vary", "Accept-Encoding")
		if accepts(r, "br") {
			if b, err := h.brotli(name, info); err == nil {
				body = b
				hd.Set("Content-Encoding", "br")
			}
		}
		if body == nil && compressible[ext] && accepts(r, "gzip") {
			if body, err = h.gzipped(name, info); err == nil {
				hd.Set("Content-Encoding", "gzip")
			}
		}
	}
	if body == nil {
		if body, err = fs.ReadFile(h.fsys, name); err != nil {
			http.Error(w, "cannot read "+p, http.StatusInternalServerError)
			return
		}
	}
	http.ServeContent(w, r, name, info.ModTime(), bytes.NewReader(body))
}

// accepts reads Accept-Encoding for an encoding (a q=0 refusal included).
func accepts(r *http.Request, encoding string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), encoding) {
			return strings.ReplaceAll(params, " ", "") != "q=0"
		}
	}
	return false
}

// brotli returns the brotli encoding of a file that site.Build wrote
// beside it (name + ".br", see Precompress), when it is at least as new as
// the file: Go's standard library has no brotli encoder, so an edited
// file without a fresh .br is served gzipped.
func (h *Handler) brotli(name string, info fs.FileInfo) ([]byte, error) {
	bi, err := fs.Stat(h.fsys, name+".br")
	if err != nil {
		return nil, err
	}
	if bi.ModTime().Before(info.ModTime()) {
		return nil, fs.ErrNotExist
	}
	return fs.ReadFile(h.fsys, name+".br")
}

// gzipped returns a file's gzip encoding, compressed once per version of
// the file (its modification time and size).
func (h *Handler) gzipped(name string, info fs.FileInfo) ([]byte, error) {
	h.mu.Lock()
	e, ok := h.gz[name]
	h.mu.Unlock()
	if ok && e.mod.Equal(info.ModTime()) && e.size == info.Size() {
		return e.data, nil
	}
	raw, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.gz[name] = gzEntry{mod: info.ModTime(), size: info.Size(), data: b.Bytes()}
	h.mu.Unlock()
	return b.Bytes(), nil
}
