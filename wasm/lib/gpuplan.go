package main

import (
	"fmt"
	"time"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/webgpu"
)

// planGPU plans man's forward pass for g before the weights arrive: the
// network is built with zero weights on a rehearsal backend, one pass is
// recorded, and the plan's pipelines start compiling (the browser works
// on them while the chunks download) and its buffers are created. The
// caller waits with g.Ready once the weights are in.
func planGPU(g *webgpu.Backend, man *weights.Manifest) (*webgpu.Arena, map[string]any, error) {
	start := time.Now()
	r := g.Rehearsal()
	net, _, err := build(r, man.Zeros())
	if err != nil {
		return nil, nil, fmt.Errorf("rehearsal build: %w", err)
	}
	shape := core.Shape(man.Input.Shape)
	p, err := r.Record(func() error {
		_, err := nn.Infer(r, net, shape, make([]float32, shape.Size()))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	a, err := g.Prepare(p)
	if err != nil {
		return nil, nil, err
	}
	return a, map[string]any{
		"buffers":       p.Slots(),
		"bytes":         float64(p.Bytes),
		"livePeakBytes": float64(p.LiveBytes),
		"poolBytes":     float64(p.PoolBytes),
		"allocations":   p.Allocs,
		"dispatches":    p.Dispatches,
		"pipelines":     len(p.Pipelines),
		"rehearsalMs":   msSince(start),
	}, nil
}
