package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/models"
)

// inputFlags collects repeated --input NAME=FILE.npy flags.
type inputFlags []string

func (f *inputFlags) String() string     { return strings.Join(*f, " ") }
func (f *inputFlags) Set(v string) error { *f = append(*f, v); return nil }

// predict classifies an image or a raw tensor with a converted model, or
// runs the graph on named .npy inputs and writes every output as .npy.
func predict(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	dir := fs.String("model", "", "model directory (manifest.json and chunks)")
	image := fs.String("image", "", "image file (PNG, JPEG, GIF, WebP): decoded and preprocessed as the manifest says")
	raw := fs.String("raw", "", "little-endian float32 input already in the model's NHWC input shape (no preprocessing)")
	var inputs inputFlags
	fs.Var(&inputs, "input", "NAME=FILE.npy: a graph input by name, in the source framework's layout (NCHW for ONNX); repeat for each input (FILE.npy alone for a model of one input)")
	out := fs.String("out", "", "directory to write every output into as NAME.npy, in the source framework's layout (needed with --input and for models whose output is a map)")
	topk := fs.Int("topk", 5, "number of classes to print")
	asJSON := fs.Bool("json", false, `print {"output":[...], "top":[{"label","index","prob"}]} (NaN and infinities as the strings "NaN", "Infinity", "-Infinity"); with --out, {"outputs":[{"name","shape","layout","kind","file"}]}`)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnn predict --model DIR (--image FILE | --raw FILE.f32 | --input NAME=FILE.npy...) [--out DIR] [--topk 5] [--json]")
		fs.PrintDefaults()
	}
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	sources := 0
	for _, s := range []bool{*image != "", *raw != "", len(inputs) > 0} {
		if s {
			sources++
		}
	}
	if *dir == "" || sources != 1 {
		fs.Usage()
		return fmt.Errorf("predict: need --model and exactly one of --image, --raw and --input")
	}
	if len(inputs) > 0 && *out == "" {
		return fmt.Errorf("predict: --input needs --out DIR to write the outputs into")
	}
	m, err := weights.Load(context.Background(), os.DirFS(*dir), ".", weights.LoadOptions{})
	if err != nil {
		return err
	}
	b := cpu.New()
	net, err := models.Build(b, m)
	if err != nil {
		return err
	}
	if net, _, err = models.FoldForInference(net); err != nil {
		return err
	}
	man := m.Manifest
	inPorts, outPorts := models.Ports(man, net)
	var xs [][]float32
	var shapes [][]int
	switch {
	case len(inputs) > 0:
		if xs, shapes, err = readInputs(inputs, inPorts); err != nil {
			return fmt.Errorf("predict %s: %w", man.Model, err)
		}
	default:
		if len(inPorts) != 1 {
			return fmt.Errorf("predict %s: the model takes %d inputs (%s): give each with --input NAME=FILE.npy", man.Model, len(inPorts), portNames(inPorts))
		}
		if len(man.Input.Shape) == 0 {
			return fmt.Errorf("predict %s: the manifest has no input size (converted without --input-size): give the input with --input FILE.npy", man.Model)
		}
		var x []float32
		if *raw != "" {
			x, err = readRaw(*raw, core.Shape(man.Input.Shape).Size())
		} else {
			x, err = preprocess(*image, man.Input)
		}
		if err != nil {
			return err
		}
		xs, shapes = [][]float32{x}, [][]int{man.Input.Shape}
	}
	ys, yshapes, err := models.RunAll(b, net, xs, shapes)
	if err != nil {
		return fmt.Errorf("predict %s: %w", man.Model, err)
	}
	if *out != "" {
		return writeOutputs(w, *out, outPorts, ys, yshapes, *asJSON)
	}
	top, err := models.Classify(man, ys[0], *topk)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(w).Encode(struct {
			Output models.JSONFloats `json:"output"`
			Top    []models.Class    `json:"top"`
		}{ys[0], top})
	}
	for _, c := range top {
		fmt.Fprintf(w, "%-24s %5d  %.4f\n", c.Label, c.Index, c.Prob)
	}
	return nil
}

// readInputs reads every graph input from --input NAME=FILE.npy flags
// (a bare FILE.npy for a model of one input) and transposes each from the
// source's layout into the runtime's, in the order of the graph's inputs.
func readInputs(flags []string, ports []weights.Port) ([][]float32, [][]int, error) {
	files := map[string]string{}
	for _, f := range flags {
		name, file, ok := strings.Cut(f, "=")
		if !ok {
			if len(ports) != 1 {
				return nil, nil, fmt.Errorf("--input %q: the model takes %d inputs (%s): write NAME=FILE.npy", f, len(ports), portNames(ports))
			}
			name, file = ports[0].Name, f
		}
		known := false
		for _, p := range ports {
			known = known || p.Name == name
		}
		if !known {
			return nil, nil, fmt.Errorf("--input %q: the model has no input %q (its inputs: %s)", f, name, portNames(ports))
		}
		if _, dup := files[name]; dup {
			return nil, nil, fmt.Errorf("--input: input %q given twice", name)
		}
		files[name] = file
	}
	xs, shapes := make([][]float32, len(ports)), make([][]int, len(ports))
	for i, p := range ports {
		file, ok := files[p.Name]
		if !ok {
			return nil, nil, fmt.Errorf("no --input for input %q %v%s (its inputs: %s)", p.Name, p.Shape, " "+p.Layout, portNames(ports))
		}
		v, shape, err := readNPY(file)
		if err != nil {
			return nil, nil, err
		}
		if xs[i], shapes[i], err = models.ToRuntime(p, v, shape); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return xs, shapes, nil
}

// writeOutputs writes each output, transposed into the source's layout,
// as DIR/NAME.npy and lists what it wrote.
func writeOutputs(w io.Writer, dir string, ports []weights.Port, ys [][]float32, shapes [][]int, asJSON bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type written struct {
		Name   string `json:"name"`
		Shape  []int  `json:"shape"`
		Layout string `json:"layout,omitempty"`
		Kind   string `json:"kind,omitempty"`
		File   string `json:"file"`
	}
	var list []written
	used := map[string]bool{}
	for i, y := range ys {
		p := weights.Port{Name: fmt.Sprintf("output%d", i)}
		if i < len(ports) {
			p = ports[i]
		}
		v, shape := models.FromRuntime(p, y, shapes[i])
		base := fileName(p.Name)
		for k := 2; used[base]; k++ {
			base = fmt.Sprintf("%s_%d", fileName(p.Name), k)
		}
		used[base] = true
		file := filepath.Join(dir, base+".npy")
		if err := writeNPY(file, v, shape); err != nil {
			return err
		}
		list = append(list, written{p.Name, shape, p.Layout, p.Kind, file})
	}
	if asJSON {
		return json.NewEncoder(w).Encode(struct {
			Outputs []written `json:"outputs"`
		}{list})
	}
	for _, o := range list {
		fmt.Fprintf(w, "%-24s %v %s %s -> %s\n", o.Name, o.Shape, o.Layout, o.Kind, o.File)
	}
	return nil
}

// fileName makes a value name safe as a file name (ONNX names hold / and :).
func fileName(name string) string {
	s := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
	if s == "" || s == "." || s == ".." {
		s = "output"
	}
	return s
}

func portNames(ps []weights.Port) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = fmt.Sprintf("%s %v", p.Name, p.Shape)
		if p.Layout != "" {
			names[i] += " " + p.Layout
		}
	}
	return strings.Join(names, ", ")
}

// readRaw reads n little-endian float32 values.
func readRaw(path string, n int) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 4*n {
		return nil, fmt.Errorf("raw input %s: %d bytes, the model's input needs %d float32 (%d bytes)", path, len(b), n, 4*n)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x, nil
}

// preprocess decodes an image and applies the manifest's input spec.
func preprocess(path string, in weights.Input) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := data.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return models.Preprocess(img, in)
}
