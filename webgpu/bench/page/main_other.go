//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "webgpu/bench/page is the Go side of the browser benchmark: go run ./webgpu/bench builds it with GOOS=js GOARCH=wasm")
	os.Exit(2)
}
