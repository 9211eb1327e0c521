package models

import (
	"encoding/json"
	"fmt"
	"io"

	"webcnn/core"
	"webcnn/core/nn"
)

// Summary is the lecture's per-layer accounting of a model (its AlexNet
// and VGG slides): output shape, parameters, multiply-adds, activation
// memory and receptive field per layer, with totals.
type Summary struct {
	Model string
	Input core.Shape
	Rows  []nn.Row
	// Params counts trainable elements; MACs counts the multiply-adds of
	// convolutions and fully connected layers (the convention of published
	// figures: normalizations, activations and pooling are not counted).
	Params, MACs int64
	// Activations counts the float32 values of every layer output that
	// needs memory of its own in inference (in-place activations, dropout
	// and batch norm folded at load are not counted; the input is).
	Activations int64
}

// ActivationBytes is the memory of the activations in float32.
func (s *Summary) ActivationBytes() int64 { return 4 * s.Activations }

// ParamBytes is the memory of the parameters in float32.
func (s *Summary) ParamBytes() int64 { return 4 * s.Params }

// ForwardBytes is the lecture's memory of one forward pass: activations
// plus parameters (VGG16: ~60 MB + ~552 MB = ~612 MB).
func (s *Summary) ForwardBytes() int64 { return s.ActivationBytes() + s.ParamBytes() }

// BackpropBytes estimates training memory: every activation and every
// parameter also holds a gradient of its size, twice the forward memory
// (the lecture: VGG16 needs more than 1.1 GB with backprop).
func (s *Summary) BackpropBytes() int64 { return 2 * s.ForwardBytes() }

// Summarize plans a zoo model on the shape-only backend (no weights are
// allocated) for the given input (nil: the spec's).
func Summarize(spec Spec, in core.Shape) (*Summary, error) {
	if in == nil {
		in = spec.Input
	}
	bd := &nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true}
	m, err := spec.New(bd)
	if err != nil {
		return nil, err
	}
	return SummarizeLayer(spec.ID, m, in)
}

// SummarizeLayer plans any layer for an input shape.
func SummarizeLayer(name string, l nn.Layer, in core.Shape) (*Summary, error) {
	_, rows, err := nn.PlanOf(l, in)
	if err != nil {
		return nil, fmt.Errorf("summary %s %v: %w", name, in, err)
	}
	s := &Summary{Model: name, Input: in.Clone(), Rows: rows, Params: nn.Count(l), Activations: int64(in.Size())}
	for _, r := range rows {
		s.MACs += r.MACs
		if !r.InPlace {
			s.Activations += int64(r.Out.Size())
		}
	}
	return s, nil
}

// WriteText prints the table and the totals.
func (s *Summary) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s, input %v (NHWC)\n\n", s.Model, s.Input)
	fmt.Fprintf(w, "%-40s %-26s %-20s %12s %15s %12s %9s\n", "layer", "kind", "output", "params", "MACs", "act. bytes", "RF/jump")
	for _, r := range s.Rows {
		act := "in place"
		if !r.InPlace {
			act = fmt.Sprint(4 * r.Out.Size())
		}
		fmt.Fprintf(w, "%-40s %-26s %-20v %12d %15d %12s %9s\n", r.Name, r.Kind, r.Out, r.Params, r.MACs, act,
			fmt.Sprintf("%d/%d", r.Field.Size, r.Field.Jump))
	}
	_, err := fmt.Fprintf(w, "\nparameters       %14d  (%s float32)\nmultiply-adds    %14d  (%.3g G)\nactivations      %14d  (%s float32)\n"+
		"forward memory   %14s  (activations + parameters)\nwith backprop    %14s  (estimate: every value also gets a gradient)\n",
		s.Params, mb(s.ParamBytes()), s.MACs, float64(s.MACs)/1e9, s.Activations, mb(s.ActivationBytes()),
		mb(s.ForwardBytes()), mb(s.BackpropBytes()))
	return err
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// jsonRow is a layer in the JSON summary.
type jsonRow struct {
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	Output          []int  `json:"output"`
	Params          int64  `json:"params"`
	MACs            int64  `json:"macs"`
	ActivationBytes int64  `json:"activation_bytes"`
	RFSize          int    `json:"rf_size"`
	RFJump          int    `json:"rf_jump"`
}

// MarshalJSON writes params, macs, activation_bytes, param_bytes,
// backprop_bytes and the layers array.
func (s *Summary) MarshalJSON() ([]byte, error) {
	rows := make([]jsonRow, len(s.Rows))
	for i, r := range s.Rows {
		rows[i] = jsonRow{Name: r.Name, Kind: r.Kind, Output: r.Out, Params: r.Params, MACs: r.MACs,
			RFSize: r.Field.Size, RFJump: r.Field.Jump}
		if !r.InPlace {
			rows[i].ActivationBytes = int64(4 * r.Out.Size())
		}
	}
	return json.Marshal(struct {
		Model           string    `json:"model"`
		Input           []int     `json:"input"`
		Params          int64     `json:"params"`
		MACs            int64     `json:"macs"`
		ActivationBytes int64     `json:"activation_bytes"`
		ParamBytes      int64     `json:"param_bytes"`
		ForwardBytes    int64     `json:"forward_bytes"`
		BackpropBytes   int64     `json:"backprop_bytes"`
		Layers          []jsonRow `json:"layers"`
	}{s.Model, s.Input, s.Params, s.MACs, s.ActivationBytes(), s.ParamBytes(), s.ForwardBytes(), s.BackpropBytes(), rows})
}
