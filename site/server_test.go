package site

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func testSite() fstest.MapFS {
	mod := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), ModTime: mod} }
	return fstest.MapFS{
		"index.html":                         f("<!doctype html><title>t</title>" + strings.Repeat(" ", 500)),
		"sw.js":                              f("self.x = 1;"),
		"cnn.mjs":                            f("export const a = 1;" + strings.Repeat("//", 300)),
		"cnn.wasm":                           f("\x00asm" + strings.Repeat("\x01", 1000)),
		"app.webmanifest":                    f("{}"),
		"models/index.json":                  f(`{"models":["m"]}`),
		"models/m/manifest.json":             f("{}"),
		"models/m/0123456789abcdef.bin":      f(strings.Repeat("w", 100)),
		"models/m/not-content-addressed.bin": f("x"),
	}
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerHeaders(t *testing.T) {
	h := NewHandler(testSite())
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}
	for _, c := range []struct {
		path, ctype, cache string
		gzip               bool
	}{
		{"/", "text/html; charset=utf-8", "no-cache", true},
		{"/index.html", "text/html; charset=utf-8", "no-cache", true},
		{"/sw.js", "text/javascript; charset=utf-8", "no-cache", true},
		{"/cnn.mjs", "text/javascript; charset=utf-8", "no-cache", true},
		{"/cnn.wasm", "application/wasm", "no-cache", true},
		{"/app.webmanifest", "application/manifest+json", "no-cache", true},
		{"/models/index.json", "application/json", "no-cache", true},
		{"/models/m/manifest.json", "application/json", "no-cache", true},
		{"/models/m/0123456789abcdef.bin", "application/octet-stream", "public, max-age=31536000, immutable", false},
		{"/models/m/not-content-addressed.bin", "application/octet-stream", "no-cache", false},
	} {
		w := get(t, h, http.MethodGet, c.path, gz)
		res := w.Result()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || res.Header.Get("Cache-Control") != c.cache {
			t.Errorf("GET %s: %d %q %q, want 200 %q %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), c.ctype, c.cache)
		}
		name := strings.TrimPrefix(c.path, "/")
		if name == "" {
			name = "index.html"
		}
		want := testSite()[name].Data
		body := w.Body.Bytes()
		if got := res.Header.Get("Content-Encoding") == "gzip"; got != c.gzip {
			t.Errorf("GET %s: gzip %v, want %v", c.path, got, c.gzip)
		} else if got {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, want) {
			t.Errorf("GET %s: body of %d bytes differs from the file's %d", c.path, len(body), len(want))
		}
	}
	// Without Accept-Encoding, the bytes as they are.
	if w := get(t, h, http.MethodGet, "/cnn.wasm", nil); w.Header().Get("Content-Encoding") != "" || w.Body.Len() != 1004 {
		t.Errorf("GET /cnn.wasm without gzip: encoding %q, %d bytes", w.Header().Get("Content-Encoding"), w.Body.Len())
	}
	if w := get(t, h, http.MethodGet, "/cnn.wasm", map[string]string{"Accept-Encoding": "gzip;q=0"}); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 was answered with gzip")
	}
}

func TestHandlerErrors(t *testing.T) {
	h := NewHandler(testSite())
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/missing.js", 404},
		{"GET", "/models/m/ffffffffffffffff.bin", 404},
		{"GET", "/../../etc/passwd", 404},
		{"GET", "/models", 301},
		{"POST", "/index.html", 405},
		{"HEAD", "/cnn.mjs", 200},
	} {
		if w := get(t, h, c.method, c.path, nil); w.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, w.Code, c.status)
		}
	}
	// A revalidation answers 304 (no-cache costs a round trip, not a download).
	w := get(t, h, "GET", "/cnn.wasm", map[string]string{"If-Modified-Since": "Fri, 27 Nov 2026 12:00:00 GMT", "Accept-Encoding": "gzip"})
	if w.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", w.Code)
	}
}

func TestHandlerHits(t *testing.T) {
	h := NewHandler(testSite())
	get(t, h, "GET", "/models/m/0123456789abcdef.bin", nil)
	get(t, h, "GET", "/models/m/0123456789abcdef.bin", nil)
	h.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	}
	if w := get(t, h, "GET", "/index.html", nil); w.Code != 503 {
		t.Errorf("intercepted: %d, want 503", w.Code)
	}
	hits := h.Hits()
	if hits["/models/m/0123456789abcdef.bin"] != 2 || hits["/index.html"] != 1 {
		t.Errorf("hits %v", hits)
	}
	h.ResetHits()
	if len(h.Hits()) != 0 {
		t.Errorf("after reset: %v", h.Hits())
	}
}

// TestShell checks that sw.js precaches the files Shell names (the page's
// version hashes them) and that each is a static file or a build product.
func TestShell(t *testing.T) {
	sw, err := Static.ReadFile("static/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const SHELL = \[(.*)\];`).FindSubmatch(sw)
	if m == nil {
		t.Fatal("sw.js has no SHELL list")
	}
	var listed []string
	for _, s := range strings.Split(string(m[1]), ",") {
		listed = append(listed, strings.Trim(strings.TrimSpace(s), `"`))
	}
	want := append([]string{"./"}, Shell...)
	if strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Errorf("sw.js SHELL = %v, site.Shell = %v", listed, want)
	}
	built := map[string]bool{"wasm_exec.js": true}
	for _, w := range Wasm {
		built[w.File] = true
	}
	for _, n := range Shell {
		if _, err := Static.ReadFile("static/" + n); err != nil && !built[n] {
			t.Errorf("shell file %s is neither in static/ nor built", n)
		}
	}
	if !bytes.Contains(sw, []byte(`const VERSION = "dev";`)) {
		t.Error(`sw.js lacks the line const VERSION = "dev"; that Build replaces`)
	}
}

// TestHandlerBrotli: a file's .br (written by Precompress) is served as
// it is, with Content-Encoding br, to a client that accepts br, when it
// is at least as new as the file; otherwise gzip as before.
func TestHandlerBrotli(t *testing.T) {
	fsys := testSite()
	mod := fsys["cnn.wasm"].ModTime
	fsys["cnn.wasm.br"] = &fstest.MapFile{Data: []byte("brotli bytes of cnn.wasm"), ModTime: mod}
	fsys["cnn.mjs.br"] = &fstest.MapFile{Data: []byte("stale"), ModTime: mod.Add(-time.Hour)}
	fsys["models/m/0123456789abcdef.bin.br"] = &fstest.MapFile{Data: []byte("brotli bytes of a chunk"), ModTime: mod}
	h := NewHandler(fsys)
	for _, c := range []struct {
		path, accept, enc, body string
	}{
		{"/cnn.wasm", "gzip, deflate, br, zstd", "br", "brotli bytes of cnn.wasm"},
		{"/cnn.wasm", "gzip, br;q=0", "gzip", ""},
		{"/cnn.wasm", "", "", string(fsys["cnn.wasm"].Data)},
		{"/cnn.mjs", "gzip, br", "gzip", ""}, // its .br is older than the file
		{"/sw.js", "br", "", string(fsys["sw.js"].Data)},
		{"/models/m/0123456789abcdef.bin", "br, gzip", "br", "brotli bytes of a chunk"},
		{"/models/m/not-content-addressed.bin", "br, gzip", "", "x"}, // no .br, and chunks are never gzipped
	} {
		w := get(t, h, http.MethodGet, c.path, map[string]string{"Accept-Encoding": c.accept})
		res := w.Result()
		if got := res.Header.Get("Content-Encoding"); got != c.enc {
			t.Errorf("GET %s (Accept-Encoding %q): Content-Encoding %q, want %q", c.path, c.accept, got, c.enc)
		}
		if c.body != "" && w.Body.String() != c.body {
			t.Errorf("GET %s (Accept-Encoding %q): body %.40q, want %.40q", c.path, c.accept, w.Body.String(), c.body)
		}
		if res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: Vary %q", c.path, res.Header.Get("Vary"))
		}
	}
}

// TestPrecompress runs Debian's brotli command on a small site and
// decompresses its output with the same command: the .br files hold the
// files' bytes, chunks included.
func TestPrecompress(t *testing.T) {
	if _, err := exec.LookPath("brotli"); err != nil {
		t.Skip("no brotli command (apt-get install brotli)")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, testSite()); err != nil {
		t.Fatal(err)
	}
	raw, packed, err := Precompress(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(packed > 0 && packed < raw) {
		t.Errorf("Precompress: %d bytes -> %d", raw, packed)
	}
	for name, f := range testSite() {
		_, err := os.Stat(filepath.Join(dir, name+".br"))
		if err != nil {
			t.Errorf("%s: no .br file: %v", name, err)
			continue
		}
		out, err := exec.Command("brotli", "-d", "-c", filepath.Join(dir, name+".br")).Output()
		if err != nil {
			t.Fatalf("%s.br: %v", name, err)
		}
		if !bytes.Equal(out, f.Data) {
			t.Errorf("%s.br decompresses to %d bytes that differ from the file's %d", name, len(out), len(f.Data))
		}
	}
}
