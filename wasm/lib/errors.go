package main

import (
	"errors"
	"image"

	"webcnn/core/weights"
	"webcnn/webgpu"
)

// Errors of the library, beside those of weights and webgpu. A JS caller
// sees the kind (Kind) as the rejected Error's code.
var (
	ErrNetwork          = errors.New("network")
	ErrUnsupportedImage = errors.New("unsupported image")
	ErrBadInput         = errors.New("bad input")
	ErrDisposed         = errors.New("model disposed")
)

// Kind names the cause of err for a JS caller: "network", "integrity",
// "manifest", "unsupported-image", "budget", "device-lost", "bad-input",
// "disposed", "aborted" or "internal".
func Kind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, weights.ErrIntegrity):
		return "integrity"
	case errors.Is(err, weights.ErrBudget):
		return "budget"
	case errors.Is(err, weights.ErrManifest):
		return "manifest"
	case errors.Is(err, webgpu.ErrDeviceLost):
		return "device-lost"
	case errors.Is(err, ErrUnsupportedImage), errors.Is(err, image.ErrFormat):
		return "unsupported-image"
	case errors.Is(err, ErrNetwork):
		return "network"
	case errors.Is(err, ErrBadInput):
		return "bad-input"
	case errors.Is(err, ErrDisposed):
		return "disposed"
	case errors.Is(err, ErrAborted):
		return "aborted"
	}
	return "internal"
}
