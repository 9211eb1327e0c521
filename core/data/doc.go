// Package data turns pictures and datasets into the NHWC float32 input a
// network expects: decoding (PNG, JPEG, GIF, WebP), resizing and cropping,
// the two classic normalizations (per-channel mean/std and mean-image
// subtraction), batching, and the MNIST IDX file format.
//
// An Image is one HWC float32 picture; Batch stacks several into the
// [N, H, W, C] layout of core tensors. Every function works on plain Go
// loops over Pix, so results are exact and the package runs unchanged
// under GOOS=js GOARCH=wasm.
package data
