//go:build !(js && wasm)

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
	"webcnn/tools/convert/tfjs"
)

// The models the browser runs, as manifest + chunks under one directory
// (default build/webgpu-models), each in a subdirectory named by its id.
const (
	// NSFWJSModel is nsfwjs's Keras MobileNetV2 (224x224, 5 classes),
	// imported from node_modules/nsfwjs as a graph with f32 weights
	// (the uint8-quantized TF.js weights dequantized as TF.js does).
	NSFWJSModel = "nsfwjs-mobilenet_v2"
	// NSFWJSGraphModel is nsfwjs's MobileNetV2 x1.4, a TF.js graph model
	// (224x224, 5 classes), imported the same way.
	NSFWJSGraphModel = "nsfwjs-mobilenet_v2_mid"
	// NSFWJSReference names the file beside the models that holds the
	// generated test images and TF.js's probabilities for each nsfwjs
	// model (webgpu's TestNSFWJS compares with them).
	NSFWJSReference = "nsfwjs-reference.json"
	// ResNetModel is the zoo's ResNet-18 (224x224, 1000 classes) with the
	// seeded He-random weights of nn.NewBuilder(cpu, ResNetSeed): timing
	// does not depend on the values, and TF.js gets the same ones.
	ResNetModel = "resnet18"
	ResNetSeed  = 7
)

// nsfwjsReference is the NSFWJSReference file.
type nsfwjsReference struct {
	Images []string `json:"images"` // names of the generated images
	Size   int      `json:"size"`
	// Input is the file (beside this one) of the images as float32,
	// little-endian, NHWC [len(Images), Size, Size, 3], pixels/255.
	Input string `json:"input"`
	// Probabilities are TF.js 4.22's (wasm backend) by model id, [image][class].
	Probabilities map[string][][]float32 `json:"probabilities"`
}

// prepareNSFWJS imports nsfwjs's MobileNetV2 (layers model) and
// MobileNetV2 x1.4 (graph model) from root/node_modules into
// dir/nsfwjs-mobilenet_v2 and dir/nsfwjs-mobilenet_v2_mid, and runs TF.js
// on generated images for the reference.
func prepareNSFWJS(root, dir string) error {
	pkg := filepath.Join(root, "node_modules", "nsfwjs")
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
		return fmt.Errorf("nsfwjs is missing (npm install --ignore-scripts at the repository root): %w", err)
	}
	const size = 224
	imgs, names := nsfwjsImages(size)
	ref := nsfwjsReference{Images: names, Size: size, Input: "nsfwjs-images.f32", Probabilities: map[string][][]float32{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	in := filepath.Join(dir, ref.Input)
	if err := writeF32(in, imgs); err != nil {
		return err
	}
	for _, c := range []struct{ id, model string }{{NSFWJSModel, "mobilenet_v2"}, {NSFWJSGraphModel, "mobilenet_v2_mid"}} {
		start := time.Now()
		m, ts, err := tfjs.ImportNSFWJS(pkg, c.model)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, c.id)
		if err := weights.WriteModel(out, weights.WriterOptions{}, m, ts, nil); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "prepare: %s: %d tensors into %s (%v)\n", c.id, len(ts), out, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		probs, err := runTFJS(root, filepath.Join(pkg, "dist", "models", c.model, "model.min.js"), in, []int{len(names), size, size, 3})
		if err != nil {
			return fmt.Errorf("%s: TF.js reference: %w", c.id, err)
		}
		classes := len(probs) / len(names)
		for i := range names {
			ref.Probabilities[c.id] = append(ref.Probabilities[c.id], probs[i*classes:(i+1)*classes])
		}
		fmt.Fprintf(os.Stderr, "prepare: %s: TF.js probabilities of %d images (%v)\n", c.id, len(names), time.Since(start).Round(time.Millisecond))
	}
	b, err := json.MarshalIndent(ref, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, NSFWJSReference), b, 0o644)
}

// runTFJS runs a TF.js model on the input file (float32, dims) with
// tools/convert/tfjs/testdata/tfjs_run.mjs on TF.js's wasm backend.
func runTFJS(root, model, in string, dims []int) ([]float32, error) {
	out, _, err := runTFJSWith(root, "wasm", model, in, dims, nil)
	if err == nil && (len(out) == 0 || len(out)%dims[0] != 0) {
		err = fmt.Errorf("%d output values for %d images", len(out), dims[0])
	}
	return out, err
}

// runTFJSWith runs a TF.js model on a backend (cpu or wasm) and returns
// the values of the named output nodes (nil: the model's output), one
// after the other, and their shapes.
func runTFJSWith(root, backend, model, in string, dims []int, outputs []string) ([]float32, [][]int, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.CreateTemp("", "tfjs-*.f32")
	if err != nil {
		return nil, nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ds := make([]string, len(dims))
	for i, d := range dims {
		ds[i] = strconv.Itoa(d)
	}
	args := []string{filepath.Join(root, "tools", "convert", "tfjs", "testdata", "tfjs_run.mjs"), model, in, strings.Join(ds, ","), tmp.Name()}
	if outputs != nil {
		args = append(args, strings.Join(outputs, ","))
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "TFJS_BACKEND="+backend)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	var shapes [][]int
	if outputs != nil {
		if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &shapes); err != nil {
			return nil, nil, fmt.Errorf("tfjs_run.mjs: output shapes %q: %w", stdout.String(), err)
		}
	}
	raw, err := os.ReadFile(tmp.Name())
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, shapes, nil
}

func writeF32(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return os.WriteFile(path, b, 0o644)
}

// nsfwjsImages returns generated RGB images of size x size in 0..1, NHWC
// (pixels/255 as nsfwjs feeds them, quantized as 8-bit images are): coloured
// shapes on a background, and a smooth interference pattern.
func nsfwjsImages(size int) ([]float32, []string) {
	names := []string{"shapes", "waves"}
	out := make([]float32, 0, len(names)*size*size*3)
	for k := range names {
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				fx, fy := float64(x)/float64(size-1), float64(y)/float64(size-1)
				var r, g, b float64
				switch k {
				case 0:
					r, g, b = 0.2, 0.5, 0.3
					if dx, dy := fx-0.35, fy-0.4; dx*dx+dy*dy < 0.04 {
						r, g, b = 0.9, 0.1, 0.1
					}
					if fx > 0.55 && fx < 0.9 && fy > 0.55 && fy < 0.85 {
						r, g, b = 0.1, 0.2, 0.9
					}
				case 1:
					r = 0.5 + 0.5*math.Sin(fx*12+fy*3)
					g = 0.5 + 0.5*math.Sin(fy*9-fx*4)
					b = 0.5 + 0.5*math.Cos((fx+fy)*7)
				}
				for _, v := range []float64{r, g, b} {
					out = append(out, float32(math.Round(v*255))/255)
				}
			}
		}
	}
	return out, names
}

// prepareResNet writes the zoo's ResNet-18 with seeded weights into
// dir/resnet18.
func prepareResNet(dir string) error {
	start := time.Now()
	spec, err := models.Lookup(ResNetModel)
	if err != nil {
		return err
	}
	net, err := spec.New(nn.NewBuilder(cpu.New(), ResNetSeed))
	if err != nil {
		return err
	}
	var ts []weights.Tensor
	for _, p := range net.Params() {
		v, err := p.T.Data()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", spec.ID, p.Name, err)
		}
		ts = append(ts, weights.Tensor{Name: p.Name, Shape: p.T.Shape(), Data: v})
	}
	man := &weights.Manifest{Model: spec.ID, Arch: &weights.Arch{ID: spec.ID, Config: map[string]any{"classes": spec.Classes}},
		Input:  weights.Input{Shape: spec.Input, ChannelOrder: "RGB", Scale: 1.0 / 255},
		Output: "logits"}
	out := filepath.Join(dir, ResNetModel)
	if err := weights.WriteModel(out, weights.WriterOptions{}, man, ts, nil); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepare: %s: %d tensors (seed %d) into %s (%v)\n", ResNetModel, len(ts), ResNetSeed, out, time.Since(start).Round(time.Millisecond))
	return nil
}
