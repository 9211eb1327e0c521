package tfjs

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"webcnn/core/graph"
)

// layer is a Keras layer's class, name and config.
type layer struct {
	class, name string
	cfg         map[string]json.RawMessage
}

func newLayer(kl *kerasLayer) (*layer, error) {
	l := &layer{class: kl.ClassName, name: kl.Name, cfg: kl.Config}
	if l.cfg == nil {
		l.cfg = map[string]json.RawMessage{}
	}
	if l.name == "" {
		var n string
		if err := json.Unmarshal(l.cfg["name"], &n); err != nil || n == "" {
			return nil, fmt.Errorf("tfjs: a %s layer has no name", l.class)
		}
		l.name = n
	}
	return l, nil
}

func (l *layer) errorf(format string, args ...any) error {
	return fmt.Errorf("tfjs: layer %q (%s): %s", l.name, l.class, fmt.Sprintf(format, args...))
}

// has reports a non-null config entry.
func (l *layer) has(k string) bool {
	raw, ok := l.cfg[k]
	return ok && strings.TrimSpace(string(raw)) != "null"
}

// get decodes a config entry into v, leaving v alone when absent or null.
func (l *layer) get(k string, v any) error {
	if !l.has(k) {
		return nil
	}
	if err := json.Unmarshal(l.cfg[k], v); err != nil {
		return l.errorf("%s: %v", k, err)
	}
	return nil
}

// ints reads an int or a list of n ints (Keras's kernel_size: 3 or [3, 3]).
func (l *layer) ints(k string, n int, def int) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		out[i] = def
	}
	if !l.has(k) {
		return out, nil
	}
	var one int
	if err := json.Unmarshal(l.cfg[k], &one); err == nil {
		for i := range out {
			out[i] = one
		}
		return out, nil
	}
	var list []int
	if err := json.Unmarshal(l.cfg[k], &list); err != nil || len(list) != n {
		return nil, l.errorf("%s %s: want an int or %d ints", k, clip(l.cfg[k]), n)
	}
	return list, nil
}

func (l *layer) str(k, def string) (string, error) {
	s := def
	err := l.get(k, &s)
	return s, err
}

func (l *layer) boolean(k string, def bool) (bool, error) {
	b := def
	err := l.get(k, &b)
	return b, err
}

// float reads a number that must fit a float32 (attributes are float32).
func (l *layer) float(k string, def float64) (float64, error) {
	f := def
	if err := l.get(k, &f); err != nil {
		return 0, err
	}
	if math.Abs(f) > math.MaxFloat32 {
		return 0, l.errorf("%s %g is out of float32 range", k, f)
	}
	return f, nil
}

// channelsLast rejects channels_first data.
func (l *layer) channelsLast() error {
	f, err := l.str("data_format", "channels_last")
	if err != nil {
		return err
	}
	if f != "channels_last" {
		return l.errorf("data_format %q: only channels_last is supported", f)
	}
	return nil
}

// layerFunc translates one call of a layer on graph values ins, writing
// its result to out (or returning an input for identity layers); it
// returns the value that holds the layer's output. Values a layer needs on
// the way are named out#something: Keras names cannot hold '#'.
type layerFunc func(c *converter, l *layer, ins []string, out string) (string, error)

// layerFuncs maps Keras class names to their translation.
var layerFuncs = map[string]layerFunc{
	"Conv1D": convLayer(1), "Conv2D": convLayer(2), "Conv3D": convLayer(3),
	"DepthwiseConv2D": depthwiseLayer, "SeparableConv2D": separableLayer,
	"Dense":              denseLayer,
	"BatchNormalization": batchNormLayer,
	"Activation":         activationLayer,
	"ReLU":               reluLayer, "LeakyReLU": leakyReLULayer, "ELU": eluLayer, "Softmax": softmaxLayer,
	"Add": binaryLayer("add"), "Subtract": binaryLayer("sub"), "Multiply": binaryLayer("mul"),
	"Maximum": binaryLayer("max"), "Minimum": binaryLayer("min"), "Average": averageLayer,
	"Concatenate":   concatLayer,
	"ZeroPadding1D": zeroPadLayer(1), "ZeroPadding2D": zeroPadLayer(2), "ZeroPadding3D": zeroPadLayer(3),
	"Cropping1D": cropLayer(1), "Cropping2D": cropLayer(2), "Cropping3D": cropLayer(3),
	"MaxPooling1D": poolLayer("max", 1), "MaxPooling2D": poolLayer("max", 2), "MaxPooling3D": poolLayer("max", 3),
	"AveragePooling1D": poolLayer("avg", 1), "AveragePooling2D": poolLayer("avg", 2), "AveragePooling3D": poolLayer("avg", 3),
	"GlobalAveragePooling1D": globalPoolLayer("global_avg_pool"), "GlobalAveragePooling2D": globalPoolLayer("global_avg_pool"),
	"GlobalAveragePooling3D": globalPoolLayer("global_avg_pool"), "GlobalMaxPooling1D": globalPoolLayer("global_max_pool"),
	"GlobalMaxPooling2D": globalPoolLayer("global_max_pool"), "GlobalMaxPooling3D": globalPoolLayer("global_max_pool"),
	"Flatten": flattenLayer, "Reshape": reshapeLayer, "Permute": permuteLayer,
	"Rescaling": rescalingLayer,
	// Identity in inference.
	"Dropout": identityLayer, "SpatialDropout1D": identityLayer, "SpatialDropout2D": identityLayer,
	"SpatialDropout3D": identityLayer, "GaussianNoise": identityLayer, "GaussianDropout": identityLayer,
	"AlphaDropout": identityLayer, "ActivityRegularization": identityLayer,
}

// layer translates one call.
func (c *converter) layer(l *layer, ins []string, out string) (string, error) {
	f, ok := layerFuncs[l.class]
	if !ok {
		names := make([]string, 0, len(layerFuncs))
		for n := range layerFuncs {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", l.errorf("unsupported layer class (have %s)", strings.Join(names, ", "))
	}
	if len(ins) == 0 {
		return "", l.errorf("no inputs")
	}
	v, err := f(c, l, ins, out)
	if err != nil {
		return "", err
	}
	if _, ok := c.rank[v]; !ok {
		c.rank[v] = 0
	}
	return v, nil
}

// single checks a one-input layer.
func single(l *layer, ins []string) error {
	if len(ins) != 1 {
		return l.errorf("%d inputs, want 1", len(ins))
	}
	return nil
}

// step is one IR node of a lowered activation.
type step struct {
	op    string
	attrs any
}

// activationSteps lowers a Keras activation name as TF.js computes it:
// nil for linear.
func activationSteps(name string) ([]step, error) {
	act := func(op string, a, b float32) step { return step{"act", graph.Act{Op: op, Alpha: a, Beta: b}} }
	switch name {
	case "", "linear":
		return nil, nil
	case "relu", "relu6", "sigmoid", "tanh", "elu", "gelu", "exp":
		if name == "elu" {
			return []step{act("elu", 1, 0)}, nil
		}
		return []step{act(name, 0, 0)}, nil
	case "exponential":
		return []step{act("exp", 0, 0)}, nil
	case "swish", "silu":
		return []step{act("silu", 0, 0)}, nil
	case "gelu_new":
		return []step{act("gelu_tanh", 0, 0)}, nil
	case "softmax":
		return []step{{"softmax", graph.Axis(-1)}}, nil
	case "selu": // scale * elu(x, alpha), TF.js's constants
		return []step{act("elu", 1.6732632423543772, 0), act("affine", 1.0507009873554805, 0)}, nil
	case "hard_sigmoid": // TF.js and Keras 2: clip(0.2x + 0.5, 0, 1)
		return []step{act("affine", 0.2, 0.5), act("clip", 0, 1)}, nil
	}
	return nil, fmt.Errorf("unsupported activation %q", name)
}

// activation reads a layer's "activation" entry.
func (l *layer) activation() ([]step, error) {
	a, err := l.str("activation", "linear")
	if err != nil {
		return nil, err
	}
	steps, err := activationSteps(a)
	if err != nil {
		return nil, l.errorf("%v", err)
	}
	return steps, nil
}

// fused returns the activation to fuse into a conv or dense (nil when
// there is none or it takes more than one unary op) and the steps left.
func fused(steps []step) (*graph.Act, []step) {
	if len(steps) == 1 && steps[0].op == "act" {
		a := steps[0].attrs.(graph.Act)
		return &a, nil
	}
	return nil, steps
}

// chain emits steps from in, the last one writing out; with no steps it
// returns in.
func (c *converter) chain(steps []step, name, in, out string) string {
	if len(steps) == 0 {
		return in
	}
	x := in
	for i, s := range steps {
		y := out
		if i < len(steps)-1 {
			y = fmt.Sprintf("%s#%s%d", out, s.op, i)
		}
		c.emit(s.op, name, []string{x}, y, s.attrs)
		c.rank[y] = c.rank[in]
		x = y
	}
	return out
}

// windowAttrs reads strides, dilation and padding of a conv or pool of d
// spatial axes.
func (l *layer) window(d int, strideKey string, strideDef []int) (stride, dilation []int, pad string, err error) {
	if stride, err = l.ints(strideKey, d, 1); err != nil {
		return
	}
	if strideDef != nil && !l.has(strideKey) {
		stride = strideDef
	}
	if dilation, err = l.ints("dilation_rate", d, 1); err != nil {
		return
	}
	if pad, err = l.str("padding", "valid"); err != nil {
		return
	}
	switch pad {
	case "valid":
		pad = ""
	case "same":
	case "causal":
		if d != 1 {
			err = l.errorf("causal padding needs a 1-D layer")
		}
	default:
		err = l.errorf("padding %q: want valid or same", pad)
	}
	if err == nil {
		err = l.channelsLast()
	}
	return
}

// ones returns nil when every entry is 1 (the IR's default).
func ones(s []int) []int {
	for _, v := range s {
		if v != 1 {
			return s
		}
	}
	return nil
}

// convAttrs builds the IR attributes of a conv of kernel k.
func convAttrs(k, stride, dilation []int, pad string, groups int, act *graph.Act) graph.ConvAttrs {
	a := graph.ConvAttrs{Stride: ones(stride), Dilation: ones(dilation), Pad: pad, Groups: groups, Act: act}
	if groups == 1 {
		a.Groups = 0
	}
	if pad == "causal" { // all of the receptive field before
		a.Pad = ""
		a.PadBefore, a.PadAfter = []int{dilation[0] * (k[0] - 1)}, []int{0}
	}
	return a
}

// bias returns the layer's bias tensor name, or nothing without use_bias.
func (c *converter) bias(l *layer, n int) ([]string, error) {
	use, err := l.boolean("use_bias", true)
	if err != nil || !use {
		return nil, err
	}
	b, err := c.weight(l, "bias")
	if err != nil {
		return nil, err
	}
	if len(b.spec.Shape) != 1 || b.spec.Shape[0] != n {
		return nil, l.errorf("bias %v, want [%d]", b.spec.Shape, n)
	}
	return []string{c.tensor(b.spec.Name, b.spec.Shape, b.data)}, nil
}

func convLayer(d int) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if err := single(l, ins); err != nil {
			return "", err
		}
		stride, dilation, pad, err := l.window(d, "strides", nil)
		if err != nil {
			return "", err
		}
		groups := 1
		if err := l.get("groups", &groups); err != nil {
			return "", err
		}
		w, err := c.weight(l, "kernel")
		if err != nil {
			return "", err
		}
		ws := w.spec.Shape
		if len(ws) != d+2 || groups < 1 {
			return "", l.errorf("kernel %v (groups %d): want rank %d [K..., Cin/groups, Cout]", ws, groups, d+2)
		}
		b, err := c.bias(l, ws[d+1])
		if err != nil {
			return "", err
		}
		steps, err := l.activation()
		if err != nil {
			return "", err
		}
		act, rest := fused(steps)
		y := out
		if len(rest) > 0 {
			y = out + "#conv"
		}
		in := append([]string{ins[0], c.tensor(w.spec.Name, ws, w.data)}, b...)
		c.emit("conv", l.name, in, y, convAttrs(ws[:d], stride, dilation, pad, groups, act))
		c.rank[y] = c.rank[ins[0]]
		return c.chain(rest, l.name, y, out), nil
	}
}

// depthwise emits a depthwise conv from the layer's depthwise_kernel
// [kh, kw, Cin, mult], stored as [kh, kw, 1, Cin*mult] with Cin groups.
func (c *converter) depthwise(l *layer, in, out string, bias []string, act *graph.Act) (int, error) {
	stride, dilation, pad, err := l.window(2, "strides", nil)
	if err != nil {
		return 0, err
	}
	w, err := c.weight(l, "depthwise_kernel")
	if err != nil {
		return 0, err
	}
	ws := w.spec.Shape
	if len(ws) != 4 {
		return 0, l.errorf("depthwise kernel %v: want [kh, kw, Cin, multiplier]", ws)
	}
	mult := 1
	if err := l.get("depth_multiplier", &mult); err != nil {
		return 0, err
	}
	if mult != ws[3] {
		return 0, l.errorf("depth_multiplier %d, kernel %v", mult, ws)
	}
	if bias != nil {
		b := c.ws[bias[0]]
		if b == nil || len(b.spec.Shape) != 1 || b.spec.Shape[0] != ws[2]*ws[3] {
			return 0, l.errorf("bias for depthwise kernel %v must be [%d]", ws, ws[2]*ws[3])
		}
	}
	shape := []int{ws[0], ws[1], 1, ws[2] * ws[3]}
	name := c.tensor(w.spec.Name, shape, w.data)
	c.emit("conv", l.name, append([]string{in, name}, bias...), out, convAttrs(ws[:2], stride, dilation, pad, ws[2], act))
	c.rank[out] = c.rank[in]
	return ws[2] * ws[3], nil
}

func depthwiseLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	use, err := l.boolean("use_bias", true)
	if err != nil {
		return "", err
	}
	var bias []string
	if use {
		b, err := c.weight(l, "bias")
		if err != nil {
			return "", err
		}
		bias = []string{c.tensor(b.spec.Name, b.spec.Shape, b.data)}
	}
	steps, err := l.activation()
	if err != nil {
		return "", err
	}
	act, rest := fused(steps)
	y := out
	if len(rest) > 0 {
		y = out + "#conv"
	}
	if _, err := c.depthwise(l, ins[0], y, bias, act); err != nil {
		return "", err
	}
	return c.chain(rest, l.name, y, out), nil
}

func separableLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	mid := out + "#depthwise"
	n, err := c.depthwise(l, ins[0], mid, nil, nil)
	if err != nil {
		return "", err
	}
	pw, err := c.weight(l, "pointwise_kernel")
	if err != nil {
		return "", err
	}
	ps := pw.spec.Shape
	if len(ps) != 4 || ps[0] != 1 || ps[1] != 1 || ps[2] != n {
		return "", l.errorf("pointwise kernel %v: want [1, 1, %d, filters]", ps, n)
	}
	b, err := c.bias(l, ps[3])
	if err != nil {
		return "", err
	}
	steps, err := l.activation()
	if err != nil {
		return "", err
	}
	act, rest := fused(steps)
	y := out
	if len(rest) > 0 {
		y = out + "#conv"
	}
	in := append([]string{mid, c.tensor(pw.spec.Name, ps, pw.data)}, b...)
	c.emit("conv", l.name+"/pointwise", in, y, graph.ConvAttrs{Act: act})
	c.rank[y] = c.rank[ins[0]]
	return c.chain(rest, l.name, y, out), nil
}

func denseLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	w, err := c.weight(l, "kernel")
	if err != nil {
		return "", err
	}
	ws := w.spec.Shape
	if len(ws) != 2 {
		return "", l.errorf("kernel %v: want [In, units]", ws)
	}
	b, err := c.bias(l, ws[1])
	if err != nil {
		return "", err
	}
	steps, err := l.activation()
	if err != nil {
		return "", err
	}
	act, rest := fused(steps)
	y := out
	if len(rest) > 0 {
		y = out + "#dense"
	}
	in := append([]string{ins[0], c.tensor(w.spec.Name, ws, w.data)}, b...)
	c.emit("dense", l.name, in, y, graph.DenseAttrs{Act: act})
	c.rank[y] = c.rank[ins[0]]
	return c.chain(rest, l.name, y, out), nil
}

// batchNormLayer keeps the four statistics as named tensors; a layer
// without center or scale gets beta 0 or gamma 1 under its Keras name.
func batchNormLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	var axes []int
	var one int
	if err := json.Unmarshal(l.cfg["axis"], &one); err == nil {
		axes = []int{one}
	} else if err := l.get("axis", &axes); err != nil || len(axes) == 0 {
		axes = []int{-1}
	}
	r := c.rank[ins[0]]
	if len(axes) != 1 || !(axes[0] == -1 || (r > 0 && axes[0] == r-1)) {
		return "", l.errorf("axis %v: only the channels (last) axis is supported", axes)
	}
	eps, err := l.float("epsilon", 1e-3)
	if err != nil {
		return "", err
	}
	mean, err := c.weight(l, "moving_mean")
	if err != nil {
		return "", err
	}
	variance, err := c.weight(l, "moving_variance")
	if err != nil {
		return "", err
	}
	ch := mean.spec.Shape
	if len(ch) != 1 {
		return "", l.errorf("moving_mean %v: want [C]", ch)
	}
	param := func(flag, suffix string, def float32) (string, error) {
		on, err := l.boolean(flag, true)
		if err != nil {
			return "", err
		}
		if on {
			w, err := c.weight(l, suffix)
			if err != nil {
				return "", err
			}
			return c.tensor(w.spec.Name, w.spec.Shape, w.data), nil
		}
		v := make([]float32, ch[0])
		for i := range v {
			v[i] = def
		}
		return c.tensor(l.name+"/"+suffix, ch, v), nil
	}
	gamma, err := param("scale", "gamma", 1)
	if err != nil {
		return "", err
	}
	beta, err := param("center", "beta", 0)
	if err != nil {
		return "", err
	}
	in := []string{ins[0], gamma, beta, c.tensor(mean.spec.Name, mean.spec.Shape, mean.data),
		c.tensor(variance.spec.Name, variance.spec.Shape, variance.data)}
	c.emit("batch_norm", l.name, in, out, graph.Eps(float32(eps)))
	c.rank[out] = r
	return out, nil
}

func activationLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	steps, err := l.activation()
	if err != nil {
		return "", err
	}
	c.rank[out] = c.rank[ins[0]]
	return c.chain(steps, l.name, ins[0], out), nil
}

func reluLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	var maxValue *float64
	if l.has("max_value") {
		v, err := l.float("max_value", 0)
		if err != nil {
			return "", err
		}
		maxValue = &v
	}
	slope, err := l.float("negative_slope", 0)
	if err != nil {
		return "", err
	}
	threshold, err := l.float("threshold", 0)
	if err != nil {
		return "", err
	}
	var a graph.Act
	switch {
	case threshold != 0 || (slope != 0 && maxValue != nil):
		return "", l.errorf("threshold %g with negative_slope %g and max_value %v is not supported", threshold, slope, maxValue)
	case slope != 0:
		a = graph.Act{Op: "leaky_relu", Alpha: float32(slope)}
	case maxValue == nil:
		a = graph.Act{Op: "relu"}
	case *maxValue == 6:
		a = graph.Act{Op: "relu6"}
	default:
		a = graph.Act{Op: "clip", Alpha: 0, Beta: float32(*maxValue)}
	}
	c.rank[out] = c.rank[ins[0]]
	return c.chain([]step{{"act", a}}, l.name, ins[0], out), nil
}

func leakyReLULayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	alpha, err := l.float("alpha", 0.3)
	if err != nil {
		return "", err
	}
	if l.has("negative_slope") { // Keras 3
		if alpha, err = l.float("negative_slope", 0.3); err != nil {
			return "", err
		}
	}
	c.rank[out] = c.rank[ins[0]]
	return c.chain([]step{{"act", graph.Act{Op: "leaky_relu", Alpha: float32(alpha)}}}, l.name, ins[0], out), nil
}

func eluLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	alpha, err := l.float("alpha", 1)
	if err != nil {
		return "", err
	}
	c.rank[out] = c.rank[ins[0]]
	return c.chain([]step{{"act", graph.Act{Op: "elu", Alpha: float32(alpha)}}}, l.name, ins[0], out), nil
}

func softmaxLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	axis := -1
	if err := l.get("axis", &axis); err != nil {
		var axes []int // Keras 3 may write [-1]
		if l.get("axis", &axes) != nil || len(axes) != 1 {
			return "", err
		}
		axis = axes[0]
	}
	c.emit("softmax", l.name, ins, out, graph.Axis(axis))
	c.rank[out] = c.rank[ins[0]]
	return out, nil
}

// binaryLayer folds a merge layer's inputs left to right.
func binaryLayer(op string) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if len(ins) < 2 {
			return "", l.errorf("%d inputs, want at least 2", len(ins))
		}
		if op == "sub" && len(ins) != 2 {
			return "", l.errorf("%d inputs, want 2", len(ins))
		}
		return c.fold(l, op, ins, out), nil
	}
}

// fold emits ins[0] op ins[1] op ... into out.
func (c *converter) fold(l *layer, op string, ins []string, out string) string {
	x := ins[0]
	for i, y := range ins[1:] {
		z := out
		if i < len(ins)-2 {
			z = fmt.Sprintf("%s#%s%d", out, op, i)
		}
		c.emit(op, l.name, []string{x, y}, z, nil)
		c.rank[z] = max(c.rank[x], c.rank[y])
		x = z
	}
	return out
}

func averageLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if len(ins) < 2 {
		return "", l.errorf("%d inputs, want at least 2", len(ins))
	}
	sum := c.fold(l, "add", ins, out+"#sum")
	k := float32(1 / float64(len(ins)))
	return c.chain([]step{{"act", graph.Act{Op: "affine", Alpha: k}}}, l.name, sum, out), nil
}

func concatLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	axis := -1
	if err := l.get("axis", &axis); err != nil {
		return "", err
	}
	c.emit("concat", l.name, ins, out, graph.Axis(axis))
	c.rank[out] = c.rank[ins[0]]
	return out, nil
}

// padding reads a ZeroPadding/Cropping amount: an int, one int per axis
// (both sides), or a [before, after] pair per axis.
func (l *layer) padding(k string, d int) (before, after []int, err error) {
	before, after = make([]int, d), make([]int, d)
	raw := l.cfg[k]
	var one int
	if json.Unmarshal(raw, &one) == nil {
		for i := range before {
			before[i], after[i] = one, one
		}
	} else {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, nil, l.errorf("%s %s: want an int or a list", k, clip(raw))
		}
		if d == 1 && len(list) == 2 { // Keras 1-D: (before, after)
			if json.Unmarshal(list[0], &before[0]) != nil || json.Unmarshal(list[1], &after[0]) != nil {
				return nil, nil, l.errorf("%s %s", k, clip(raw))
			}
			list = nil
		} else if len(list) != d {
			return nil, nil, l.errorf("%s %s: want %d entries", k, clip(raw), d)
		}
		for i, e := range list {
			var pair []int
			if json.Unmarshal(e, &one) == nil {
				before[i], after[i] = one, one
			} else if json.Unmarshal(e, &pair) == nil && len(pair) == 2 {
				before[i], after[i] = pair[0], pair[1]
			} else {
				return nil, nil, l.errorf("%s %s: entry %d", k, clip(raw), i)
			}
		}
	}
	for i := range before {
		if before[i] < 0 || after[i] < 0 {
			return nil, nil, l.errorf("%s %v/%v: negative", k, before, after)
		}
	}
	return before, after, l.channelsLast()
}

func zeroPadLayer(d int) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if err := single(l, ins); err != nil {
			return "", err
		}
		b, a, err := l.padding("padding", d)
		if err != nil {
			return "", err
		}
		pad := graph.PadAttrs{Before: append(append([]int{0}, b...), 0), After: append(append([]int{0}, a...), 0)}
		c.emit("pad", l.name, ins, out, pad)
		c.rank[out] = d + 2
		return out, nil
	}
}

func cropLayer(d int) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if err := single(l, ins); err != nil {
			return "", err
		}
		b, a, err := l.padding("cropping", d)
		if err != nil {
			return "", err
		}
		s := graph.SliceAttrs{}
		for i := 0; i < d; i++ {
			end := math.MaxInt32
			if a[i] > 0 {
				end = -a[i]
			}
			s.Axes, s.Starts, s.Ends = append(s.Axes, 1+i), append(s.Starts, b[i]), append(s.Ends, end)
		}
		c.emit("slice", l.name, ins, out, s)
		c.rank[out] = d + 2
		return out, nil
	}
}

func poolLayer(op string, d int) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if err := single(l, ins); err != nil {
			return "", err
		}
		size, err := l.ints("pool_size", d, 2)
		if err != nil {
			return "", err
		}
		stride, _, pad, err := l.window(d, "strides", size)
		if err != nil {
			return "", err
		}
		if pad == "causal" {
			return "", l.errorf("causal pooling is not supported")
		}
		a := graph.PoolAttrs{Op: op, Kernel: size, Pad: pad}
		for i := range size {
			if stride[i] != size[i] {
				a.Stride = stride
			}
		}
		c.emit("pool", l.name, ins, out, a)
		c.rank[out] = c.rank[ins[0]]
		return out, nil
	}
}

// globalPoolLayer pools over space; without keepdims (the default) the
// result is flattened to [N, C] as in Keras.
func globalPoolLayer(op string) layerFunc {
	return func(c *converter, l *layer, ins []string, out string) (string, error) {
		if err := single(l, ins); err != nil {
			return "", err
		}
		if err := l.channelsLast(); err != nil {
			return "", err
		}
		keep, err := l.boolean("keepdims", false)
		if err != nil {
			return "", err
		}
		if keep {
			c.emit(op, l.name, ins, out, nil)
			c.rank[out] = c.rank[ins[0]]
			return out, nil
		}
		c.emit(op, l.name, ins, out+"#pool", nil)
		c.emit("flatten", l.name+"/flatten", []string{out + "#pool"}, out, nil)
		c.rank[out] = 2
		return out, nil
	}
}

func flattenLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	if err := l.channelsLast(); err != nil {
		return "", err
	}
	c.emit("flatten", l.name, ins, out, nil)
	c.rank[out] = 2
	return out, nil
}

func reshapeLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	var target []int
	if err := l.get("target_shape", &target); err != nil || len(target) == 0 {
		return "", l.errorf("target_shape %s", clip(l.cfg["target_shape"]))
	}
	for _, d := range target {
		if d == 0 || d < -1 {
			return "", l.errorf("target_shape %v", target)
		}
	}
	c.emit("reshape", l.name, ins, out, graph.ReshapeAttrs{Shape: append([]int{0}, target...)})
	c.rank[out] = len(target) + 1
	return out, nil
}

func permuteLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	var dims []int
	if err := l.get("dims", &dims); err != nil || len(dims) == 0 {
		return "", l.errorf("dims %s", clip(l.cfg["dims"]))
	}
	c.emit("transpose", l.name, ins, out, graph.TransposeAttrs{Perm: append([]int{0}, dims...)})
	c.rank[out] = len(dims) + 1
	return out, nil
}

func rescalingLayer(c *converter, l *layer, ins []string, out string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	scale, err := l.float("scale", 1)
	if err != nil {
		return "", l.errorf("scale %s: only a scalar scale is supported", clip(l.cfg["scale"]))
	}
	offset, err := l.float("offset", 0)
	if err != nil {
		return "", l.errorf("offset %s: only a scalar offset is supported", clip(l.cfg["offset"]))
	}
	c.rank[out] = c.rank[ins[0]]
	return c.chain([]step{{"act", graph.Act{Op: "affine", Alpha: float32(scale), Beta: float32(offset)}}}, l.name, ins[0], out), nil
}

func identityLayer(_ *converter, l *layer, ins []string, _ string) (string, error) {
	if err := single(l, ins); err != nil {
		return "", err
	}
	return ins[0], nil
}
