package weights_test

import (
	"errors"
	"strings"
	"testing"

	"webcnn/core/weights"
)

// TestValidateFields parses a valid manifest with one field changed at a
// time: each must be refused with ErrManifest and the field named (all of
// them parsed before validateFields).
func TestValidateFields(t *testing.T) {
	valid := func() *weights.Manifest {
		return &weights.Manifest{Format: weights.Version, Model: "m",
			Arch:   &weights.Arch{ID: "lenet5", Config: map[string]any{"classes": 3.0}},
			Input:  weights.Input{Shape: []int{1, 28, 28, 1}, ChannelOrder: "GRAY", Scale: 1.0 / 255, Mean: []float32{0.5}, Std: []float32{0.25}},
			Labels: []string{"a", "b", "c"}, Memory: weights.Memory{ParamBytes: 64, ActivationBytes: 128},
			Tensors: []weights.Entry{{Name: "w", Shape: []int{4, 4}, DType: weights.F32, Chunk: 0, Length: 64}},
			Chunks:  []weights.Chunk{{File: "0123456789abcdef.bin", Size: 64, SHA256: strings.Repeat("ab", 32)}}}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("the valid manifest: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*weights.Manifest)
		want   string
	}{
		{"negative param bytes", func(m *weights.Manifest) { m.Memory.ParamBytes = -1 << 40 }, "memory.param_bytes is -1099511627776"},
		{"negative activation bytes", func(m *weights.Manifest) { m.Memory.ActivationBytes = -5 }, "memory.activation_bytes is -5"},
		{"huge input", func(m *weights.Manifest) { m.Input.Shape = []int{1, 12000, 12000, 3} }, "shape [1 12000 12000 3]"},
		{"overflowing input", func(m *weights.Manifest) { m.Input.Shape = []int{1, 1 << 31, 1 << 31, 1 << 31} }, "at most 50331648 values"},
		{"zero extent", func(m *weights.Manifest) { m.Input.Shape = []int{1, 0, 28, 1} }, "positive extents"},
		{"batch 2", func(m *weights.Manifest) { m.Input.Shape = []int{2, 28, 28, 1} }, "want batch 1"},
		{"channel order", func(m *weights.Manifest) { m.Input.ChannelOrder = "CMYK" }, `channel_order "CMYK"`},
		{"RGB on one channel", func(m *weights.Manifest) { m.Input.ChannelOrder = "RGB" }, "channel_order RGB for 1 channels"},
		{"mean count", func(m *weights.Manifest) { m.Input.Mean, m.Input.Std = []float32{0, 0, 0}, []float32{1, 1, 1} }, "3 means and 3 standard deviations for 1 channels"},
		{"zero std", func(m *weights.Manifest) { m.Input.Std = []float32{0} }, "nonzero std"},
		{"label count", func(m *weights.Manifest) { m.Labels = m.Labels[:2] }, "2 labels for an arch of 3 classes"},
		{"chunk path", func(m *weights.Manifest) { m.Chunks[0].File = "../../secret.bin" }, `file name "../../secret.bin"`},
		{"chunk separator", func(m *weights.Manifest) { m.Chunks[0].File = "a/b.bin" }, `has '/'`},
		{"chunk backslash", func(m *weights.Manifest) { m.Chunks[0].File = `a\b.bin` }, `has '\\'`},
		{"chunk hash", func(m *weights.Manifest) { m.Chunks[0].SHA256 = strings.Repeat("AB", 32) }, "not lowercase hex"},
		{"overflowing tensor", func(m *weights.Manifest) { m.Tensors[0].Shape = []int{1 << 32, 1 << 32}; m.Tensors[0].Length = 0 }, `tensor "w" has shape`},
	} {
		m := valid()
		tc.change(m)
		err := m.Validate()
		if err == nil || !errors.Is(err, weights.ErrManifest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrManifest containing %q", tc.name, err, tc.want)
		}
	}
}

// TestBudgetCountsTensors: a manifest that declares fewer parameter bytes
// than its tensors take is budgeted by its tensors.
func TestBudgetCountsTensors(t *testing.T) {
	m := &weights.Manifest{Model: "m", Memory: weights.Memory{ParamBytes: 0},
		Tensors: []weights.Entry{{Name: "w", Shape: []int{256, 256}, DType: weights.Int8}}}
	if err := m.CheckBudget(100_000); !errors.Is(err, weights.ErrBudget) || !strings.Contains(err.Error(), "262144 of parameters") {
		t.Errorf("CheckBudget: %v, want ErrBudget for 262144 bytes of parameters", err)
	}
}
