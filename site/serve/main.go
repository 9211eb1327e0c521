// Command serve serves a built site (go run ./site/build) for local use:
//
//	go run ./site/serve -dir build/site -addr 127.0.0.1:8080
//
// with the Content-Types the page needs (application/wasm, text/javascript
// for .mjs), gzip for text and wasm, Cache-Control immutable on the
// content-addressed chunks (models/*/*.bin) and no-cache elsewhere. The
// browser's Cache API, service workers and WebGPU need a secure context:
// http://127.0.0.1 and http://localhost are one, a LAN address is not.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"webcnn/site"
)

func main() {
	dir := flag.String("dir", "build/site", "the site `directory` (go run ./site/build -out DIR)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	quiet := flag.Bool("q", false, "do not log requests")
	flag.Parse()
	if _, err := os.Stat(filepath.Join(*dir, "index.html")); err != nil {
		log.Fatalf("%v: build the site first: go run ./site/build -out %s", err, *dir)
	}
	h := site.NewHandler(os.DirFS(*dir))
	var handler http.Handler = h
	if !*quiet {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			lw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.ServeHTTP(lw, r)
			log.Printf("%d %s %s %s", lw.status, r.Method, r.URL.Path, time.Since(start).Round(time.Microsecond))
		})
	}
	url := *addr
	if host, port, err := net.SplitHostPort(*addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		url = net.JoinHostPort("localhost", port) // every interface: localhost is a secure context
	}
	fmt.Printf("serving %s on http://%s/\n", *dir, url)
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
