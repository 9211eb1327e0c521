package onnx

import (
	"fmt"
	"math"

	"webcnn/core"
	"webcnn/core/nn"
)

// Opset is the version of the default ONNX operator set that Export
// targets: 17, the first with LayerNormalization (GELU, which arrived in
// opset 20, is decomposed with Erf).
const Opset = 17

// Export returns the ONNX encoding of layer tree l for inputs of shape in
// (NHWC, our layout). The graph input "input" is NHWC float32; a Transpose
// turns it to NCHW, the ONNX ops run in NCHW (transposing back only where
// our semantics are channels-last: Flatten, Linear, LayerNorm), and the
// graph output "output" has l's output shape in our layout ([N, classes]
// for the zoo). Weights become initializers named by layer path (conv
// weights transposed from HWIO to OIHW); fused activations become separate
// nodes. Layer types outside package nn export through Lowerer; any other
// type is an error naming the type and the layer's path.
//
// ONNX ops used (opset 17, all in onnxruntime's CPU provider): Transpose,
// Conv, BatchNormalization, Gemm, MatMul, Flatten, MaxPool, AveragePool,
// GlobalAveragePool, LRN, LayerNormalization, Concat, Add, Mul, Identity,
// and for activations Relu, Sigmoid, Tanh, LeakyRelu, Elu, Clip, Erf,
// HardSigmoid, HardSwish, Neg, Abs, Sqrt, Reciprocal, Exp, Log, Pow.
func Export(l nn.Layer, in core.Shape) ([]byte, error) {
	m, err := ExportModel(l, in)
	if err != nil {
		return nil, err
	}
	return m.Marshal(), nil
}

// ExportModel is Export before encoding.
func ExportModel(l nn.Layer, in core.Shape) (*Model, error) {
	if in.Rank() < 2 {
		return nil, fmt.Errorf("onnx export: input %v: want [N, ..., C]", in)
	}
	e := &exporter{
		g:      &Graph{Name: "webcnn"},
		used:   map[string]bool{"input": true, "output": true},
		consts: map[float32]string{},
		alt:    map[string]value{},
	}
	e.g.Input = []*ValueInfo{TensorInfo("input", i64s(in)...)}
	y, err := e.layer("", l, value{name: "input", shape: in.Clone()})
	if err != nil {
		return nil, err
	}
	y = e.toCL("", y)
	e.g.Node = append(e.g.Node, &Node{OpType: "Identity", Name: "output", Input: []string{y.name}, Output: []string{"output"}})
	e.g.Output = []*ValueInfo{TensorInfo("output", i64s(y.shape)...)}
	return &Model{
		IRVersion:    IRVersion,
		OpsetImport:  []OperatorSetID{{Version: Opset}},
		ProducerName: "webcnn",
		Graph:        e.g,
	}, nil
}

// value is a tensor of the graph being built: its name, its shape in our
// NHWC terms, and whether the graph holds it channels-first (NCHW).
// Rank-2 values ([N, features]) are never channels-first.
type value struct {
	name  string
	shape core.Shape
	cf    bool
}

// dims returns v's dims as the graph holds them.
func (v value) dims() []int64 {
	if !v.cf {
		return i64s(v.shape)
	}
	return i64s(permute(v.shape, toFirst(v.shape.Rank())))
}

type exporter struct {
	g      *Graph
	used   map[string]bool
	consts map[float32]string // scalar initializers by value
	alt    map[string]value   // the other layout of a value, by name
}

// fresh returns an unused value name derived from base.
func (e *exporter) fresh(base string) string {
	if base == "" {
		base = "param"
	}
	name := base
	for i := 2; e.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	e.used[name] = true
	return name
}

// node appends a node and returns its output, whose NHWC shape is shape
// and layout cf; its value info tells the runtime the shape we expect.
func (e *exporter) node(op, path string, shape core.Shape, cf bool, inputs []string, attrs ...*Attribute) value {
	base := op
	if path != "" {
		base = path + "/" + op
	}
	out := value{name: e.fresh(base), shape: shape.Clone(), cf: cf && shape.Rank() > 2}
	e.g.Node = append(e.g.Node, &Node{OpType: op, Name: out.name, Input: inputs, Output: []string{out.name}, Attribute: attrs})
	e.g.ValueInfo = append(e.g.ValueInfo, TensorInfo(out.name, out.dims()...))
	return out
}

// init adds a float initializer named after base and returns its name.
func (e *exporter) init(base string, dims []int64, v []float32) string {
	name := e.fresh(base)
	e.g.Initializer = append(e.g.Initializer, FloatTensor(name, dims, v))
	return name
}

// scalar returns the name of a scalar float initializer holding v.
func (e *exporter) scalar(v float32) string {
	if name, ok := e.consts[v]; ok {
		return name
	}
	name := e.init(fmt.Sprintf("const_%g", v), nil, []float32{v})
	e.consts[v] = name
	return name
}

// param adds a layer tensor as an initializer with the given dims.
func (e *exporter) param(path, name string, t *core.Tensor, dims []int64) (string, error) {
	d, err := t.Data()
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if dims == nil {
		dims = i64s(t.Shape())
	}
	return e.init(join(path, name), dims, d), nil
}

// toFirst is the permutation NHWC -> NCHW for rank r.
func toFirst(r int) []int {
	p := []int{0, r - 1}
	for i := 1; i < r-1; i++ {
		p = append(p, i)
	}
	return p
}

// toLast is the permutation NCHW -> NHWC for rank r.
func toLast(r int) []int {
	p := []int{0}
	for i := 2; i < r; i++ {
		p = append(p, i)
	}
	return append(p, 1)
}

// toCF returns x held channels-first, adding a Transpose if needed.
func (e *exporter) toCF(path string, x value) value {
	if x.cf || x.shape.Rank() < 3 {
		return x
	}
	if y, ok := e.alt[x.name]; ok {
		return y
	}
	y := e.node("Transpose", path, x.shape, true, []string{x.name}, IntsAttr("perm", i64s(toFirst(x.shape.Rank()))...))
	e.alt[x.name], e.alt[y.name] = y, x
	return y
}

// toCL returns x held channels-last, adding a Transpose if needed.
func (e *exporter) toCL(path string, x value) value {
	if !x.cf {
		return x
	}
	if y, ok := e.alt[x.name]; ok {
		return y
	}
	y := e.node("Transpose", path, x.shape, false, []string{x.name}, IntsAttr("perm", i64s(toLast(x.shape.Rank()))...))
	e.alt[x.name], e.alt[y.name] = y, x
	return y
}

// layer emits the nodes of l at the given path.
func (e *exporter) layer(path string, l nn.Layer, x value) (value, error) {
	var err error
	switch l := l.(type) {
	case nn.Sequential:
		for _, c := range l {
			if x, err = e.layer(join(path, c.Name), c.Layer, x); err != nil {
				return x, err
			}
		}
		return x, nil
	case *nn.Sequential:
		return e.layer(path, *l, x)
	case *nn.Residual:
		return e.residual(path, l, x)
	case nn.Concat:
		return e.concat(path, l, x)
	case *nn.Concat:
		return e.concat(path, *l, x)
	case *nn.SqueezeExcite:
		return e.squeezeExcite(path, l, x)
	case *nn.Conv:
		return e.conv(path, l, x)
	case *nn.BatchNorm:
		return e.batchNorm(path, l, x)
	case *nn.Linear:
		return e.linear(path, l, x)
	case *nn.Activation:
		return e.unary(path, x, l.F)
	case *nn.Pool:
		return e.pool(path, l.P, x)
	case nn.GlobalAvgPool, *nn.GlobalAvgPool:
		return e.globalAvgPool(path, x)
	case nn.Flatten, *nn.Flatten:
		return e.flatten(path, x), nil
	case *nn.Dropout, nn.Identity, *nn.Identity:
		return x, nil // identity in inference
	case *nn.LRN:
		return e.lrn(path, l, x)
	case *nn.LayerNorm:
		return e.layerNorm(path, l, x)
	case *nn.ChannelScale:
		return e.channelScale(path, l, x)
	}
	if lw, ok := l.(Lowerer); ok {
		return e.layer(path, lw.Lower(x.shape), x)
	}
	return x, fmt.Errorf("onnx export: layer %s: unsupported layer type %T", pathName(path), l)
}

// Lowerer is a layer type defined outside package nn (a model's own
// helper) that Export lowers to nn layers: Lower returns layers computing
// the same function for inputs of shape in, sharing l's parameter tensors
// and names. Example: Keras's max pool with "same" padding is an nn.Pool
// whose padding depends on the input size.
type Lowerer interface {
	nn.Layer
	Lower(in core.Shape) nn.Layer
}

func (e *exporter) residual(path string, r *nn.Residual, x value) (value, error) {
	y, err := e.layer(path, r.Body, x)
	if err != nil {
		return y, err
	}
	s := x
	if r.Shortcut != nil {
		if s, err = e.layer(join(path, r.ShortcutName), r.Shortcut, x); err != nil {
			return s, err
		}
	}
	if !y.shape.Equal(s.shape) {
		return y, fmt.Errorf("onnx export: residual %s: body gives %v, shortcut %v", pathName(path), y.shape, s.shape)
	}
	if y.cf {
		s = e.toCF(path, s)
	} else {
		s = e.toCL(path, s)
	}
	sum := e.node("Add", path, y.shape, y.cf, []string{y.name, s.name})
	return e.unary(path, sum, r.Post)
}

func (e *exporter) concat(path string, c nn.Concat, x value) (value, error) {
	if len(c) == 0 {
		return x, fmt.Errorf("onnx export: concat %s has no branches", pathName(path))
	}
	names := make([]string, len(c))
	var out core.Shape
	for i, b := range c {
		y, err := e.layer(join(path, b.Name), b.Layer, x)
		if err != nil {
			return y, err
		}
		y = e.toCF(path, y)
		if i == 0 {
			out = y.shape.Clone()
		} else {
			r := out.Rank()
			if y.shape.Rank() != r || !out[:r-1].Equal(y.shape[:r-1]) {
				return y, fmt.Errorf("onnx export: concat %s: branch %s gives %v, others %v", pathName(path), b.Name, y.shape, out)
			}
			out[r-1] += y.shape[r-1]
		}
		names[i] = y.name
	}
	// Channels are axis 1 both for NCHW maps and for [N, features].
	return e.node("Concat", path, out, out.Rank() > 2, names, IntAttr("axis", 1)), nil
}

func (e *exporter) squeezeExcite(path string, s *nn.SqueezeExcite, x value) (value, error) {
	x = e.toCF(path, x)
	g, err := e.globalAvgPool(path, x)
	if err != nil {
		return g, err
	}
	if g, err = e.conv(join(path, s.Name1), s.FC1, g); err != nil {
		return g, err
	}
	if g, err = e.conv(join(path, s.Name2), s.FC2, g); err != nil {
		return g, err
	}
	return e.node("Mul", path, x.shape, true, []string{x.name, g.name}), nil
}

func (e *exporter) conv(path string, c *nn.Conv, x value) (value, error) {
	if c.W == nil {
		return x, fmt.Errorf("onnx export: conv %s has no weights", pathName(path))
	}
	ws := c.W.Shape()
	d := ws.Rank() - 2
	p := c.P
	if c.Same {
		p = core.ConvPadding(c.P, x.shape, ws[:d], core.Same)
	}
	out, err := core.ConvShape(x.shape, ws, p)
	if err != nil {
		return x, fmt.Errorf("onnx export: conv %s: %w", pathName(path), err)
	}
	x = e.toCF(path, x)
	// HWIO [K1..Kd, I, O] -> OIHW [O, I, K1..Kd].
	w, err := c.W.Data()
	if err != nil {
		return x, fmt.Errorf("onnx export: conv %s: %w", pathName(path), err)
	}
	k, ci, co := ws.Size()/(ws[d]*ws[d+1]), ws[d], ws[d+1]
	oihw := make([]float32, len(w))
	for s := 0; s < k; s++ {
		for i := 0; i < ci; i++ {
			for o := 0; o < co; o++ {
				oihw[(o*ci+i)*k+s] = w[(s*ci+i)*co+o]
			}
		}
	}
	wdims := append([]int64{int64(co), int64(ci)}, i64s(ws[:d])...)
	inputs := []string{x.name, e.init(join(path, "weight"), wdims, oihw)}
	if c.B != nil {
		b, err := e.param(path, "bias", c.B, nil)
		if err != nil {
			return x, fmt.Errorf("onnx export: conv %s: %w", pathName(path), err)
		}
		inputs = append(inputs, b)
	}
	strides, dil := make([]int64, d), make([]int64, d)
	pads := make([]int64, 2*d)
	for i := 0; i < d; i++ {
		strides[i], dil[i] = int64(at(p.Stride, i, 1)), int64(at(p.Dilation, i, 1))
		pads[i], pads[d+i] = int64(at(p.PadBefore, i, 0)), int64(at(p.PadAfter, i, 0))
	}
	y := e.node("Conv", path, out, true, inputs,
		IntsAttr("kernel_shape", i64s(ws[:d])...), IntsAttr("strides", strides...),
		IntsAttr("dilations", dil...), IntsAttr("pads", pads...), IntAttr("group", int64(max(p.Groups, 1))))
	return e.unary(path, y, p.Act)
}

func (e *exporter) batchNorm(path string, n *nn.BatchNorm, x value) (value, error) {
	x = e.toCF(path, x)
	inputs := []string{x.name}
	for _, p := range []struct {
		name string
		t    *core.Tensor
	}{{"weight", n.Gamma}, {"bias", n.Beta}, {"running_mean", n.Mean}, {"running_var", n.Var}} {
		name, err := e.param(path, p.name, p.t, nil)
		if err != nil {
			return x, fmt.Errorf("onnx export: batch norm %s: %w", pathName(path), err)
		}
		inputs = append(inputs, name)
	}
	return e.node("BatchNormalization", path, x.shape, x.cf, inputs, FloatAttr("epsilon", n.Eps)), nil
}

// flatten views x as [N, rest] in our (channels-last) element order.
func (e *exporter) flatten(path string, x value) value {
	if x.shape.Rank() <= 2 {
		return x
	}
	if x.shape.Size() != x.shape[0]*x.shape[x.shape.Rank()-1] {
		// Spatial extents other than 1: NCHW and NHWC orders differ.
		x = e.toCL(path, x)
	}
	return e.node("Flatten", path, core.Shape{x.shape[0], x.shape.Size() / x.shape[0]}, false, []string{x.name}, IntAttr("axis", 1))
}

func (e *exporter) linear(path string, l *nn.Linear, x value) (value, error) {
	x = e.flatten(path, x)
	ws := l.W.Shape()
	if ws.Rank() != 2 || x.shape[1] != ws[0] {
		return x, fmt.Errorf("onnx export: linear %s: input %v, weights %v", pathName(path), x.shape, ws)
	}
	w, err := e.param(path, "weight", l.W, nil)
	if err != nil {
		return x, fmt.Errorf("onnx export: linear %s: %w", pathName(path), err)
	}
	out := core.Shape{x.shape[0], ws[1]}
	var y value
	if l.B != nil {
		b, err := e.param(path, "bias", l.B, nil)
		if err != nil {
			return x, fmt.Errorf("onnx export: linear %s: %w", pathName(path), err)
		}
		y = e.node("Gemm", path, out, false, []string{x.name, w, b})
	} else {
		y = e.node("MatMul", path, out, false, []string{x.name, w})
	}
	return e.unary(path, y, l.Act)
}

func (e *exporter) pool(path string, p core.Pool, x value) (value, error) {
	out, err := core.PoolShape(x.shape, p)
	if err != nil {
		return x, fmt.Errorf("onnx export: pool %s: %w", pathName(path), err)
	}
	x = e.toCF(path, x)
	d := len(p.Kernel)
	strides, pads := make([]int64, d), make([]int64, 2*d)
	for i := 0; i < d; i++ {
		strides[i] = int64(at(p.Stride, i, p.Kernel[i]))
		pads[i], pads[d+i] = int64(at(p.PadBefore, i, 0)), int64(at(p.PadAfter, i, 0))
	}
	attrs := []*Attribute{IntsAttr("kernel_shape", i64s(p.Kernel)...), IntsAttr("strides", strides...), IntsAttr("pads", pads...)}
	if p.CeilMode {
		attrs = append(attrs, IntAttr("ceil_mode", 1))
	}
	op := "MaxPool"
	if p.Op == core.AvgPool {
		op = "AveragePool"
		if p.CountIncludePad {
			attrs = append(attrs, IntAttr("count_include_pad", 1))
		}
	}
	return e.node(op, path, out, true, []string{x.name}, attrs...), nil
}

func (e *exporter) globalAvgPool(path string, x value) (value, error) {
	if x.shape.Rank() < 3 {
		return x, fmt.Errorf("onnx export: global pool %s: input %v has no spatial axes", pathName(path), x.shape)
	}
	x = e.toCF(path, x)
	out := x.shape.Clone()
	for i := 1; i < out.Rank()-1; i++ {
		out[i] = 1
	}
	return e.node("GlobalAveragePool", path, out, true, []string{x.name}), nil
}

func (e *exporter) lrn(path string, n *nn.LRN, x value) (value, error) {
	// ONNX's window is [c - floor((size-1)/2), c + ceil((size-1)/2)]; ours
	// (PyTorch's) is [c - floor(size/2), c + floor((size-1)/2)]: they agree
	// for odd sizes only. Both divide alpha by size.
	if n.Size%2 == 0 {
		return x, fmt.Errorf("onnx export: lrn %s: even size %d centres its window differently in ONNX", pathName(path), n.Size)
	}
	x = e.toCF(path, x)
	return e.node("LRN", path, x.shape, true, []string{x.name}, IntAttr("size", int64(n.Size)),
		FloatAttr("alpha", n.Alpha), FloatAttr("beta", n.Beta), FloatAttr("bias", n.Bias)), nil
}

func (e *exporter) layerNorm(path string, n *nn.LayerNorm, x value) (value, error) {
	k := n.Gamma.Shape().Rank()
	if k == 0 || k >= x.shape.Rank() {
		return x, fmt.Errorf("onnx export: layer norm %s: gamma %v for input %v", pathName(path), n.Gamma.Shape(), x.shape)
	}
	x = e.toCL(path, x)
	g, err := e.param(path, "weight", n.Gamma, nil)
	if err != nil {
		return x, fmt.Errorf("onnx export: layer norm %s: %w", pathName(path), err)
	}
	b, err := e.param(path, "bias", n.Beta, nil)
	if err != nil {
		return x, fmt.Errorf("onnx export: layer norm %s: %w", pathName(path), err)
	}
	return e.node("LayerNormalization", path, x.shape, false, []string{x.name, g, b},
		IntAttr("axis", int64(-k)), FloatAttr("epsilon", n.Eps)), nil
}

func (e *exporter) channelScale(path string, s *nn.ChannelScale, x value) (value, error) {
	gs := s.Gamma.Shape()
	var dims []int64
	if x.cf && gs.Rank() == 1 {
		// [C] broadcast against NCHW: [C, 1, ..., 1].
		dims = []int64{int64(gs[0])}
		for i := 2; i < x.shape.Rank(); i++ {
			dims = append(dims, 1)
		}
	} else {
		x = e.toCL(path, x)
	}
	g, err := e.param(path, "", s.Gamma, dims)
	if err != nil {
		return x, fmt.Errorf("onnx export: scale %s: %w", pathName(path), err)
	}
	return e.node("Mul", path, x.shape, x.cf, []string{x.name, g}), nil
}

// unary emits an elementwise function; GELU, SiLU and the others ONNX 17
// lacks are composed of its ops.
func (e *exporter) unary(path string, x value, f core.Unary) (value, error) {
	op1 := func(op string, in value, attrs ...*Attribute) value {
		return e.node(op, path, in.shape, in.cf, []string{in.name}, attrs...)
	}
	op2 := func(op string, a value, b string) value {
		return e.node(op, path, a.shape, a.cf, []string{a.name, b})
	}
	switch f.Op {
	case core.Identity:
		return x, nil
	case core.Affine:
		return op2("Add", op2("Mul", x, e.scalar(f.Alpha)), e.scalar(f.Beta)), nil
	case core.Neg:
		return op1("Neg", x), nil
	case core.Abs:
		return op1("Abs", x), nil
	case core.Square:
		return op2("Mul", x, x.name), nil
	case core.Sqrt:
		return op1("Sqrt", x), nil
	case core.Rsqrt:
		return op1("Reciprocal", op1("Sqrt", x)), nil
	case core.Recip:
		return op1("Reciprocal", x), nil
	case core.Exp:
		return op1("Exp", x), nil
	case core.Log:
		return op1("Log", x), nil
	case core.Pow:
		return op2("Pow", x, e.scalar(f.Alpha)), nil
	case core.Sigmoid:
		return op1("Sigmoid", x), nil
	case core.Tanh:
		return op1("Tanh", x), nil
	case core.ReLU:
		return op1("Relu", x), nil
	case core.LeakyReLU:
		return op1("LeakyRelu", x, FloatAttr("alpha", f.Alpha)), nil
	case core.ELU:
		return op1("Elu", x, FloatAttr("alpha", f.Alpha)), nil
	case core.ReLU6:
		return e.node("Clip", path, x.shape, x.cf, []string{x.name, e.scalar(0), e.scalar(6)}), nil
	case core.Clip:
		return e.node("Clip", path, x.shape, x.cf, []string{x.name, e.scalar(f.Alpha), e.scalar(f.Beta)}), nil
	case core.GELU:
		// x/2 * (1 + erf(x/sqrt 2))
		t := op2("Add", op1("Erf", op2("Mul", x, e.scalar(float32(1/math.Sqrt2)))), e.scalar(1))
		return op2("Mul", op2("Mul", x, t.name), e.scalar(0.5)), nil
	case core.GELUTanh:
		// x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
		x3 := op2("Mul", op2("Mul", x, x.name), x.name)
		in := op2("Add", op2("Mul", x3, e.scalar(0.044715)), x.name)
		t := op2("Add", op1("Tanh", op2("Mul", in, e.scalar(float32(math.Sqrt(2/math.Pi))))), e.scalar(1))
		return op2("Mul", op2("Mul", x, t.name), e.scalar(0.5)), nil
	case core.SiLU:
		return op2("Mul", x, op1("Sigmoid", x).name), nil
	case core.HardSigmoid:
		// relu6(x+3)/6 = max(0, min(1, x/6 + 1/2))
		return op1("HardSigmoid", x, FloatAttr("alpha", 1.0/6), FloatAttr("beta", 0.5)), nil
	case core.HardSwish:
		return op1("HardSwish", x), nil
	}
	return x, fmt.Errorf("onnx export: %s: unary op %s has no ONNX form", pathName(path), f.Op)
}

func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	}
	return prefix + "." + name
}

func pathName(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

// at returns s[i], or def when s is nil.
func at(s []int, i, def int) int {
	if s == nil {
		return def
	}
	return s[i]
}

func i64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func permute(s core.Shape, perm []int) core.Shape {
	out := make(core.Shape, len(perm))
	for i, p := range perm {
		out[i] = s[p]
	}
	return out
}

// OpTypes returns the distinct op types of m's graph, in order of first use.
func OpTypes(m *Model) []string {
	seen := map[string]bool{}
	var ops []string
	if m.Graph == nil {
		return nil
	}
	for _, n := range m.Graph.Node {
		if !seen[n.OpType] {
			seen[n.OpType] = true
			ops = append(ops, n.OpType)
		}
	}
	return ops
}
