//go:build !(js && wasm)

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"webcnn/core"
	"webcnn/core/weights"
	"webcnn/tools/convert/tfjs"
	"webcnn/tools/convert/tfjs/synthgraph"
)

// TFJSSynthModel is the synthetic TF.js graph model that uses every op the
// graph-model importer translates (tools/convert/tfjs/synthgraph),
// imported like any TF.js model; its reference (TFJSSynthReference, in a
// directory of that name) holds TF.js's outputs on a seeded input.
const (
	TFJSSynthModel     = "tfjs-synth"
	TFJSSynthReference = "tfjs-synth-ref"
)

// tfjsSynthCase is TFJSSynthReference/case.json: the input's shape, and
// each output's node name and shape; in.f32 and out.f32 beside it hold
// the input and the outputs one after the other (float32, little-endian).
type tfjsSynthCase struct {
	Input   []int    `json:"input"`
	Outputs []string `json:"outputs"`
	Shapes  [][]int  `json:"shapes"`
}

// prepareTFJSSynth writes the synthetic graph model into dir/tfjs-synth
// and TF.js's outputs (cpu backend) into dir/tfjs-synth-ref.
func prepareTFJSSynth(root, dir string) error {
	start := time.Now()
	src, err := os.MkdirTemp("", "tfjs-synth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	sg := synthgraph.Synth()
	if err := sg.Write(src); err != nil {
		return err
	}
	m, ts, err := tfjs.Import(src)
	if err != nil {
		return err
	}
	m.Model = TFJSSynthModel
	if err := weights.WriteModel(filepath.Join(dir, TFJSSynthModel), weights.WriterOptions{}, m, ts, nil); err != nil {
		return err
	}
	ref := filepath.Join(dir, TFJSSynthReference)
	if err := os.MkdirAll(ref, 0o755); err != nil {
		return err
	}
	c := tfjsSynthCase{Input: []int{2, 9, 8, 3}, Outputs: sg.Outputs}
	rng := core.NewRNG(5)
	x := make([]float32, core.Shape(c.Input).Size())
	for i := range x {
		x[i] = rng.Float32()
	}
	in := filepath.Join(ref, "in.f32")
	if err := writeF32(in, x); err != nil {
		return err
	}
	out, shapes, err := runTFJSWith(root, "cpu", filepath.Join(src, "model.json"), in, c.Input, sg.Outputs)
	if err != nil {
		return fmt.Errorf("%s: TF.js reference: %w", TFJSSynthModel, err)
	}
	c.Shapes = shapes
	if err := writeF32(filepath.Join(ref, "out.f32"), out); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ref, "case.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %s: %d tensors, TF.js's %d outputs into %s (%v)\n", TFJSSynthModel, len(ts), len(shapes), ref, time.Since(start).Round(time.Millisecond))
	return nil
}
