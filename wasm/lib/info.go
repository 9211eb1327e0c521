package main

import (
	"strings"

	"webcnn/core/weights"
	"webcnn/models"
)

// info describes a loaded model for model.summary(): what it is, its size
// and its input, and the backend that runs it.
func (m *model) info() map[string]any {
	man := m.man
	arch := "graph"
	if man.Arch != nil {
		arch = man.Arch.ID
	}
	var download int64
	for _, c := range man.Chunks {
		download += c.Size
	}
	dtypes := map[string]bool{}
	for _, e := range man.Tensors {
		dtypes[string(e.DType)] = true
	}
	var ds []any
	for _, d := range []string{"f32", "f16", "int8"} {
		if dtypes[d] {
			ds = append(ds, d)
		}
	}
	shape := make([]any, len(man.Input.Shape))
	for i, d := range man.Input.Shape {
		shape[i] = d
	}
	labels := make([]any, len(man.Labels))
	for i, l := range man.Labels {
		labels[i] = l
	}
	out := map[string]any{
		"id":              m.id,
		"model":           man.Model,
		"arch":            arch,
		"backend":         m.lease.Name,
		"backendNote":     m.lease.Note,
		"downloadBytes":   float64(download),
		"chunks":          len(man.Chunks),
		"dtypes":          ds,
		"paramBytes":      float64(man.Memory.ParamBytes),
		"activationBytes": float64(man.Memory.ActivationBytes),
		"input":           map[string]any{"shape": shape, "channelOrder": man.Input.ChannelOrder},
		"labels":          labels,
		"output":          outputKind(man.Output),
	}
	if man.Output == "features" {
		out["output"] = "features"
	}
	out["trainableBlocks"] = m.tailBlocks() // finetune's unfreeze: 1 to this
	if m.net != nil {
		ins, outs := models.Ports(man, m.net)
		out["inputs"], out["outputs"] = jsPorts(ins), jsPorts(outs)
	}
	if m.plan != nil {
		out["gpuPlan"] = m.plan
	}
	if s := m.sum; s != nil {
		dropout := 0
		for _, r := range s.Rows {
			if strings.HasPrefix(r.Kind, "Dropout") {
				dropout++
			}
		}
		out["params"] = float64(s.Params)
		out["macs"] = float64(s.MACs)
		out["layers"] = len(s.Rows)
		out["dropoutLayers"] = dropout
		if len(s.Rows) > 0 && man.Output != "features" {
			out["classes"] = s.Rows[len(s.Rows)-1].Out.Size()
		} else if len(s.Rows) > 0 {
			out["features"] = s.Rows[len(s.Rows)-1].Out.Size()
		}
	}
	return out
}

// outputKind is the manifest's output kind, logits when it says none.
func outputKind(k string) string {
	if k == "" {
		return "logits"
	}
	return k
}

// jsPorts lists a model's inputs or outputs for summary(): name, shape in
// the source framework's layout (-1: any), layout and, for outputs, kind.
func jsPorts(ps []weights.Port) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		shape := make([]any, len(p.Shape))
		for k, d := range p.Shape {
			shape[k] = d
		}
		r := map[string]any{"name": p.Name, "shape": shape, "layout": p.Layout}
		if p.Kind != "" {
			r["kind"] = p.Kind
		}
		out[i] = r
	}
	return out
}
