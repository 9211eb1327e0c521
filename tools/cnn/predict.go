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

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// predict classifies an image or a raw tensor with a converted model.
func predict(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	dir := fs.String("model", "", "model directory (manifest.json and chunks)")
	image := fs.String("image", "", "image file (PNG, JPEG, GIF, WebP): decoded and preprocessed as the manifest says")
	raw := fs.String("raw", "", "little-endian float32 input already in the model's NHWC input shape (no preprocessing)")
	topk := fs.Int("topk", 5, "number of classes to print")
	asJSON := fs.Bool("json", false, `print {"output":[...], "top":[{"label","index","prob"}]}`)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnn predict --model DIR (--image FILE | --raw FILE.f32) [--topk 5] [--json]")
		fs.PrintDefaults()
	}
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *dir == "" || (*image == "") == (*raw == "") {
		fs.Usage()
		return fmt.Errorf("predict: need --model and exactly one of --image and --raw")
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
	in := m.Manifest.Input
	var x []float32
	if *raw != "" {
		x, err = readRaw(*raw, core.Shape(in.Shape).Size())
	} else {
		x, err = preprocess(*image, in)
	}
	if err != nil {
		return err
	}
	t, err := core.FromData(b, core.Shape(in.Shape), x)
	if err != nil {
		return err
	}
	y, err := net.Forward(nn.Eval, t)
	if err != nil {
		return fmt.Errorf("predict %s: %w", m.Manifest.Model, err)
	}
	out, err := y.Data()
	if err != nil {
		return err
	}
	top := models.Top(out, m.Manifest.Output != "probabilities", m.Manifest.Labels, *topk)
	if *asJSON {
		return json.NewEncoder(w).Encode(struct {
			Output []float32      `json:"output"`
			Top    []models.Class `json:"top"`
		}{out, top})
	}
	for _, c := range top {
		fmt.Fprintf(w, "%-24s %5d  %.4f\n", c.Label, c.Index, c.Prob)
	}
	return nil
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
