package weights

import (
	"fmt"
	"math"
	"strings"
)

// Bounds on what a manifest may declare, so that a hostile or broken one
// fails at parse time with its field named instead of in an allocation.
const (
	// MaxInputElements bounds input.shape's element count: 4096x4096x3
	// float32 is 192 MiB, past what a browser tab or a Worker would hold.
	MaxInputElements = 4096 * 4096 * 3
	// MaxTensorElements bounds one tensor (4 GiB of float32).
	MaxTensorElements = 1 << 30
	// MaxPlanBytes bounds each of the memory plan's sizes.
	MaxPlanBytes = 1 << 40
)

// validateFields checks the fields Validate's layout checks leave open:
// the memory plan, the input spec, the labels, chunk names and tensor
// extents. Every error wraps ErrManifest and names the field.
func (m *Manifest) validateFields() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %q: %s", ErrManifest, m.Model, fmt.Sprintf(format, args...))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"memory.param_bytes", m.Memory.ParamBytes}, {"memory.activation_bytes", m.Memory.ActivationBytes}} {
		if f.v < 0 || f.v > MaxPlanBytes {
			return bad("%s is %d: want 0 to %d", f.name, f.v, int64(MaxPlanBytes))
		}
	}
	if err := m.Input.validate(); err != nil {
		return bad("input: %v", err)
	}
	if m.Arch != nil && len(m.Labels) > 0 {
		if c, ok := m.Arch.Config["classes"].(float64); ok && float64(len(m.Labels)) != c {
			return bad("%d labels for an arch of %v classes", len(m.Labels), c)
		}
	}
	files := map[string]string{}
	for i, c := range m.Chunks {
		if err := chunkName(c.File); err != nil {
			return bad("chunk %d: %v", i, err)
		}
		if strings.Trim(c.SHA256, "0123456789abcdef") != "" {
			return bad("chunk %q: sha256 %q is not lowercase hex", c.File, c.SHA256)
		}
		if sum, ok := files[c.File]; ok && sum != c.SHA256 {
			return bad("chunk %q is listed twice with different sha256", c.File)
		}
		files[c.File] = c.SHA256
	}
	for i := range m.Tensors {
		e := &m.Tensors[i]
		n := int64(1)
		for _, d := range e.Shape {
			if d <= 0 || int64(d) > MaxTensorElements || n*int64(d) > MaxTensorElements {
				return bad("tensor %q has shape %v: over %d elements", e.Name, e.Shape, int64(MaxTensorElements))
			}
			n *= int64(d)
		}
		for _, s := range e.Scales {
			if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
				return bad("tensor %q has a scale %v", e.Name, s)
			}
		}
	}
	return nil
}

// chunkName accepts a chunk file name that stays in its model's
// directory: one path element of letters, digits, '.', '_' and '-', not
// starting with '.'.
func chunkName(f string) error {
	if f == "" || len(f) > 255 || f[0] == '.' {
		return fmt.Errorf("file name %q: want a plain name such as <sha256-16>.bin", f)
	}
	for _, c := range f {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("file name %q has %q: want one path element of letters, digits, '.', '_' and '-'", f, c)
		}
	}
	return nil
}

// validate checks an input spec: a shape (absent when an extent is
// dynamic) of batch 1 with positive extents and at most MaxInputElements
// values, a known channel order matching the channels, finite scale and
// offset, and a mean and a standard deviation per channel.
func (in *Input) validate() error {
	if len(in.Shape) > 0 {
		if len(in.Shape) > 8 || in.Shape[0] != 1 {
			return fmt.Errorf("shape %v: want batch 1 and at most 8 axes", in.Shape)
		}
		n := int64(1)
		for _, d := range in.Shape {
			if d <= 0 || int64(d) > MaxInputElements || n*int64(d) > MaxInputElements {
				return fmt.Errorf("shape %v: want positive extents and at most %d values", in.Shape, MaxInputElements)
			}
			n *= int64(d)
		}
	}
	c := 0
	if len(in.Shape) == 4 {
		c = in.Shape[3]
	}
	switch in.ChannelOrder {
	case "":
	case "GRAY":
		if c != 0 && c != 1 {
			return fmt.Errorf("channel_order GRAY for %d channels", c)
		}
	case "RGB", "BGR":
		if c != 0 && c != 3 {
			return fmt.Errorf("channel_order %s for %d channels", in.ChannelOrder, c)
		}
	default:
		return fmt.Errorf("channel_order %q: want RGB, BGR or GRAY", in.ChannelOrder)
	}
	for _, v := range []float32{in.Scale, in.Offset} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("scale %v, offset %v: want finite numbers", in.Scale, in.Offset)
		}
	}
	if len(in.Mean) != len(in.Std) || c != 0 && len(in.Mean) != 0 && len(in.Mean) != c {
		return fmt.Errorf("%d means and %d standard deviations for %d channels", len(in.Mean), len(in.Std), c)
	}
	for i, s := range in.Std {
		m := in.Mean[i]
		if s == 0 || math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
			return fmt.Errorf("channel %d: mean %v, std %v: want finite numbers and a nonzero std", i, m, s)
		}
	}
	return nil
}

// ParamsBytes is the parameters' size to budget: memory.param_bytes, or
// the float32 size of the tensors where that is more (what a load
// allocates whatever the manifest says).
func (m *Manifest) ParamsBytes() int64 { return max(m.Memory.ParamBytes, m.tensorBytes()) }

// tensorBytes is the float32 size of every tensor: what a load allocates
// whatever memory.param_bytes says.
func (m *Manifest) tensorBytes() int64 {
	var n int64
	for i := range m.Tensors {
		n += 4 * m.Tensors[i].Elements()
	}
	return n
}
