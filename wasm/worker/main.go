//go:build !js

// Command worker, built natively, is the Worker's local companion: it
// writes the demo models and the model index that the Worker serves as
// static assets, and serves the same API over plain HTTP (no Node, no
// workerd) for debugging.
//
//	go run ./wasm/worker -demo build/site       write the demo models
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
	"webcnn/wasm/worker/api"
	"webcnn/wasm/worker/demo"
)

func main() {
	demoDir := flag.String("demo", "", "write the demo models (seeded random weights) into `DIR`/models and index them")
	seed := flag.Uint64("seed", 1, "seed of the demo models' weights")
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
		if err := demo.Write(*demoDir, *seed); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %d demo models into %s/models\n", len(demo.Models), *demoDir)
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
