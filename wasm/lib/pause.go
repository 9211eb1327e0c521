//go:build !(js && wasm)

package main

// pause lets other work run between the passes of a long run; natively
// there is no event loop to give way to.
func pause() {}
