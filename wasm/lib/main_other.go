//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wasm/lib is the browser library: build it with GOOS=js GOARCH=wasm (see site/README.md)")
	os.Exit(2)
}
