//go:build !(js && wasm)

// Command bench compares the runtime with TF.js 4.22 in one headless
// Chromium: our WebGPU backend and our CPU backend (both in Go's
// js/wasm), and TF.js's webgpu, wasm (one thread, with SIMD and with its
// binary without SIMD) and cpu backends,
// on nsfwjs's MobileNetV2 (the same weights for both runtimes: TF.js loads
// node_modules/nsfwjs's model, we load it converted) and ResNet-18 at
// 224x224 (the zoo's seeded weights, exported to a manifest; TF.js builds
// the same network with tf ops from that manifest). Every cell is batch 1
// on the same input: one first run (building the model on the backend
// from bytes in memory, weight upload, pipeline compiles, the first
// inference and its readback), a warm-up, then timed runs (inference and
// readback) whose median is reported.
//
//	webgpu/testdata/bench-browser.sh            (installs Chromium, then runs this)
//	go run ./webgpu/bench -runs 20 -budget 20s  (Chromium already installed)
//	go run ./webgpu/bench -cpu                  (only the CPU rows: webcnn-cpu, tfjs-wasm with and without SIMD)
//	go run ./webgpu/bench -prepare nsfwjs       (only write the model manifests)
//	go run ./webgpu/bench -prepare ppocr        (PP-OCRv4 and onnxruntime references)
//	go run ./webgpu/bench -prepare tfjs         (a synthetic TF.js graph model and TF.js's outputs)
//	go run ./webgpu/bench -prepare onnxsuite    (ONNX's backend suite tests that pass natively)
//
// The page (static/, embedded) and the Go side of it (page/, built for
// js/wasm here) are served on loopback; results come back to this
// program over HTTP and are printed as a table, and written to
// build/bench-browser/results.{json,md}.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type config struct {
	root      string // the module's root
	modelDir  string
	outDir    string
	chromium  string
	gpu       bool
	runs      int
	warmup    int
	budget    time.Duration
	timeout   time.Duration
	runtimes  []string
	models    []string
	keepOpen  bool
	extraArgs []string
}

// allRuntimes are the columns of the comparison, in the order they run.
var allRuntimes = []string{"webcnn-webgpu", "webcnn-cpu", "tfjs-webgpu", "tfjs-wasm", "tfjs-wasm-nosimd", "tfjs-cpu"}

// cpuRuntimes are the runtimes -cpu keeps: our CPU backend and TF.js's
// wasm backend with and without SIMD, all single-threaded wasm on the CPU
// (tfjs-cpu, plain JavaScript, takes seconds per run: ask for it with
// -runtimes).
var cpuRuntimes = []string{"webcnn-cpu", "tfjs-wasm", "tfjs-wasm-nosimd"}

// allModels are the rows.
var allModels = []string{"mobilenet_v2", "resnet18"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	c := config{root: root}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	prepare := fs.String("prepare", "", "only write the model manifests and exit: nsfwjs, resnet18, ppocr, tfjs, onnxsuite or all (comma-separated)")
	fs.StringVar(&c.modelDir, "models", filepath.Join(root, "build", "webgpu-models"), "directory of the model manifests")
	fs.StringVar(&c.outDir, "out", filepath.Join(root, "build", "bench-browser"), "directory for the wasm binary and the results")
	fs.StringVar(&c.chromium, "chromium", "/usr/lib/chromium/chromium-headless-shell", "the Chromium binary")
	fs.BoolVar(&c.gpu, "gpu", false, "let Chromium use the machine's GPU (Vulkan flags) instead of SwiftShader (not tried here: no GPU machine with Chromium)")
	fs.IntVar(&c.runs, "runs", 20, "timed runs per cell (median reported)")
	fs.IntVar(&c.warmup, "warmup", 2, "untimed runs after the first run")
	fs.DurationVar(&c.budget, "budget", 20*time.Second, "time bound of a cell's timed runs: fewer runs (at least 3) when they would exceed it")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "bound on the whole browser run")
	rts := fs.String("runtimes", strings.Join(allRuntimes, ","), "runtimes to compare")
	cpuOnly := fs.Bool("cpu", false, "compare only "+strings.Join(cpuRuntimes, ", ")+" (overrides -runtimes)")
	ms := fs.String("run-models", strings.Join(allModels, ","), "models to run")
	fs.BoolVar(&c.keepOpen, "serve", false, "serve the page and wait instead of starting Chromium (open the printed URL yourself)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.extraArgs = fs.Args()
	if *prepare != "" {
		var errs []error
		for _, p := range strings.Split(*prepare, ",") {
			switch p {
			case "nsfwjs":
				errs = append(errs, prepareNSFWJS(root, c.modelDir))
			case "resnet18":
				errs = append(errs, prepareResNet(c.modelDir))
			case "ppocr":
				errs = append(errs, preparePPOCR(root, c.modelDir))
			case "tfjs":
				errs = append(errs, prepareTFJSSynth(root, c.modelDir))
			case "onnxsuite":
				errs = append(errs, prepareONNXSuite(root, c.modelDir))
			case "all":
				errs = append(errs, prepareNSFWJS(root, c.modelDir), prepareResNet(c.modelDir), preparePPOCR(root, c.modelDir), prepareTFJSSynth(root, c.modelDir), prepareONNXSuite(root, c.modelDir))
			default:
				return fmt.Errorf("-prepare %q: want nsfwjs, resnet18, ppocr, tfjs, onnxsuite or all (comma-separated)", p)
			}
		}
		return errors.Join(errs...)
	}
	c.runtimes = strings.Split(*rts, ",")
	if *cpuOnly {
		c.runtimes = cpuRuntimes
	}
	for _, r := range c.runtimes {
		if !slices.Contains(allRuntimes, r) {
			return fmt.Errorf("-runtimes: unknown %q (have %v)", r, allRuntimes)
		}
	}
	c.models = strings.Split(*ms, ",")
	for _, m := range c.models {
		if !slices.Contains(allModels, m) {
			return fmt.Errorf("-run-models: unknown %q (have %v)", m, allModels)
		}
	}
	if c.runs < 1 {
		return fmt.Errorf("-runs %d: want at least 1", c.runs)
	}
	return bench(c)
}

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory: run from the module")
		}
		dir = up
	}
}
