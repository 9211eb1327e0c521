//go:build !(js && wasm)

package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed static
var static embed.FS

// result is one cell, as bench.js posts it.
type result struct {
	Runtime  string    `json:"runtime"`
	Model    string    `json:"model"`
	Error    string    `json:"error,omitempty"`
	Info     string    `json:"info,omitempty"`
	SetupMS  float64   `json:"setup_ms"`
	FirstMS  float64   `json:"first_ms"`
	TimesMS  []float64 `json:"times_ms"`
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
	GPUPeak  float64   `json:"gpu_peak_bytes"`
	// GPUWeights is the live GPU memory after building the model, GPUGrowth
	// the live memory each later run added (not freed: a leak).
	GPUWeights float64   `json:"gpu_weights_bytes"`
	GPUGrowth  float64   `json:"gpu_growth_bytes"`
	Output     []float32 `json:"output,omitempty"`
	After      string    `json:"after,omitempty"`
}

// browserEnv is what the page reports about itself.
type browserEnv struct {
	UserAgent           string `json:"userAgent"`
	HardwareConcurrency int    `json:"hardwareConcurrency"`
	CrossOriginIsolated bool   `json:"crossOriginIsolated"`
	Adapter             *struct {
		Vendor, Architecture, Description, Device string
		Fallback                                  bool
	} `json:"adapter"`
	TFJS string `json:"tfjs"`
}

// report is everything a run produced.
type report struct {
	Machine string     `json:"machine"`
	Env     browserEnv `json:"browser"`
	Config  struct {
		Runs, Warmup int
		BudgetMS     int64
		GPU          bool
	} `json:"config"`
	Results []result `json:"results"`
}

func bench(c config) error {
	start := time.Now()
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	// 1. The models, imported or exported natively.
	if err := errors.Join(prepareNSFWJS(c.root, c.modelDir), prepareResNet(c.modelDir)); err != nil {
		return err
	}
	for _, p := range []string{"@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-backend-webgpu", "nsfwjs"} {
		if _, err := os.Stat(filepath.Join(c.root, "node_modules", p, "package.json")); err != nil {
			return fmt.Errorf("node_modules/%s is missing (npm install --ignore-scripts at the repository root)", p)
		}
	}
	// 2. The Go side of the page.
	wasm := filepath.Join(c.outDir, "webcnn.wasm")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", wasm, "./webgpu/bench/page")
	build.Dir, build.Stdout, build.Stderr = c.root, os.Stderr, os.Stderr
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if _, set := os.LookupEnv("GOEXPERIMENT"); !set {
		// As the browser library ships it: core/cpu's wasm SIMD kernels.
		// GOEXPERIMENT= (set, empty) benchmarks the scalar build instead.
		build.Env = append(build.Env, "GOEXPERIMENT=simd")
	}
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the page's wasm: %w", err)
	}
	wasmExec, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		if wasmExec, err = os.ReadFile(filepath.Join(runtime.GOROOT(), "misc", "wasm", "wasm_exec.js")); err != nil {
			return fmt.Errorf("wasm_exec.js: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: prepared in %v\n", time.Since(start).Round(time.Millisecond))

	// 3. Serve the page on loopback and collect what it posts.
	rep := &report{Machine: machine()}
	rep.Config.Runs, rep.Config.Warmup, rep.Config.BudgetMS, rep.Config.GPU = c.runs, c.warmup, c.budget.Milliseconds(), c.gpu
	cfgJSON, _ := json.Marshal(map[string]any{"runs": c.runs, "warmup": c.warmup, "budget_ms": c.budget.Milliseconds(),
		"runtimes": c.runtimes, "models": c.models})
	done := make(chan string, 1)
	var mu sync.Mutex
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	mux.Handle("GET /", http.FileServerFS(sub))
	mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(wasmExec)
	})
	mux.HandleFunc("GET /webcnn.wasm", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, wasm) })
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(cfgJSON)
	})
	mux.Handle("GET /models/", http.StripPrefix("/models/", http.FileServer(http.Dir(c.modelDir))))
	nm := http.StripPrefix("/node_modules/", http.FileServer(http.Dir(filepath.Join(c.root, "node_modules"))))
	mux.HandleFunc("GET /node_modules/", func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/node_modules/")
		if !strings.HasPrefix(p, "@tensorflow/") && !strings.HasPrefix(p, "nsfwjs/") {
			http.NotFound(w, r)
			return
		}
		nm.ServeHTTP(w, r)
	})
	decode := func(r *http.Request, v any) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	}
	mux.HandleFunc("POST /log", func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Line string }
		if decode(r, &v) == nil {
			fmt.Fprintf(os.Stderr, "page: %s\n", v.Line)
		}
	})
	mux.HandleFunc("POST /env", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if err := decode(r, &rep.Env); err != nil {
			fmt.Fprintf(os.Stderr, "bench: /env: %v\n", err)
		}
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		var res result
		if err := decode(r, &res); err != nil {
			fmt.Fprintf(os.Stderr, "bench: /result: %v\n", err)
			return
		}
		mu.Lock()
		rep.Results = append(rep.Results, res)
		mu.Unlock()
	})
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Error string }
		decode(r, &v)
		select {
		case done <- v.Error:
		default:
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	url := fmt.Sprintf("http://%s/", ln.Addr())

	// 4. One headless Chromium on the page.
	if c.keepOpen {
		fmt.Fprintf(os.Stderr, "bench: serving %s (Chromium with --enable-unsafe-webgpu); waiting for the page to finish\n", url)
	} else {
		stop, err := startChromium(c, url, done)
		if err != nil {
			return err
		}
		defer stop()
	}
	select {
	case msg := <-done:
		if msg != "" {
			return fmt.Errorf("the page failed: %s", msg)
		}
	case <-time.After(c.timeout):
		return fmt.Errorf("no result after %v", c.timeout)
	}

	// 5. The table.
	mu.Lock()
	defer mu.Unlock()
	md := table(rep)
	fmt.Print(md)
	js, _ := json.MarshalIndent(rep, "", " ")
	if err := os.WriteFile(filepath.Join(c.outDir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.outDir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: %v in all; results in %s\n", time.Since(start).Round(time.Second), filepath.Join(c.outDir, "results.{md,json}"))
	for _, r := range rep.Results {
		if r.Error != "" {
			return fmt.Errorf("%s on %s failed: %s", r.Model, r.Runtime, r.Error)
		}
	}
	return nil
}

// startChromium runs headless Chromium on url; done receives an error
// when it exits early. stop ends it (the process this program started).
func startChromium(c config, url string, done chan string) (stop func(), err error) {
	profile, err := os.MkdirTemp("", "bench-browser-profile-")
	if err != nil {
		return nil, err
	}
	args := []string{"--headless", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
		"--user-data-dir=" + profile}
	if c.gpu {
		args = append(args, "--enable-features=Vulkan", "--use-vulkan=native", "--use-angle=vulkan", "--ignore-gpu-blocklist")
	} else {
		args = append(args, "--disable-gpu") // WebGPU then runs on SwiftShader
	}
	args = append(args, c.extraArgs...)
	args = append(args, url)
	var logBuf bytes.Buffer
	cmd := exec.Command(c.chromium, args...)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	// Chromium and its helpers get a process group of their own, ended
	// with it; on Linux the kernel also ends Chromium when this program
	// dies, however it dies (SIGKILL, or SIGPIPE once its output pipe is
	// closed), so an interrupted benchmark leaves no browser running.
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("starting Chromium: %w (webgpu/testdata/bench-browser.sh installs it)", err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(exited)
		select {
		case done <- fmt.Sprintf("Chromium exited early (%v):\n%s", err, tail(logBuf.String(), 4000)):
		default:
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			killGroup(cmd)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			select {
			case <-exited:
			case <-ctx.Done():
			}
			os.RemoveAll(profile)
		})
	}
	// An interrupt or a termination request ends Chromium before this
	// program exits.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-sig:
			stop()
			fmt.Fprintln(os.Stderr, "bench: stopped by", s)
			os.Exit(1)
		case <-exited:
			signal.Stop(sig)
		}
	}()
	return stop, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// machine describes the host: CPU model and count.
func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					cpu = strings.TrimSpace(v)
					break
				}
			}
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs, %s/%s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}
