package api_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"webcnn/core/cpu"
	"webcnn/wasm/worker/api"
)

// An empty store: no models, and every failure is a JSON error.
func Example() {
	s := api.New(api.Config{Assets: fstest.MapFS{}, Backend: cpu.New()})
	for _, r := range []struct{ method, target string }{
		{"GET", "/v1/models"},
		{"GET", "/v1/classify?model=lenet5"},
		{"POST", "/v1/classify?model=lenet5"},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(r.method, r.target, strings.NewReader("")))
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 200 {"models":[],"budget_bytes":50331648}
	// 405 {"error":"method GET not allowed on /v1/classify (use POST)","status":405}
	// 404 {"error":"unknown model \"lenet5\" (no models are installed)","status":404}
}
