//go:build !js

package onnximport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The ONNX model zoo's MNIST CNN ships as a byte literal in a Go source
// file of github.com/owulveryck/onnx-go; the package is internal, so the
// file is parsed rather than imported.
const (
	OnnxGoModule  = "github.com/owulveryck/onnx-go@v0.5.0"
	mnist8File    = "internal/examples/mnist/mnist_binary.go"
	mnist8Func    = "GetMnist"
	mnist8MinSize = 20000
)

// ErrNoModule reports that the onnx-go module is not in the module cache
// and could not be downloaded.
var ErrNoModule = errors.New("onnx import: module " + OnnxGoModule + " is not available")

// MNIST8 returns the bytes of mnist-8.onnx from the onnx-go module,
// downloading it into the module cache when needed (`go mod download`,
// through the Go module proxy). It needs the go command; errors wrap
// ErrNoModule when the module cannot be had.
func MNIST8() ([]byte, error) {
	dir, err := onnxGoDir()
	if err != nil {
		return nil, err
	}
	return ReadMNIST8(dir)
}

// onnxGoDir returns the module's directory in the module cache.
func onnxGoDir() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: no go command: %v", ErrNoModule, err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(gobin, "mod", "download", "-json", OnnxGoModule)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || info.Dir == "" || info.Error != "" {
		return "", fmt.Errorf("%w: go mod download %s: %v %s %s", ErrNoModule, OnnxGoModule, runErr, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}

// ReadMNIST8 extracts mnist-8.onnx from the onnx-go module at dir: the
// string literal GetMnist returns in internal/examples/mnist/mnist_binary.go.
func ReadMNIST8(dir string) ([]byte, error) {
	path := filepath.Join(dir, filepath.FromSlash(mnist8File))
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoModule, err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		return nil, fmt.Errorf("onnx import: %s: %w", path, err)
	}
	var lit *ast.BasicLit
	ast.Inspect(f, func(n ast.Node) bool {
		if fn, ok := n.(*ast.FuncDecl); ok && fn.Name.Name != mnist8Func {
			return false
		}
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING && (lit == nil || len(l.Value) > len(lit.Value)) {
			lit = l
		}
		return true
	})
	if lit == nil {
		return nil, fmt.Errorf("onnx import: %s: no string literal in %s", path, mnist8Func)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return nil, fmt.Errorf("onnx import: %s: %w", path, err)
	}
	if len(s) < mnist8MinSize {
		return nil, fmt.Errorf("onnx import: %s: %s returns %d bytes, too few for mnist-8", path, mnist8Func, len(s))
	}
	return []byte(s), nil
}
