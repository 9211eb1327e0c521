//go:build !nodecoders

package data

// The formats Decode reads. A build with the tag nodecoders leaves them
// out, and Decode then refuses every file with image.ErrFormat: the web
// page's cnn.wasm is built so (site.Wasm), because the browser decodes
// pictures itself and these decoders are 0.6 MB of its 6.8 MB (108 kB of
// the first visit after brotli).
import (
	_ "image/gif"  // register GIF for Decode
	_ "image/jpeg" // register JPEG for Decode
	_ "image/png"  // register PNG for Decode

	_ "golang.org/x/image/webp" // register WebP for Decode
)
