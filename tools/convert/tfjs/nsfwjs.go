package tfjs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"webcnn/core/data"
	"webcnn/core/weights"
)

// NSFWJS models shipped in the npm package nsfwjs (4.x), by the name of
// their directory under dist/models.
var NSFWJS = []string{"mobilenet_v2", "mobilenet_v2_mid", "inception_v3"}

// ImportNSFWJS imports one of the models of the nsfwjs package at pkg
// (node_modules/nsfwjs) and completes what model.json does not say, from
// the package's own source (dist/esm/core.js and nsfw_classes.js):
//
//   - input: RGB pixels divided by 255 (NSFWJS.infer: img.toFloat().div(255));
//     images of another size are resized with bilinear interpolation,
//     align_corners true (tf.image.resizeBilinear(..., true));
//   - labels: NSFW_CLASSES, {0: 'Drawing', 1: 'Hentai', 2: 'Neutral',
//     3: 'Porn', 4: 'Sexy'} in 4.4.0.
func ImportNSFWJS(pkg, model string) (*weights.Manifest, []weights.Tensor, error) {
	m, ts, err := Import(filepath.Join(pkg, "dist", "models", model))
	if err != nil {
		return nil, nil, fmt.Errorf("nsfwjs %s: %w", model, err)
	}
	labels, err := nsfwjsLabels(pkg)
	if err != nil {
		return nil, nil, err
	}
	m.Model = "nsfwjs-" + model
	m.Labels = labels
	if m.Input.Shape == nil {
		return nil, nil, fmt.Errorf("nsfwjs %s: the model does not declare its input size", model)
	}
	m.Input.ChannelOrder = "RGB"
	m.Input.Scale = 1.0 / 255
	m.Input.Resize = data.AlignCorners.String()
	return m, ts, nil
}

// nsfwjsLabels reads NSFW_CLASSES from the package's source.
func nsfwjsLabels(pkg string) ([]string, error) {
	var lastErr error
	for _, f := range []string{"dist/esm/nsfw_classes.js", "dist/cjs/nsfw_classes.js", "src/nsfw_classes.ts"} {
		src, err := os.ReadFile(filepath.Join(pkg, filepath.FromSlash(f)))
		if err != nil {
			lastErr = err
			continue
		}
		v, err := assignedValue(string(src), "NSFW_CLASSES")
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", f, err)
			continue
		}
		return indexedLabels(v)
	}
	return nil, fmt.Errorf("nsfwjs: classes: %w", lastErr)
}

// indexedLabels turns {0: 'a', 1: 'b'} into [a b].
func indexedLabels(v any) ([]string, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("nsfwjs: classes %v: want {index: name}", v)
	}
	idx := make([]int, 0, len(m))
	for k := range m {
		i, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("nsfwjs: class key %q is not an index", k)
		}
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]string, len(idx))
	for i, k := range idx {
		s, ok := m[strconv.Itoa(k)].(string)
		if k != i || !ok {
			return nil, fmt.Errorf("nsfwjs: classes %v: want names for 0..%d", v, len(m)-1)
		}
		out[i] = s
	}
	return out, nil
}
