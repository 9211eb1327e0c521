//go:build js && wasm

package main

import "time"

// pause returns to the JS event loop for a moment (Go's js/wasm yields to
// it only when every goroutine waits), so that messages such as a cancel
// are delivered while a long run works.
func pause() { time.Sleep(time.Millisecond) }
