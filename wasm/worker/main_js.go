//go:build js && wasm

// The Worker: the api package's handler in one Go instance per isolate,
// called by worker.mjs through context.binding.handle (serve_js.go),
// weights read from the static assets or an R2 bucket as wrangler.jsonc's
// vars say.
package main

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall/js"

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
	serve(testRoutes(h))
	select {} // requests arrive as callbacks from worker.mjs
}

// config reads the vars of wrangler.jsonc:
//
//	WEIGHTS_SOURCE   "assets" (default) or "r2"
//	WEIGHTS_BINDING  the assets or R2 binding ("ASSETS" by default)
//	WEIGHTS_PREFIX   the key prefix of models/ in the bucket (r2 only)
//	MEMORY_BUDGET_MB models' memory plans held at once (default 48)
//	DECODE_BUDGET_MB images being decoded at once, by their cost (default 40)
//	MAX_BODY_BYTES   request body limit (default 4 MiB; worker.mjs reads it too)
//	MAX_PIXELS       decoded image limit (default 2 Mi pixels)
//	ALLOW_ORIGINS    origins that may call the API from a page, comma-separated, or "*"
func config() (api.Config, error) {
	var c api.Config
	var err error
	binding := env("WEIGHTS_BINDING", "ASSETS")
	switch src := env("WEIGHTS_SOURCE", "assets"); src {
	case "assets":
		c.Assets, err = newAssetsFS(binding)
	case "r2":
		c.Assets, err = newR2FS(binding, env("WEIGHTS_PREFIX", ""))
	default:
		err = fmt.Errorf("WEIGHTS_SOURCE %q: want assets or r2", src)
	}
	if err != nil {
		return c, err
	}
	var mb, decodeMB int64
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"MEMORY_BUDGET_MB", &mb}, {"DECODE_BUDGET_MB", &decodeMB}, {"MAX_BODY_BYTES", &c.MaxBody}, {"MAX_PIXELS", &c.MaxPixels}} {
		if s := env(v.name, ""); s != "" {
			if *v.dst, err = strconv.ParseInt(s, 10, 64); err != nil || *v.dst <= 0 {
				return c, fmt.Errorf("%s %q is not a positive integer", v.name, s)
			}
		}
	}
	c.Budget, c.DecodeBudget = mb<<20, decodeMB<<20
	for _, o := range strings.Split(env("ALLOW_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowOrigins = append(c.AllowOrigins, o)
		}
	}
	c.Backend = cpu.New()
	c.Stats = wasmStats
	return c, nil
}

// envValue is a binding or var of the isolate (worker.mjs puts its env
// in globalThis.context).
func envValue(name string) js.Value {
	return js.Global().Get("context").Get("env").Get(name)
}

func env(name, def string) string {
	if v := envValue(name); v.Type() == js.TypeString && v.String() != "" {
		return v.String()
	}
	return def
}

// wasmStats reports what worker.mjs counts across Go instances: the size
// of this instance's linear memory (what the isolate really holds: the Go
// heap never gives memory back), the largest seen by any instance, and
// how many instances exited and were replaced.
func wasmStats() map[string]any {
	ctx := js.Global().Get("context")
	out := map[string]any{}
	if mem := ctx.Get("wasmMemory"); mem.Type() == js.TypeObject {
		out["wasm_memory_bytes"] = mem.Get("buffer").Get("byteLength").Int()
	}
	if st := ctx.Get("stats"); st.Type() == js.TypeObject {
		for _, k := range []string{"restarts", "max_wasm_memory_bytes", "instance", "last_exit"} {
			if v := st.Get(k); v.Type() == js.TypeNumber {
				out[k] = v.Float()
			} else if v.Type() == js.TypeString {
				out[k] = v.String()
			}
		}
	}
	return out
}
