package data

import (
	"errors"
	"runtime"
	"testing"
)

// testModuleDir returns the module cache folder of module, skipping the test
// when there is no go command to ask (js/wasm, or a machine without Go).
func testModuleDir(t *testing.T, module string) string {
	t.Helper()
	if runtime.GOOS == "js" {
		t.Skip("js/wasm has no go command to find the module cache")
	}
	dir, err := moduleDir(module)
	if errors.Is(err, errNoGo) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
