//go:build js && wasm

// The Worker: the api package's handler served by syumai/workers from one
// Go instance per isolate (worker.mjs), weights read from the static
// assets or an R2 bucket as wrangler.jsonc's vars say.
package main

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"webcnn/core/cpu"
	"webcnn/wasm/worker/api"
)

func main() {
	// A soft limit: the collector works harder before the isolate's
	// 128 MB is reached.
	debug.SetMemoryLimit(100 << 20)
	var h http.Handler
	cfg, err := config()
	if err != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, http.StatusInternalServerError, "worker configuration: %v", err)
		})
	} else {
		h = api.New(cfg)
	}
	workers.ServeNonBlock(h)
	workers.Ready()
	select {} // requests arrive as callbacks from worker.mjs
}

// config reads the vars of wrangler.jsonc:
//
//	WEIGHTS_SOURCE   "assets" (default) or "r2"
//	WEIGHTS_BINDING  the assets or R2 binding ("ASSETS" by default)
//	WEIGHTS_PREFIX   the key prefix of models/ in the bucket (r2 only)
//	MEMORY_BUDGET_MB models' memory plans held at once (default 64)
//	MAX_BODY_BYTES   request body limit (default 4 MiB)
//	MAX_PIXELS       decoded image limit (default 2 Mi pixels)
func config() (api.Config, error) {
	var c api.Config
	var err error
	binding := env("WEIGHTS_BINDING", "ASSETS")
	switch src := env("WEIGHTS_SOURCE", "assets"); src {
	case "assets":
		c.Assets, err = newAssetsFS(binding)
	case "r2":
		c.Assets, err = newR2FS(binding, cloudflare.Getenv("WEIGHTS_PREFIX"))
	default:
		err = fmt.Errorf("WEIGHTS_SOURCE %q: want assets or r2", src)
	}
	if err != nil {
		return c, err
	}
	var mb int64
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"MEMORY_BUDGET_MB", &mb}, {"MAX_BODY_BYTES", &c.MaxBody}, {"MAX_PIXELS", &c.MaxPixels}} {
		if s := cloudflare.Getenv(v.name); s != "" {
			if *v.dst, err = strconv.ParseInt(s, 10, 64); err != nil || *v.dst <= 0 {
				return c, fmt.Errorf("%s %q is not a positive integer", v.name, s)
			}
		}
	}
	c.Budget = mb << 20
	c.Backend = cpu.New()
	c.Stats = wasmStats
	return c, nil
}

func env(name, def string) string {
	if v := cloudflare.Getenv(name); v != "" {
		return v
	}
	return def
}

// wasmStats reports the size of the instance's linear memory, which
// worker.mjs puts in the runtime context: what the isolate really holds
// (the Go heap never gives memory back to it).
func wasmStats() map[string]any {
	mem := js.Global().Get("context").Get("wasmMemory")
	if mem.IsUndefined() {
		return nil
	}
	return map[string]any{"wasm_memory_bytes": mem.Get("buffer").Get("byteLength").Int()}
}
