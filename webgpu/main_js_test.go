//go:build js && wasm

package webgpu

import (
	"os"
	"testing"
	"time"
)

// TestMain lets the program go idle once more before it exits. Go's js/wasm
// runtime schedules a JS timeout for its earliest timer whenever it idles
// and clears it only when a later idle reschedules or the timeout fires; a
// timeout still scheduled at exit wakes the exited program ("Go program has
// already exited", an uncaught page error that the harness reports). A
// last short sleep ends on its own timeout, which clears it.
func TestMain(m *testing.M) {
	code := m.Run()
	time.Sleep(20 * time.Millisecond)
	os.Exit(code)
}
