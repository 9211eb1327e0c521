//go:build !(js && wasm)

package main

import (
	"fmt"
	"math"
	"strings"
)

// table renders a report as Markdown: the timings per model and runtime,
// then the ratios of our medians (and first runs) to TF.js's.
func table(rep *report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s\n", rep.Machine)
	fmt.Fprintf(&b, "Browser: %s (%d hardware threads reported, cross-origin isolated: %v), TF.js %s\n",
		rep.Env.UserAgent, rep.Env.HardwareConcurrency, rep.Env.CrossOriginIsolated, rep.Env.TFJS)
	if a := rep.Env.Adapter; a != nil {
		fmt.Fprintf(&b, "WebGPU adapter: vendor %q, architecture %q, description %q, fallback %v\n", a.Vendor, a.Architecture, a.Description, a.Fallback)
	} else {
		b.WriteString("WebGPU adapter: none\n")
	}
	fmt.Fprintf(&b, "Batch 1, 224x224x3, the same input for all; median of up to %d timed runs (input upload, inference, readback) after up to %d warm-up runs, each cell's timed runs bounded by %.0f s (at least 3 runs). "+
		"First run: building the model on the backend from bytes in memory (weight upload; TF.js uploads lazily) + the first inference (pipeline compiles). "+
		"Peak GPU MB: live GPU buffers (createBuffer - destroy) above the cell's start; kept per run: live GPU memory each run after the first left behind.\n\n",
		rep.Config.Runs, rep.Config.Warmup, float64(rep.Config.BudgetMS)/1000)

	b.WriteString("| model | runtime | first run ms | median ms | min ms | runs | peak GPU MB | GPU MB kept per run | max abs diff vs webcnn-cpu |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	byKey := map[string]result{}
	var models []string
	for _, r := range rep.Results {
		byKey[r.Model+"/"+r.Runtime] = r
		if len(models) == 0 || models[len(models)-1] != r.Model {
			models = append(models, r.Model)
		}
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | error: %s | | | | | | |\n", r.Model, r.Runtime, strings.ReplaceAll(r.Error, "|", "/"))
			continue
		}
		gpu, kept := "-", "-"
		if strings.HasSuffix(r.Runtime, "webgpu") {
			gpu, kept = fmt.Sprintf("%.1f", r.GPUPeak/(1<<20)), fmt.Sprintf("%.1f", r.GPUGrowth/(1<<20))
		}
		diff := "-"
		if ref, ok := byKey[r.Model+"/webcnn-cpu"]; ok && r.Runtime != "webcnn-cpu" && len(ref.Output) == len(r.Output) {
			d, s := 0.0, 0.0
			for i := range ref.Output {
				d = math.Max(d, math.Abs(float64(r.Output[i])-float64(ref.Output[i])))
				s = math.Max(s, math.Abs(float64(ref.Output[i])))
			}
			diff = fmt.Sprintf("%.2g (%.1e of max)", d, d/s)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.1f | %.1f | %d | %s | %s | %s |\n", r.Model, r.Runtime, r.FirstMS, r.MedianMS, r.MinMS, len(r.TimesMS), gpu, kept, diff)
	}

	b.WriteString("\nRatios us / TF.js (below 1: we are faster):\n\n")
	pairs := [][2]string{{"webcnn-webgpu", "tfjs-webgpu"}, {"webcnn-cpu", "tfjs-wasm"}, {"webcnn-cpu", "tfjs-wasm-nosimd"}, {"webcnn-cpu", "tfjs-cpu"}}
	b.WriteString("| model |")
	for _, p := range pairs {
		fmt.Fprintf(&b, " %s / %s median |", p[0], p[1])
	}
	b.WriteString(" webcnn-webgpu / tfjs-webgpu first run |\n|---|")
	for range pairs {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	ratio := func(m, us, them string, first bool) string {
		a, ok1 := byKey[m+"/"+us]
		c, ok2 := byKey[m+"/"+them]
		if !ok1 || !ok2 || a.Error != "" || c.Error != "" {
			return "-"
		}
		if first {
			return fmt.Sprintf("%.2f", a.FirstMS/c.FirstMS)
		}
		return fmt.Sprintf("%.2f", a.MedianMS/c.MedianMS)
	}
	for _, m := range models {
		fmt.Fprintf(&b, "| %s |", m)
		for _, p := range pairs {
			fmt.Fprintf(&b, " %s |", ratio(m, p[0], p[1], false))
		}
		fmt.Fprintf(&b, " %s |\n", ratio(m, "webcnn-webgpu", "tfjs-webgpu", true))
	}
	b.WriteString("\nDetails per cell:\n\n")
	for _, r := range rep.Results {
		if r.Error == "" {
			fmt.Fprintf(&b, "- %s %s: %s; setup (fetch, decode, backend init, untimed) %.0f ms; after: %s\n", r.Model, r.Runtime, r.Info, r.SetupMS, r.After)
		}
	}
	return b.String()
}
