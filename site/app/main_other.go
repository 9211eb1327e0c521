//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "site/app is the web page's UI: build it with GOOS=js GOARCH=wasm (go run ./site/build)")
	os.Exit(2)
}
