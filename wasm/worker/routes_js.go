//go:build js && wasm && !workercrash

package main

import "net/http"

// testRoutes adds nothing to a production build (crash_js.go, behind the
// workercrash build tag, adds a route that kills the Go instance).
func testRoutes(h http.Handler) http.Handler { return h }
