//go:build js && wasm && workercrash

package main

import (
	"net/http"
	"strings"
)

// CrashPath is a test build's route that kills the Go instance: a panic in
// a goroutine of its own, which no handler can recover, as an escaped
// runtime fault would. The end-to-end test builds with -tags workercrash
// to check that the glue answers that request with a 500 and the next
// request starts a new instance; production builds have no such route.
const CrashPath = "/__test/crash"

func testRoutes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != CrashPath {
			h.ServeHTTP(w, r)
			return
		}
		msg := "forced crash (workercrash build)"
		if q := r.URL.Query().Get("msg"); q != "" {
			msg += ": " + strings.ReplaceAll(q, "\n", " ")
		}
		block := make(chan struct{})
		go func() { panic(msg) }()
		<-block
	})
}
