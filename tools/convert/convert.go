package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"webcnn/core"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/onnximport"
	"webcnn/tools/convert/pytorch"
	"webcnn/tools/convert/safetensors"
	"webcnn/tools/convert/tfjs"
	"webcnn/tools/convert/zoomap"
)

// options are the command line's, after parsing; the zero value of an
// input field means "the architecture's default".
type options struct {
	From, Arch, In, Out string
	Name                string // the manifest's model id ("": the arch)
	DType               string // f32, f16 or int8
	Chunk               int64  // bytes per chunk file (0: 4 MiB)
	Labels              string // file with one label per line
	Preset              string // a known graph model's preprocessing and labels
	InputSize           int    // height and width (0: the zoo's)
	InputWidth          int    // width when it differs from the height (0: InputSize)
	Mean, Std           []float32
	Scale, Offset       *float32
	ChannelOrder        string
	Force               bool // replace a non-empty --out
	// Progress receives progress bars (nil: none); Log the final summary
	// line (nil: none).
	Progress, Log io.Writer
}

// convert reads o.In, maps it onto the architecture, and writes the
// manifest and chunks into o.Out (atomically: nothing appears there on
// failure).
func convert(o options) error {
	from, err := format(o, o.Log)
	if err != nil {
		return err
	}
	o.From = from
	if err := prepareOut(o.Out, o.Force); err != nil {
		return err
	}
	m, ts, err := load(o)
	if err != nil {
		return truncation(o.In, err)
	}
	if o.Name != "" {
		m.Model = o.Name
	}
	if o.Labels != "" {
		if m.Labels, err = readLabels(o.Labels, classes(m)); err != nil {
			return err
		}
	}
	dtype := weights.DType(o.DType)
	if dtype == "" {
		dtype = weights.F32
	}
	var progress func(done, total int)
	if o.Progress != nil {
		bar := progressbar.NewOptions(len(ts), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("writing "+o.Out), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
		progress = func(done, _ int) { _ = bar.Set(done) }
		defer bar.Finish()
	}
	out := o.Out
	if _, err := os.Stat(o.Out); err == nil && o.Force {
		// Written beside the old model, then swapped in whole.
		stage, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Out)), ".convert-new-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(stage)
		out = filepath.Join(stage, "model")
	}
	if err := weights.WriteModel(out, weights.WriterOptions{ChunkSize: o.Chunk, DType: dtype}, m, ts, progress); err != nil {
		return err
	}
	if out != o.Out {
		if err := replace(out, o.Out); err != nil {
			return err
		}
	}
	if o.Log != nil {
		var n, bytes int64
		for _, t := range m.Tensors {
			n += t.Elements()
			bytes += t.Length
		}
		fmt.Fprintf(o.Log, "%s: %s -> %s: %d tensors, %d values, %d chunks, %.1f MB (%s)\n",
			m.Model, o.In, o.Out, len(m.Tensors), n, len(m.Chunks), float64(bytes)/1e6, dtype)
	}
	return nil
}

func classes(m *weights.Manifest) int {
	if m.Arch != nil {
		if c, ok := m.Arch.Config["classes"].(int); ok {
			return c
		}
	}
	return 0
}

// load reads the input into a manifest (without tensors and chunks) and
// the tensors in our layouts.
func load(o options) (*weights.Manifest, []weights.Tensor, error) {
	switch o.From {
	case "pytorch", "safetensors":
		if o.Preset != "" {
			return nil, nil, fmt.Errorf("--preset is for ONNX and TF.js models; %s is a %s file", o.In, o.From)
		}
		return loadZoo(o)
	case "onnx", "tfjs":
		return loadGraph(o)
	}
	return nil, nil, fmt.Errorf("--from %q: want pytorch, safetensors, onnx or tfjs", o.From)
}

// loadZoo reads a state_dict and maps it onto a zoo architecture.
func loadZoo(o options) (*weights.Manifest, []weights.Tensor, error) {
	if o.Arch == "" {
		return nil, nil, fmt.Errorf("--from %s needs --arch (one of the zoo: cnn models)", o.From)
	}
	spec, err := models.Lookup(o.Arch)
	if err != nil {
		return nil, nil, err
	}
	in, err := inputSpec(defaultInput(spec), spec.Input[3], o)
	if err != nil {
		return nil, nil, err
	}
	sum, err := models.Summarize(spec, core.Shape(in.Shape))
	if err != nil {
		return nil, nil, fmt.Errorf("--input-size %d: %w", in.Shape[1], err)
	}
	raw, err := readTensors(o)
	if err != nil {
		return nil, nil, err
	}
	ts, err := zoomap.FromTorch(spec, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.In, err)
	}
	m := &weights.Manifest{
		Model:  spec.ID,
		Arch:   &weights.Arch{ID: spec.ID, Config: map[string]any{"classes": spec.Classes}},
		Input:  in,
		Output: weights.Logits,
		Memory: weights.Memory{ParamBytes: sum.ParamBytes(), ActivationBytes: sum.ActivationBytes()},
	}
	m.Inputs, m.Outputs = models.ZooPorts(in.Shape, spec.Classes)
	return m, ts, nil
}

// loadGraph imports an ONNX or TF.js model as a graph. A preset
// (onnximport.Presets, or nsfwjs for TF.js) supplies what the file does
// not record: preprocessing, labels and, for ONNX graphs of dynamic size,
// the input size; the input flags then apply on top.
func loadGraph(o options) (*weights.Manifest, []weights.Tensor, error) {
	var m *weights.Manifest
	var ts []weights.Tensor
	var err error
	switch o.From {
	case "onnx":
		var b []byte
		if b, err = os.ReadFile(o.In); err != nil {
			return nil, nil, err
		}
		opts := onnximport.Options{Name: strings.TrimSuffix(filepath.Base(o.In), filepath.Ext(o.In))}
		var preset *onnximport.Preset
		if o.Preset != "" {
			p, ok := onnximport.Presets[o.Preset]
			if !ok {
				return nil, nil, fmt.Errorf("--preset %q: want one of %v for --from onnx", o.Preset, presetIDs())
			}
			preset, opts = &p, p.Options
		}
		if o.InputSize > 0 {
			opts.Height, opts.Width = o.InputSize, o.InputSize
			if o.InputWidth > 0 {
				opts.Width = o.InputWidth
			}
		}
		if m, ts, err = onnximport.ImportWith(b, opts); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.In, err)
		}
		if in := m.Input.Shape; o.InputSize > 0 && (len(in) != 4 || in[1] != opts.Height || in[2] != opts.Width) {
			return nil, nil, fmt.Errorf("--input-size %dx%d: the graph's input is fixed at %v", opts.Height, opts.Width, in)
		}
		if preset != nil {
			if err := preset.Apply(m); err != nil {
				return nil, nil, err
			}
		}
	case "tfjs":
		var opts tfjs.Options
		if o.InputSize > 0 {
			opts.Height, opts.Width = o.InputSize, o.InputSize
			if o.InputWidth > 0 {
				opts.Width = o.InputWidth
			}
			if o.Preset != "" {
				return nil, nil, fmt.Errorf("--input-size: the preset %s fixes the input size", o.Preset)
			}
		}
		switch o.Preset {
		case "":
			if m, ts, err = tfjs.ImportWith(o.In, opts); err != nil && o.InputSize > 0 {
				err = fmt.Errorf("--input-size %dx%d: %w", opts.Height, opts.Width, err)
			}
		case "nsfwjs":
			// --in node_modules/nsfwjs/dist/models/<model>
			dir := filepath.Clean(o.In)
			m, ts, err = tfjs.ImportNSFWJS(filepath.Dir(filepath.Dir(filepath.Dir(dir))), filepath.Base(dir))
		default:
			return nil, nil, fmt.Errorf("--preset %q: want nsfwjs (or none) for --from tfjs", o.Preset)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	// The importer fixed the input size; the other input flags apply to
	// image inputs whose channel order is known (or given).
	if len(m.Input.Shape) == 4 && (m.Input.ChannelOrder != "" || o.ChannelOrder != "") {
		flags := o
		flags.InputSize = 0
		if m.Input, err = inputSpec(m.Input, m.Input.Shape[3], flags); err != nil {
			return nil, nil, err
		}
	}
	return m, ts, nil
}

func presetIDs() []string {
	ids := make([]string, 0, len(onnximport.Presets))
	for id := range onnximport.Presets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// readTensors reads the state_dict file, with a progress bar over its bytes.
func readTensors(o options) ([]weights.Tensor, error) {
	f, err := os.Open(o.In)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var r io.ReaderAt = f
	if o.Progress != nil {
		bar := progressbar.NewOptions64(fi.Size(), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("reading "+filepath.Base(o.In)), progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
		defer bar.Finish()
		r = countingReader{f, bar}
	}
	if o.From == "safetensors" {
		ts, _, err := safetensors.Read(r, fi.Size(), o.In)
		return ts, err
	}
	return pytorch.Read(r, fi.Size(), o.In)
}

// countingReader advances a progress bar by the bytes read.
type countingReader struct {
	r   io.ReaderAt
	bar *progressbar.ProgressBar
}

func (c countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	_ = c.bar.Add(n)
	return n, err
}

// ImageNet's per-channel statistics (torchvision's transforms for every
// ImageNet-1K model).
var (
	imagenetMean = []float32{0.485, 0.456, 0.406}
	imagenetStd  = []float32{0.229, 0.224, 0.225}
)

// defaultInput is an architecture's preprocessing: one channel: GRAY
// scaled to 0..1 (LeNet-5 on MNIST); models from Keras applications
// (MobileNet v1, Xception): RGB scaled to -1..1; the rest (torchvision and
// timm): RGB scaled to 0..1 and normalized with ImageNet's mean and std.
func defaultInput(spec models.Spec) weights.Input {
	in := weights.Input{Shape: spec.Input.Clone(), ChannelOrder: "RGB", Scale: 1.0 / 255}
	switch {
	case spec.Input[3] == 1:
		in.ChannelOrder = "GRAY"
	case strings.Contains(spec.Paper, "Keras"):
		in.Scale, in.Offset = 1/127.5, -1
	default:
		in.Mean, in.Std = imagenetMean, imagenetStd
	}
	return in
}

// inputSpec applies the input flags to base for a model of c channels.
func inputSpec(base weights.Input, c int, o options) (weights.Input, error) {
	in := base
	if o.InputSize > 0 {
		w := o.InputSize
		if o.InputWidth > 0 {
			w = o.InputWidth
		}
		in.Shape = []int{1, o.InputSize, w, c}
	}
	if o.ChannelOrder != "" {
		in.ChannelOrder = strings.ToUpper(o.ChannelOrder)
	}
	if o.Scale != nil {
		in.Scale = *o.Scale
	}
	if o.Offset != nil {
		in.Offset = *o.Offset
	}
	if o.Mean != nil {
		in.Mean = o.Mean
	}
	if o.Std != nil {
		in.Std = o.Std
	}
	switch {
	case in.ChannelOrder == "GRAY" && c != 1, (in.ChannelOrder == "RGB" || in.ChannelOrder == "BGR") && c != 3:
		return in, fmt.Errorf("--channel-order %s for a model of %d input channels", in.ChannelOrder, c)
	case in.ChannelOrder != "GRAY" && in.ChannelOrder != "RGB" && in.ChannelOrder != "BGR":
		return in, fmt.Errorf("--channel-order %q: want RGB, BGR or GRAY", in.ChannelOrder)
	case len(in.Mean) != len(in.Std) || (len(in.Mean) != 0 && len(in.Mean) != c):
		return in, fmt.Errorf("--mean %v and --std %v: want %d values each (or none)", in.Mean, in.Std, c)
	}
	for _, s := range in.Std {
		if s <= 0 {
			return in, fmt.Errorf("--std %v: must be positive", in.Std)
		}
	}
	return in, nil
}

// readLabels reads one label per line (trailing empty lines ignored);
// with n > 0 there must be exactly n.
func readLabels(name string, n int) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--labels: %w", err)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if lines[i] = strings.TrimSpace(l); lines[i] == "" {
			return nil, fmt.Errorf("--labels: %s: line %d is empty", name, i+1)
		}
	}
	if n > 0 && len(lines) != n {
		return nil, fmt.Errorf("--labels: %s has %d labels, the model %d classes", name, len(lines), n)
	}
	return lines, nil
}

// parseSize reads a byte count: 4194304, 4MiB, 512KiB, 1GiB, 4MB, 500kB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<40 {
		return 0, fmt.Errorf("size %q: want a positive byte count such as 4MiB", s)
	}
	return int64(n * float64(mult)), nil
}

// parseFloats reads "0.485,0.456,0.406".
func parseFloats(s string) ([]float32, error) {
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := parseFloat(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// parseFloat reads a number or a fraction ("1/255").
func parseFloat(s string) (float32, error) {
	s = strings.TrimSpace(s)
	num, den, frac := strings.Cut(s, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if frac {
		b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
		if err != nil || b == 0 {
			return 0, fmt.Errorf("%q is not a fraction", s)
		}
		a /= b
	}
	return float32(a), nil
}
