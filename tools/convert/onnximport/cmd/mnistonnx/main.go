// Command mnistonnx writes the ONNX model zoo's MNIST CNN (mnist-8,
// opset 7), which github.com/owulveryck/onnx-go v0.5.0 ships as a byte
// literal in internal/examples/mnist/mnist_binary.go, to a .onnx file:
//
//	go run ./tools/convert/onnximport/cmd/mnistonnx -o build/mnist-8.onnx
//	go run ./tools/convert --from onnx --preset mnist-8 --in build/mnist-8.onnx --out build/models/mnist-8
//
// The module is fetched into the module cache when missing (go mod download).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"webcnn/tools/convert/onnximport"
)

func main() {
	out := flag.String("o", "mnist-8.onnx", "output file")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mnistonnx:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	b, err := onnximport.MNIST8()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("mnist-8: %d bytes from %s -> %s\n", len(b), onnximport.OnnxGoModule, out)
	return nil
}
