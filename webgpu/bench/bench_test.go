//go:build !(js && wasm)

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTable renders a small report: both tables, the ratios and the
// agreement with webcnn-cpu.
func TestTable(t *testing.T) {
	rep := &report{Machine: "test machine"}
	rep.Config.Runs, rep.Config.Warmup, rep.Config.BudgetMS = 20, 2, 30000
	rep.Results = []result{
		{Runtime: "webcnn-webgpu", Model: "resnet18", FirstMS: 900, TimesMS: []float64{10, 12, 11}, MedianMS: 11, MinMS: 10, GPUPeak: 64 << 20, GPUGrowth: 1 << 20, Output: []float32{1, 2.5}},
		{Runtime: "webcnn-cpu", Model: "resnet18", FirstMS: 300, TimesMS: []float64{40}, MedianMS: 40, MinMS: 40, Output: []float32{1, 2}},
		{Runtime: "tfjs-webgpu", Model: "resnet18", FirstMS: 1800, TimesMS: []float64{22}, MedianMS: 22, MinMS: 22, Output: []float32{1, 2}},
		{Runtime: "tfjs-wasm", Model: "resnet18", Error: "no | wasm"},
		{Runtime: "tfjs-wasm-nosimd", Model: "resnet18", FirstMS: 200, TimesMS: []float64{80}, MedianMS: 80, MinMS: 80, Output: []float32{1, 2}},
	}
	md := table(rep)
	for _, want := range []string{
		"| resnet18 | webcnn-webgpu | 900 | 11.0 | 10.0 | 3 | 64.0 | 1.0 | 0.5 (2.5e-01 of max) |",
		"| resnet18 | webcnn-cpu | 300 | 40.0 | 40.0 | 1 | - | - | - |",
		"| resnet18 | tfjs-wasm | error: no / wasm |",
		"| resnet18 | tfjs-wasm-nosimd | 200 | 80.0 | 80.0 | 1 | - | - | 0 (0.0e+00 of max) |",
		"| webcnn-cpu / tfjs-wasm-nosimd median |",
		"| resnet18 | 0.50 | - | 0.50 | - | 0.50 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// TestPageScripts checks that the page's scripts parse (node --check),
// where node is installed.
func TestPageScripts(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	for _, f := range []string{"bench.js", "gpumem.js"} {
		src, err := static.ReadFile("static/" + f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), f)
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}
