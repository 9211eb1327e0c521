package webgpu

import (
	"errors"
	"os"
	"sync"
	"testing"

	"webcnn/core/backendtest"
)

// The tests below need a WebGPU device: they run in headless Chromium
// through webgpu/testdata/browser-test.sh (GOOS=js GOARCH=wasm go test
// -exec wasmbrowsertest). Natively and under Node, New reports
// ErrUnavailable and they skip, saying why; the harness sets
// WEBGPU_REQUIRE=1 so that a missing adapter fails instead.

var (
	shared     *Backend
	sharedErr  error
	sharedOnce sync.Once
)

// gpu returns the backend shared by the tests, or skips the test.
func gpu(t *testing.T) *Backend {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New() })
	requireGPU(t, sharedErr)
	return shared
}

// requireGPU skips (or, with WEBGPU_REQUIRE set, fails) when err says that
// WebGPU is unavailable, and fails on any other error.
func requireGPU(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable) && os.Getenv("WEBGPU_REQUIRE") == "":
		t.Skipf("no WebGPU here (%v): run webgpu/testdata/browser-test.sh", err)
	default:
		t.Fatalf("webgpu.New: %v", err)
	}
}

// TestBackend runs the conformance suite every backend runs.
func TestBackend(t *testing.T) {
	b := gpu(t)
	t.Logf("adapter: %v", b.Adapter())
	backendtest.Run(t, b)
	t.Logf("%s", b.Stats())
}
