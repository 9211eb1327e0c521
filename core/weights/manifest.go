// Package weights is the runtime's chunked weight format: a manifest.json
// that describes the model (a zoo architecture or an imported graph), its
// input and labels, and every tensor's place in content-addressed chunk
// files, plus the Writer the converter uses and the loader that verifies
// every chunk's sha256 before use. Offsets and hashes live only in the
// manifest: the Writer and the loader share these types.
package weights

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the manifest format this package writes and reads.
const Version = 1

// DefaultChunkSize bounds a chunk file (a tensor never spans chunks, so a
// tensor larger than this gets a chunk of its own).
const DefaultChunkSize = 4 << 20

// Manifest is manifest.json.
type Manifest struct {
	Format int    `json:"format"`
	Model  string `json:"model"`
	// Exactly one of Arch and Graph describes the network.
	Arch   *Arch           `json:"arch,omitempty"`
	Graph  json.RawMessage `json:"graph,omitempty"`
	Input  Input           `json:"input"`
	Labels []string        `json:"labels,omitempty"`
	// Output says what the network's first output is (Logits, the
	// default, Probabilities, Map or Features); everything that shows numbers to a
	// user reads it through models.Classify. Outputs[0].Kind, when set,
	// says the same.
	Output string `json:"output,omitempty"`
	// Inputs and Outputs describe the graph's values in the source
	// framework's terms (name, shape, axis order), so that raw tensors
	// can be fed and returned in that layout; empty in manifests written
	// before they existed.
	Inputs  []Port  `json:"inputs,omitempty"`
	Outputs []Port  `json:"outputs,omitempty"`
	Memory  Memory  `json:"memory"`
	Tensors []Entry `json:"tensors"`
	Chunks  []Chunk `json:"chunks"`
}

// Output kinds.
const (
	Logits        = "logits"        // class scores before softmax
	Probabilities = "probabilities" // class probabilities (the model ends in softmax)
	Map           = "map"           // not class scores: a dense map (detection, segmentation, a sequence), read as a tensor
	Features      = "features"      // a backbone cut before its head: feature vectors for a head to learn from
)

// Port is a graph input or output as the source framework sees it.
type Port struct {
	Name string `json:"name"` // the value's name in the graph (the source's name)
	// Kind is an output's kind: Logits, Probabilities or Map.
	Kind string `json:"kind,omitempty"`
	// Shape is in the source's layout; -1 marks an extent known only at
	// run time (the batch, a dynamic height).
	Shape []int `json:"shape"`
	// Layout names the source's axes, e.g. "NCHW" (ONNX, PyTorch) or
	// "NHWC" (TF.js), when they are an image's.
	Layout string `json:"layout,omitempty"`
	// Perm maps the source's axes onto the runtime's: source axis i is
	// the runtime's axis Perm[i] (absent: the same order).
	Perm []int `json:"perm,omitempty"`
}

// Arch names a zoo architecture and its configuration.
type Arch struct {
	ID     string         `json:"id"`
	Config map[string]any `json:"config,omitempty"`
}

// Input says how to turn an image into the model's input tensor:
// x = (pixel*Scale + Offset - Mean[c]) / Std[c], pixels in 0..255 in
// ChannelOrder, resized (bilinear) to Shape's height and width with the
// source framework's coordinate mapping Resize.
type Input struct {
	Shape        []int     `json:"shape"`         // NHWC, batch 1
	ChannelOrder string    `json:"channel_order"` // "RGB", "BGR" or "GRAY"
	Scale        float32   `json:"scale"`         // e.g. 1/255
	Offset       float32   `json:"offset,omitempty"`
	Mean         []float32 `json:"mean,omitempty"`
	Std          []float32 `json:"std,omitempty"`
	// Resize is how the source resizes: "half_pixel" (the default: PyTorch,
	// OpenCV, PIL), "align_corners" (nsfwjs: tf.image.resizeBilinear with
	// alignCorners) or "asymmetric" (tf.image.resizeBilinear's default).
	Resize string `json:"resize,omitempty"`
}

// Memory is the model's memory plan in bytes: parameters once dequantized
// to float32, and the activations of one forward pass at batch 1.
type Memory struct {
	ParamBytes      int64 `json:"param_bytes"`
	ActivationBytes int64 `json:"activation_bytes"`
}

// Entry places one tensor in a chunk.
type Entry struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	DType  DType  `json:"dtype"`
	Chunk  int    `json:"chunk"`  // index into Chunks
	Offset int64  `json:"offset"` // bytes into the chunk
	Length int64  `json:"length"` // bytes
	// Scales are int8's per-output-channel factors (the last axis: HWIO
	// convs and [In, Out] dense weights): value = int8 * Scales[channel].
	Scales []float32 `json:"scales,omitempty"`
}

// Chunk is one content-addressed file.
type Chunk struct {
	File   string `json:"file"` // "<first 16 hex digits of sha256>.bin"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// DType is a storage type; compute is always float32.
type DType string

// Storage types.
const (
	F32  DType = "f32"
	F16  DType = "f16"
	Int8 DType = "int8"
)

// size is the bytes one element takes.
func (d DType) size() (int64, error) {
	switch d {
	case F32:
		return 4, nil
	case F16:
		return 2, nil
	case Int8:
		return 1, nil
	}
	return 0, fmt.Errorf("unknown dtype %q", string(d))
}

// ErrManifest reports a manifest that cannot be used.
var ErrManifest = errors.New("bad manifest")

// Elements is the number of values of an entry.
func (e *Entry) Elements() int64 {
	n := int64(1)
	for _, d := range e.Shape {
		n *= int64(d)
	}
	return n
}

// Validate checks everything that can be checked without the chunks:
// version, a description of the network, and that every tensor lies in
// its chunk with a length that matches its shape and dtype.
func (m *Manifest) Validate() error {
	if m.Format != Version {
		return fmt.Errorf("%w: format %d, this runtime reads %d", ErrManifest, m.Format, Version)
	}
	if (m.Arch == nil) == (len(m.Graph) == 0) {
		return fmt.Errorf("%w: %q needs exactly one of arch and graph", ErrManifest, m.Model)
	}
	if err := m.validateFields(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range m.Tensors {
		e := &m.Tensors[i]
		if seen[e.Name] {
			return fmt.Errorf("%w: tensor %q listed twice", ErrManifest, e.Name)
		}
		seen[e.Name] = true
		es, err := e.DType.size()
		if err != nil {
			return fmt.Errorf("%w: tensor %q: %v", ErrManifest, e.Name, err)
		}
		for _, d := range e.Shape {
			if d <= 0 {
				return fmt.Errorf("%w: tensor %q has shape %v", ErrManifest, e.Name, e.Shape)
			}
		}
		if e.Length != e.Elements()*es {
			return fmt.Errorf("%w: tensor %q %v %s needs %d bytes, manifest says %d", ErrManifest, e.Name, e.Shape, e.DType, e.Elements()*es, e.Length)
		}
		if e.Chunk < 0 || e.Chunk >= len(m.Chunks) {
			return fmt.Errorf("%w: tensor %q in chunk %d of %d", ErrManifest, e.Name, e.Chunk, len(m.Chunks))
		}
		c := m.Chunks[e.Chunk]
		if e.Offset < 0 || e.Offset+e.Length > c.Size {
			return fmt.Errorf("%w: tensor %q at bytes [%d, %d) is out of bounds of chunk %s (%d bytes)", ErrManifest, e.Name, e.Offset, e.Offset+e.Length, c.File, c.Size)
		}
		if e.DType == Int8 && (len(e.Shape) == 0 || len(e.Scales) != e.Shape[len(e.Shape)-1]) {
			return fmt.Errorf("%w: int8 tensor %q has %d scales for shape %v", ErrManifest, e.Name, len(e.Scales), e.Shape)
		}
	}
	switch m.Input.Resize {
	case "", "half_pixel", "align_corners", "asymmetric":
	default:
		return fmt.Errorf("%w: input resize %q: want half_pixel, align_corners or asymmetric", ErrManifest, m.Input.Resize)
	}
	switch m.Output {
	case "", Logits, Probabilities, Map, Features:
	default:
		return fmt.Errorf("%w: output %q: want %s, %s, %s or %s", ErrManifest, m.Output, Logits, Probabilities, Map, Features)
	}
	if len(m.Outputs) > 0 && m.Output != "" && m.Outputs[0].Kind != "" && m.Outputs[0].Kind != m.Output {
		return fmt.Errorf("%w: output %q but outputs[0] %q is %q", ErrManifest, m.Output, m.Outputs[0].Name, m.Outputs[0].Kind)
	}
	for _, ps := range []struct {
		what  string
		ports []Port
	}{{"inputs", m.Inputs}, {"outputs", m.Outputs}} {
		for i, p := range ps.ports {
			if err := p.validate(ps.what == "outputs"); err != nil {
				return fmt.Errorf("%w: %s[%d] %q: %v", ErrManifest, ps.what, i, p.Name, err)
			}
		}
	}
	for _, c := range m.Chunks {
		if len(c.SHA256) != 64 || c.Size < 0 || c.File == "" {
			return fmt.Errorf("%w: chunk %q has size %d and sha256 %q", ErrManifest, c.File, c.Size, c.SHA256)
		}
	}
	return nil
}

// Parse decodes and validates manifest.json.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks a port's shape and permutation.
func (p *Port) validate(output bool) error {
	if p.Name == "" {
		return fmt.Errorf("no name")
	}
	switch p.Kind {
	case "":
	case Logits, Probabilities, Map, Features:
		if !output {
			return fmt.Errorf("an input has no kind")
		}
	default:
		return fmt.Errorf("kind %q: want %s, %s, %s or %s", p.Kind, Logits, Probabilities, Map, Features)
	}
	if len(p.Shape) > 8 {
		return fmt.Errorf("rank %d", len(p.Shape))
	}
	for _, d := range p.Shape {
		if d == 0 || d < -1 {
			return fmt.Errorf("shape %v: extents are positive or -1", p.Shape)
		}
	}
	if p.Perm != nil {
		if len(p.Perm) != len(p.Shape) {
			return fmt.Errorf("perm %v for shape %v", p.Perm, p.Shape)
		}
		seen := make([]bool, len(p.Perm))
		for _, a := range p.Perm {
			if a < 0 || a >= len(p.Perm) || seen[a] {
				return fmt.Errorf("perm %v is not a permutation", p.Perm)
			}
			seen[a] = true
		}
	}
	return nil
}

// LayoutName names the axes of an image-like tensor of the given rank
// (2 to 5): channels first "NC", "NCW", "NCHW", "NCDHW", or channels
// last "NC", "NWC", "NHWC", "NDHWC"; "" for other ranks.
func LayoutName(rank int, channelsFirst bool) string {
	spatial := map[int]string{2: "", 3: "W", 4: "HW", 5: "DHW"}
	s, ok := spatial[rank]
	switch {
	case !ok:
		return ""
	case channelsFirst:
		return "NC" + s
	}
	return "N" + s + "C"
}
