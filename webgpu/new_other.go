//go:build !(js && wasm)

package webgpu

import "fmt"

// New reports ErrUnavailable: WebGPU is reached through a browser, so the
// backend exists only in GOOS=js GOARCH=wasm builds.
func New() (*Backend, error) {
	return nil, fmt.Errorf("%w: WebGPU needs a browser build (GOOS=js GOARCH=wasm)", ErrUnavailable)
}
