package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"webcnn/core"
	"webcnn/core/nn"
)

// The graph IR's ops. Each maps onto one op function of core; inputs are
// listed as (x, weights...), activations NHWC:
//
//	conv             x, w [K1..Kd, Cin/groups, Cout], bias?   ConvAttrs
//	dense            x [..., In], w [In, Out], bias?           DenseAttrs (on the last axis)
//	pool             x                                         PoolAttrs
//	global_avg_pool  x -> [N, 1.., C]
//	global_max_pool  x -> [N, 1.., C]
//	act              x                                         Act (a core unary op by name)
//	add sub mul div max min   a, b (numpy broadcasting)
//	concat           x...                                      AxisAttrs (default -1)
//	softmax log_softmax  x                                     AxisAttrs (default -1)
//	batch_norm       x, gamma, beta, mean, var                 NormAttrs (eps, default 1e-5)
//	layer_norm       x, gamma, beta (trailing axes)            NormAttrs
//	pad              x                                         PadAttrs (constant)
//	reshape          x (a view)                                ReshapeAttrs (0 copies, -1 infers)
//	flatten          x (a view)                                FlattenAttrs (default axis 1)
//	transpose        x                                         TransposeAttrs
//	mean sum reduce_max reduce_min  x                          ReduceAttrs
//	slice            x                                         SliceAttrs
//	split            x -> len(sizes) outputs                   SplitAttrs
//	identity         x (the same tensor)
var graphOps = map[string]opDef{
	"conv":            {decodeAttrs(newConv)},
	"dense":           {decodeAttrs(newDense)},
	"pool":            {decodeAttrs(newPool)},
	"global_avg_pool": {noAttrs(func() graphOp { return globalPoolOp{op: core.Mean} })},
	"global_max_pool": {noAttrs(func() graphOp { return globalPoolOp{op: core.ReduceMax} })},
	"act":             {decodeAttrs(newAct)},
	"add":             {noAttrs(func() graphOp { return binaryOp{op: core.Add} })},
	"sub":             {noAttrs(func() graphOp { return binaryOp{op: core.Sub} })},
	"mul":             {noAttrs(func() graphOp { return binaryOp{op: core.Mul} })},
	"div":             {noAttrs(func() graphOp { return binaryOp{op: core.Div} })},
	"max":             {noAttrs(func() graphOp { return binaryOp{op: core.Max} })},
	"min":             {noAttrs(func() graphOp { return binaryOp{op: core.Min} })},
	"concat":          {decodeAttrs(func(a AxisAttrs) (graphOp, error) { return concatOp{axis: a.axis(-1)}, nil })},
	"softmax":         {decodeAttrs(func(a AxisAttrs) (graphOp, error) { return softmaxOp{axis: a.axis(-1)}, nil })},
	"log_softmax":     {decodeAttrs(func(a AxisAttrs) (graphOp, error) { return softmaxOp{axis: a.axis(-1), log: true}, nil })},
	"batch_norm":      {decodeAttrs(func(a NormAttrs) (graphOp, error) { return batchNormOp{eps: a.eps()}, nil })},
	"layer_norm":      {decodeAttrs(func(a NormAttrs) (graphOp, error) { return layerNormOp{eps: a.eps()}, nil })},
	"pad":             {decodeAttrs(newPad)},
	"reshape":         {decodeAttrs(newReshape)},
	"flatten":         {decodeAttrs(newFlatten)},
	"transpose":       {decodeAttrs(newTranspose)},
	"mean":            {decodeAttrs(reduceDef(core.Mean))},
	"sum":             {decodeAttrs(reduceDef(core.Sum))},
	"reduce_max":      {decodeAttrs(reduceDef(core.ReduceMax))},
	"reduce_min":      {decodeAttrs(reduceDef(core.ReduceMin))},
	"slice":           {decodeAttrs(newSlice)},
	"split":           {decodeAttrs(newSplit)},
	"identity":        {noAttrs(func() graphOp { return identityOp{} })},
}

// opOrder lists the ops as the table above does (for error messages).
var opOrder = []string{"conv", "dense", "pool", "global_avg_pool", "global_max_pool", "act",
	"add", "sub", "mul", "div", "max", "min", "concat", "softmax", "log_softmax", "batch_norm",
	"layer_norm", "pad", "reshape", "flatten", "transpose", "mean", "sum", "reduce_max",
	"reduce_min", "slice", "split", "identity"}

// opDef decodes a node's attributes into an op.
type opDef struct {
	decode func(json.RawMessage) (graphOp, error)
}

// graphOp is one decoded op.
type graphOp interface {
	// arity is the least and most inputs (hi < 0: no limit).
	arity() (lo, hi int)
	// outputs is the number of values the op produces.
	outputs() int
	// weightFirst allows a tensor as input 0 (binary ops on constants).
	weightFirst() bool
	// buffer reports whether weight input j is a running statistic.
	buffer(j int) bool
	// check validates the shapes of weight inputs (nil: not a weight).
	check(w []core.Shape) error
	// view reports that output 0 shares input 0's memory.
	view() bool
	// run computes the outputs.
	run(in []*core.Tensor) ([]*core.Tensor, error)
	// plan computes the output shapes from inputs that may hold no
	// memory (only their shapes are read), records rows into t and
	// returns the receptive field of the outputs.
	plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error)
}

// opBase gives the common answers: one output, an activation first, no
// buffers, nothing to check, fresh memory.
type opBase struct{}

func (opBase) outputs() int             { return 1 }
func (opBase) weightFirst() bool        { return false }
func (opBase) buffer(int) bool          { return false }
func (opBase) check([]core.Shape) error { return nil }
func (opBase) view() bool               { return false }

// strict decodes attributes, rejecting unknown fields; absent or null
// attributes leave the zero value.
func strict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the attributes")
	}
	return nil
}

func decodeAttrs[A any](mk func(A) (graphOp, error)) func(json.RawMessage) (graphOp, error) {
	return func(raw json.RawMessage) (graphOp, error) {
		var a A
		if err := strict(raw, &a); err != nil {
			return nil, err
		}
		return mk(a)
	}
}

func noAttrs(mk func() graphOp) func(json.RawMessage) (graphOp, error) {
	return decodeAttrs(func(struct{}) (graphOp, error) { return mk(), nil })
}

// one wraps a single result.
func one(t *core.Tensor, err error) ([]*core.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*core.Tensor{t}, nil
}

// rowAdder is the method core/nn's Trace needs for ops that have no nn
// layer (add, concat, pad, transpose...): record a row under the trace's
// prefix. Until Trace has it, those ops record no row (like nn.Residual's
// addition and nn.Concat's join, which record none either).
type rowAdder interface{ Add(nn.Row) }

// addRow records a generic row when the trace can take one.
func addRow(t *nn.Trace, kind string, out core.Shape, f nn.Field, inPlace bool) {
	if a, ok := any(t).(rowAdder); ok && t != nil {
		a.Add(nn.Row{Kind: kind, Out: out.Clone(), Field: f, InPlace: inPlace})
	}
}

// Act is an activation: a core unary op by name ("relu", "relu6",
// "leaky_relu", "hard_swish", "clip", "affine"...) with its parameters
// (Alpha, Beta: see core.UnaryOp). In JSON it is {"op": "leaky_relu",
// "alpha": 0.1}; a hand-written graph may give the name alone ("relu").
type Act struct {
	Op    string  `json:"op"`
	Alpha float32 `json:"alpha,omitempty"`
	Beta  float32 `json:"beta,omitempty"`
}

// UnmarshalJSON accepts "relu" as well as {"op": "relu"}.
func (a *Act) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*a = Act{Op: name}
		return nil
	}
	type plain Act
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("activation: %w", err)
	}
	*a = Act(p)
	return nil
}

// Unary returns the core op, or an error naming the known ones.
func (a *Act) Unary() (core.Unary, error) {
	if a == nil || a.Op == "" {
		return core.Unary{}, nil
	}
	var names []string
	for op := core.UnaryOp(0); op.String() != "unary?"; op++ {
		if op.String() == a.Op {
			return core.Unary{Op: op, Alpha: a.Alpha, Beta: a.Beta}, nil
		}
		names = append(names, op.String())
	}
	return core.Unary{}, fmt.Errorf("unknown activation %q (have %s)", a.Op, strings.Join(names, ", "))
}

// ConvAttrs configure conv. Pad "same" is TensorFlow's (an odd total goes
// after, computed from each input's size), "same_lower" puts it before
// (ONNX SAME_LOWER), "valid" or "" with no PadBefore/PadAfter pads
// nothing. Nil slices mean 1 (stride, dilation) or 0 (padding).
type ConvAttrs struct {
	Stride    []int  `json:"stride,omitempty"`
	Dilation  []int  `json:"dilation,omitempty"`
	PadBefore []int  `json:"pad_before,omitempty"`
	PadAfter  []int  `json:"pad_after,omitempty"`
	Pad       string `json:"pad,omitempty"`
	Groups    int    `json:"groups,omitempty"`
	Act       *Act   `json:"act,omitempty"`
}

// DenseAttrs configure dense.
type DenseAttrs struct {
	Act *Act `json:"act,omitempty"`
}

// PoolAttrs configure pool: Op "max" or "avg"; Pad as for conv ("same"
// averages only the positions inside the input, as TensorFlow does).
type PoolAttrs struct {
	Op              string `json:"op"`
	Kernel          []int  `json:"kernel"`
	Stride          []int  `json:"stride,omitempty"`
	PadBefore       []int  `json:"pad_before,omitempty"`
	PadAfter        []int  `json:"pad_after,omitempty"`
	Pad             string `json:"pad,omitempty"`
	Ceil            bool   `json:"ceil,omitempty"`
	CountIncludePad bool   `json:"count_include_pad,omitempty"`
}

// AxisAttrs name one axis (negative counts from the end).
type AxisAttrs struct {
	Axis *int `json:"axis,omitempty"`
}

func (a AxisAttrs) axis(def int) int {
	if a.Axis == nil {
		return def
	}
	return *a.Axis
}

// Axis returns attributes for axis i.
func Axis(i int) AxisAttrs { return AxisAttrs{Axis: &i} }

// NormAttrs give a normalization's epsilon (default 1e-5).
type NormAttrs struct {
	Eps *float32 `json:"eps,omitempty"`
}

func (a NormAttrs) eps() float32 {
	if a.Eps == nil {
		return 1e-5
	}
	return *a.Eps
}

// Eps returns attributes for epsilon e.
func Eps(e float32) NormAttrs { return NormAttrs{Eps: &e} }

// PadAttrs pad every axis: Before[i] and After[i] values on axis i.
type PadAttrs struct {
	Before []int   `json:"before"`
	After  []int   `json:"after"`
	Value  float32 `json:"value,omitempty"`
}

// ReshapeAttrs give the new shape: 0 copies the input's extent on that
// axis, one -1 is inferred.
type ReshapeAttrs struct {
	Shape []int `json:"shape"`
}

// FlattenAttrs view x as [prod(x[:Axis]), prod(x[Axis:])] (default 1).
type FlattenAttrs struct {
	Axis *int `json:"axis,omitempty"`
}

// TransposeAttrs permute the axes: output axis i is input axis Perm[i].
type TransposeAttrs struct {
	Perm []int `json:"perm"`
}

// ReduceAttrs fold Axes (all when empty); Keep (default true) keeps them
// with extent 1.
type ReduceAttrs struct {
	Axes []int `json:"axes,omitempty"`
	Keep *bool `json:"keep,omitempty"`
}

// SliceAttrs keep [Starts[i], Ends[i]) of axis Axes[i]; negative indexes
// count from the end and both are clamped to the axis.
type SliceAttrs struct {
	Axes   []int `json:"axes"`
	Starts []int `json:"starts"`
	Ends   []int `json:"ends"`
}

// SplitAttrs cut axis Axis into parts of the given sizes.
type SplitAttrs struct {
	Axis  int   `json:"axis"`
	Sizes []int `json:"sizes"`
}

// ---- conv ----

type convOp struct {
	opBase
	p   core.Conv
	pad string
}

func newConv(a ConvAttrs) (graphOp, error) {
	act, err := a.Act.Unary()
	if err != nil {
		return nil, err
	}
	if err := spatialAttrs(map[string][]int{"stride": a.Stride, "dilation": a.Dilation}, 1); err != nil {
		return nil, err
	}
	if err := padAttrs(a.Pad, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if err := sameLen(a.Stride, a.Dilation, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if a.Groups < 0 {
		return nil, fmt.Errorf("groups %d", a.Groups)
	}
	return &convOp{p: core.Conv{Stride: a.Stride, Dilation: a.Dilation, PadBefore: a.PadBefore, PadAfter: a.PadAfter,
		Groups: a.Groups, Act: act}, pad: a.Pad}, nil
}

// maxExtent bounds every size an attribute gives, so that shape
// arithmetic cannot overflow.
const maxExtent = 1 << 30

// spatialAttrs checks that per-axis entries are at least min (and sane).
func spatialAttrs(m map[string][]int, min int) error {
	for name, s := range m {
		for _, v := range s {
			if v < min || v > maxExtent {
				return fmt.Errorf("%s %v: entries must be in [%d, %d]", name, s, min, maxExtent)
			}
		}
	}
	return nil
}

// padAttrs checks a padding mode against explicit pads.
func padAttrs(mode string, before, after []int) error {
	switch mode {
	case "", "valid", "same", "same_lower":
	default:
		return fmt.Errorf("pad %q: want same, same_lower or valid", mode)
	}
	if mode != "" && (before != nil || after != nil) {
		return fmt.Errorf("pad %q excludes pad_before and pad_after", mode)
	}
	return spatialAttrs(map[string][]int{"pad_before": before, "pad_after": after}, 0)
}

// sameLen checks that the non-nil slices have one length.
func sameLen(ss ...[]int) error {
	n := -1
	for _, s := range ss {
		if s == nil {
			continue
		}
		if n >= 0 && len(s) != n {
			return fmt.Errorf("per-axis attributes have %d and %d entries", n, len(s))
		}
		n = len(s)
	}
	return nil
}

// samePads returns the padding of a "same" mode for input x, kernel k.
func samePads(mode string, x core.Shape, kernel, stride, dilation []int) (before, after []int) {
	d := len(kernel)
	before, after = make([]int, d), make([]int, d)
	if mode != "same" && mode != "same_lower" {
		return before, after
	}
	for i := 0; i < d && 1+i < x.Rank(); i++ {
		b, a := core.SamePadding(x[1+i], kernel[i], at(stride, i), at(dilation, i))
		if mode == "same_lower" {
			b, a = a, b
		}
		before[i], after[i] = b, a
	}
	return before, after
}

func at(s []int, i int) int {
	if i >= len(s) {
		return 1
	}
	return s[i]
}

func (c *convOp) arity() (int, int) { return 2, 3 }

func (c *convOp) check(w []core.Shape) error {
	if w[1] != nil && w[1].Rank() < 3 {
		return fmt.Errorf("weights %v: want [K1..Kd, Cin/groups, Cout]", w[1])
	}
	if len(w) > 2 && w[2] != nil {
		if w[2].Rank() != 1 || (w[1] != nil && w[2][0] != w[1][w[1].Rank()-1]) {
			return fmt.Errorf("bias %v for weights %v", w[2], w[1])
		}
	}
	return nil
}

// params resolves the padding mode for input x and weights w.
func (c *convOp) params(x, w core.Shape) core.Conv {
	p := c.p
	if c.pad != "" && w.Rank() >= 3 {
		p.PadBefore, p.PadAfter = samePads(c.pad, x, w[:w.Rank()-2], p.Stride, p.Dilation)
	}
	return p
}

func (c *convOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	var bias *core.Tensor
	if len(in) > 2 {
		bias = in[2]
	}
	return one(core.Convolve(in[0], in[1], bias, c.params(in[0].Shape(), in[1].Shape())))
}

func (c *convOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	l := &nn.Conv{W: in[1], P: c.params(in[0].Shape(), in[1].Shape())}
	if len(in) > 2 {
		l.B = in[2]
	}
	out, f, err := l.Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}

// ---- dense ----

type denseOp struct {
	opBase
	act core.Unary
}

func newDense(a DenseAttrs) (graphOp, error) {
	act, err := a.Act.Unary()
	return &denseOp{act: act}, err
}

func (d *denseOp) arity() (int, int) { return 2, 3 }

func (d *denseOp) check(w []core.Shape) error {
	if w[1] != nil && w[1].Rank() != 2 {
		return fmt.Errorf("weights %v: want [In, Out]", w[1])
	}
	if len(w) > 2 && w[2] != nil && (w[2].Rank() != 1 || (w[1] != nil && w[2][0] != w[1][1])) {
		return fmt.Errorf("bias %v for weights %v", w[2], w[1])
	}
	return nil
}

// rows views x [..., In] as a matrix [M, In]; out is [..., Out].
func (d *denseOp) rows(x, w core.Shape) (m core.Shape, out core.Shape, err error) {
	if x.Rank() < 1 || w.Rank() != 2 || x[x.Rank()-1] != w[0] {
		return nil, nil, fmt.Errorf("dense: input %v, weights %v: want [..., In] and [In, Out]", x, w)
	}
	out = append(x[:x.Rank()-1].Clone(), w[1])
	return core.Shape{x.Size() / w[0], w[0]}, out, nil
}

func (d *denseOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	m, out, err := d.rows(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	x, err := in[0].Reshape(m...)
	if err != nil {
		return nil, err
	}
	var bias *core.Tensor
	if len(in) > 2 {
		bias = in[2]
	}
	y, err := core.MatMulT(x, in[1], bias, core.MatMul{Act: d.act})
	if err != nil {
		return nil, err
	}
	return one(y.Reshape(out...))
}

func (d *denseOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	m, out, err := d.rows(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, err
	}
	l := &nn.Linear{W: in[1], Act: d.act}
	if len(in) > 2 {
		l.B = in[2]
	}
	if _, f, err = l.Plan(t, m, f); err != nil {
		return nil, f, err
	}
	return []core.Shape{out}, f, nil
}

// ---- pooling ----

type poolOp struct {
	opBase
	p   core.Pool
	pad string
}

func newPool(a PoolAttrs) (graphOp, error) {
	p := core.Pool{Kernel: a.Kernel, Stride: a.Stride, PadBefore: a.PadBefore, PadAfter: a.PadAfter,
		CeilMode: a.Ceil, CountIncludePad: a.CountIncludePad}
	switch a.Op {
	case "max":
		p.Op = core.MaxPool
	case "avg":
		p.Op = core.AvgPool
	default:
		return nil, fmt.Errorf("pool op %q: want max or avg", a.Op)
	}
	if len(a.Kernel) == 0 {
		return nil, fmt.Errorf("pool: no kernel")
	}
	if err := spatialAttrs(map[string][]int{"kernel": a.Kernel, "stride": a.Stride}, 1); err != nil {
		return nil, err
	}
	if err := padAttrs(a.Pad, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	if err := sameLen(a.Kernel, a.Stride, a.PadBefore, a.PadAfter); err != nil {
		return nil, err
	}
	return &poolOp{p: p, pad: a.Pad}, nil
}

func (p *poolOp) arity() (int, int) { return 1, 1 }

func (p *poolOp) params(x core.Shape) core.Pool {
	q := p.p
	if p.pad != "" {
		stride := q.Stride
		if stride == nil {
			stride = q.Kernel
		}
		q.PadBefore, q.PadAfter = samePads(p.pad, x, q.Kernel, stride, nil)
	}
	return q
}

func (p *poolOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.PoolND(in[0], p.params(in[0].Shape())))
}

func (p *poolOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, f, err := (&nn.Pool{P: p.params(in[0].Shape())}).Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}

type globalPoolOp struct {
	opBase
	op core.ReduceOp
}

func (globalPoolOp) arity() (int, int) { return 1, 1 }

func (g globalPoolOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	if g.op == core.Mean {
		return one(core.GlobalAvgPool(in[0]))
	}
	return one(core.GlobalMaxPool(in[0]))
}

func (g globalPoolOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() < 3 {
		return nil, f, fmt.Errorf("global pool: input %v: want rank >= 3 (N, spatial..., C)", x)
	}
	if g.op == core.Mean {
		out, f, err := nn.GlobalAvgPool{}.Plan(t, x, f)
		return []core.Shape{out}, f, err
	}
	out := x.Clone()
	for i := 1; i < out.Rank()-1; i++ {
		out[i] = 1
	}
	f = nn.Field{Size: f.Size + (x[1]-1)*f.Jump, Jump: f.Jump}
	addRow(t, "GlobalMaxPool", out, f, false)
	return []core.Shape{out}, f, nil
}

// ---- elementwise ----

type actOp struct {
	opBase
	f core.Unary
}

func newAct(a Act) (graphOp, error) {
	if a.Op == "" {
		return nil, fmt.Errorf("act: no op")
	}
	f, err := a.Unary()
	return &actOp{f: f}, err
}

func (a *actOp) arity() (int, int) { return 1, 1 }

func (a *actOp) run(in []*core.Tensor) ([]*core.Tensor, error) { return one(core.Apply(in[0], a.f)) }

func (a *actOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, f, err := (&nn.Activation{F: a.f}).Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}

type binaryOp struct {
	opBase
	op core.BinaryOp
}

func (binaryOp) arity() (int, int) { return 2, 2 }
func (binaryOp) weightFirst() bool { return true }

func (b binaryOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Elementwise(in[0], in[1], b.op))
}

func (b binaryOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, err := core.BroadcastShape(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, f, fmt.Errorf("%s: %w", b.op, err)
	}
	addRow(t, b.op.String(), out, f, false)
	return []core.Shape{out}, f, nil
}

// ---- joining and shapes ----

// resolveAxis resolves a possibly negative axis against a rank.
func resolveAxis(a, rank int) (int, error) {
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return a, nil
}

type concatOp struct {
	opBase
	axis int
}

func (concatOp) arity() (int, int) { return 1, -1 }
func (concatOp) weightFirst() bool { return true }

func (c concatOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Concat(c.axis, in...))
}

func (c concatOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s0 := in[0].Shape()
	ax, err := resolveAxis(c.axis, s0.Rank())
	if err != nil {
		return nil, f, fmt.Errorf("concat %v: %w", s0, err)
	}
	out := s0.Clone()
	out[ax] = 0
	for _, x := range in {
		s := x.Shape()
		if s.Rank() != s0.Rank() {
			return nil, f, fmt.Errorf("concat on axis %d: %v and %v differ in rank", ax, s0, s)
		}
		for i := range s {
			if i != ax && s[i] != s0[i] {
				return nil, f, fmt.Errorf("concat on axis %d: %v and %v differ on axis %d", ax, s0, s, i)
			}
		}
		out[ax] += s[ax]
	}
	addRow(t, "Concat", out, f, false)
	return []core.Shape{out}, f, nil
}

type softmaxOp struct {
	opBase
	axis int
	log  bool
}

func (softmaxOp) arity() (int, int) { return 1, 1 }

func (s softmaxOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	if s.log {
		return one(core.LogSoftmax(in[0], s.axis))
	}
	return one(core.Softmax(in[0], s.axis))
}

func (s softmaxOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if _, err := resolveAxis(s.axis, x.Rank()); err != nil {
		return nil, f, fmt.Errorf("softmax %v: %w", x, err)
	}
	addRow(t, "Softmax", x, f, false)
	return []core.Shape{x}, f, nil
}

type batchNormOp struct {
	opBase
	eps float32
}

func (batchNormOp) arity() (int, int) { return 5, 5 }
func (batchNormOp) buffer(j int) bool { return j >= 3 }

func (batchNormOp) check(w []core.Shape) error {
	var c core.Shape
	for _, s := range w[1:] {
		if s == nil {
			continue
		}
		if s.Rank() != 1 || (c != nil && !s.Equal(c)) {
			return fmt.Errorf("parameters %v: want four [C] vectors", w[1:])
		}
		c = s
	}
	return nil
}

func (b batchNormOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.BatchNorm(in[0], in[1], in[2], in[3], in[4], b.eps))
}

func (b batchNormOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	for _, p := range in[1:] {
		if x.Rank() < 1 || !p.Shape().Equal(core.Shape{x[x.Rank()-1]}) {
			return nil, f, fmt.Errorf("batch norm: input %v, parameter %v", x, p.Shape())
		}
	}
	out, f, err := (&nn.BatchNorm{Gamma: in[1], Beta: in[2], Mean: in[3], Var: in[4], Eps: b.eps}).Plan(t, x, f)
	return []core.Shape{out}, f, err
}

type layerNormOp struct {
	opBase
	eps float32
}

func (layerNormOp) arity() (int, int) { return 3, 3 }

func (l layerNormOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.LayerNorm(in[0], in[1], in[2], l.eps))
}

func (l layerNormOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x, g := in[0].Shape(), in[1].Shape()
	k := g.Rank()
	if k == 0 || k >= x.Rank() || !core.Shape(x[x.Rank()-k:]).Equal(g) || !in[2].Shape().Equal(g) {
		return nil, f, fmt.Errorf("layer norm: gamma %v and beta %v must match trailing axes of input %v", g, in[2].Shape(), x)
	}
	addRow(t, "LayerNorm", x, f, false)
	return []core.Shape{x}, f, nil
}

type padOp struct {
	opBase
	a PadAttrs
}

func newPad(a PadAttrs) (graphOp, error) {
	if len(a.Before) != len(a.After) || len(a.Before) == 0 {
		return nil, fmt.Errorf("pad: before %v and after %v need one entry per axis", a.Before, a.After)
	}
	if err := spatialAttrs(map[string][]int{"before": a.Before, "after": a.After}, 0); err != nil {
		return nil, err
	}
	return &padOp{a: a}, nil
}

func (p *padOp) arity() (int, int) { return 1, 1 }

func (p *padOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Pad(in[0], p.a.Before, p.a.After, p.a.Value))
}

func (p *padOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() != len(p.a.Before) {
		return nil, f, fmt.Errorf("pad %v: want %d before and after entries, got %d", x, x.Rank(), len(p.a.Before))
	}
	out := x.Clone()
	for i := range out {
		out[i] += p.a.Before[i] + p.a.After[i]
	}
	addRow(t, "Pad", out, f, false)
	return []core.Shape{out}, f, nil
}

type reshapeOp struct {
	opBase
	shape []int
}

func newReshape(a ReshapeAttrs) (graphOp, error) {
	infer := 0
	for _, d := range a.Shape {
		switch {
		case d == -1:
			infer++
		case d < 0 || d > maxExtent:
			return nil, fmt.Errorf("reshape %v: bad extent %d", a.Shape, d)
		}
	}
	if infer > 1 || len(a.Shape) == 0 {
		return nil, fmt.Errorf("reshape %v: want at least one axis and at most one -1", a.Shape)
	}
	return &reshapeOp{shape: a.Shape}, nil
}

func (r *reshapeOp) arity() (int, int) { return 1, 1 }
func (r *reshapeOp) view() bool        { return true }

// target resolves 0 (copy the input's extent) and -1 (infer).
func (r *reshapeOp) target(x core.Shape) (core.Shape, error) {
	out := make(core.Shape, len(r.shape))
	known, infer := 1, -1
	for i, d := range r.shape {
		switch d {
		case 0:
			if i >= x.Rank() {
				return nil, fmt.Errorf("reshape %v to %v: no axis %d to copy", x, r.shape, i)
			}
			d = x[i]
		case -1:
			infer = i
			continue
		}
		if d < 1 || d > x.Size()/known {
			return nil, fmt.Errorf("reshape %v (%d elements) to %v", x, x.Size(), r.shape)
		}
		out[i] = d
		known *= d
	}
	if infer >= 0 {
		if known == 0 || x.Size()%known != 0 {
			return nil, fmt.Errorf("reshape %v to %v: %d elements do not divide", x, r.shape, x.Size())
		}
		out[infer] = x.Size() / known
	}
	if out.Size() != x.Size() {
		return nil, fmt.Errorf("reshape %v (%d elements) to %v (%d elements)", x, x.Size(), out, out.Size())
	}
	return out, nil
}

func (r *reshapeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	s, err := r.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	return one(in[0].Reshape(s...))
}

func (r *reshapeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s, err := r.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Reshape", s, f, true)
	return []core.Shape{s}, f, nil
}

type flattenOp struct {
	opBase
	axis int
}

func newFlatten(a FlattenAttrs) (graphOp, error) {
	ax := 1
	if a.Axis != nil {
		ax = *a.Axis
	}
	return &flattenOp{axis: ax}, nil
}

func (l *flattenOp) arity() (int, int) { return 1, 1 }
func (l *flattenOp) view() bool        { return true }

func (l *flattenOp) target(x core.Shape) (core.Shape, error) {
	ax := l.axis
	if ax < 0 {
		ax += x.Rank()
	}
	if ax < 0 || ax > x.Rank() {
		return nil, fmt.Errorf("flatten %v: axis %d out of range", x, l.axis)
	}
	return core.Shape{core.Shape(x[:ax]).Size(), core.Shape(x[ax:]).Size()}, nil
}

func (l *flattenOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	s, err := l.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	return one(in[0].Reshape(s...))
}

func (l *flattenOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	s, err := l.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	if l.axis == 1 && in[0].Shape().Rank() >= 1 {
		out, f, err := nn.Flatten{}.Plan(t, in[0].Shape(), f)
		return []core.Shape{out}, f, err
	}
	addRow(t, "Flatten", s, f, true)
	return []core.Shape{s}, f, nil
}

type transposeOp struct {
	opBase
	perm []int
}

func newTranspose(a TransposeAttrs) (graphOp, error) {
	seen := make([]bool, len(a.Perm))
	for _, p := range a.Perm {
		if p < 0 || p >= len(a.Perm) || seen[p] {
			return nil, fmt.Errorf("transpose: %v is not a permutation", a.Perm)
		}
		seen[p] = true
	}
	return &transposeOp{perm: a.Perm}, nil
}

func (p *transposeOp) arity() (int, int) { return 1, 1 }

func (p *transposeOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return one(core.Transpose(in[0], p.perm...))
}

func (p *transposeOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	if x.Rank() != len(p.perm) {
		return nil, f, fmt.Errorf("transpose %v: permutation %v has the wrong length", x, p.perm)
	}
	out := make(core.Shape, len(p.perm))
	for i, a := range p.perm {
		out[i] = x[a]
	}
	addRow(t, "Transpose", out, f, false)
	return []core.Shape{out}, f, nil
}

type reduceOp struct {
	opBase
	op   core.ReduceOp
	axes []int
	keep bool
}

func reduceDef(op core.ReduceOp) func(ReduceAttrs) (graphOp, error) {
	return func(a ReduceAttrs) (graphOp, error) {
		keep := a.Keep == nil || *a.Keep
		return &reduceOp{op: op, axes: a.Axes, keep: keep}, nil
	}
}

func (r *reduceOp) arity() (int, int) { return 1, 1 }

// target returns the keep-dims shape and the final one.
func (r *reduceOp) target(x core.Shape) (kept, out core.Shape, err error) {
	kept = x.Clone()
	drop := make([]bool, x.Rank())
	for _, a := range r.axes {
		i, err := resolveAxis(a, x.Rank())
		if err != nil || drop[i] {
			return nil, nil, fmt.Errorf("reduce %s %v over %v: bad or repeated axis", r.op, x, r.axes)
		}
		drop[i] = true
	}
	for i := range kept {
		if len(r.axes) == 0 || drop[i] {
			kept[i] = 1
			drop[i] = true
		}
	}
	if r.keep {
		return kept, kept, nil
	}
	out = core.Shape{}
	for i, d := range x {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = core.Shape{1}
	}
	return kept, out, nil
}

func (r *reduceOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	_, out, err := r.target(in[0].Shape())
	if err != nil {
		return nil, err
	}
	y, err := core.Reduce(in[0], r.op, r.axes...)
	if err != nil || r.keep {
		return one(y, err)
	}
	return one(y.Reshape(out...))
}

func (r *reduceOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	_, out, err := r.target(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Reduce "+r.op.String(), out, f, false)
	return []core.Shape{out}, f, nil
}

type sliceOp struct {
	opBase
	a SliceAttrs
}

func newSlice(a SliceAttrs) (graphOp, error) {
	if len(a.Axes) == 0 || len(a.Axes) != len(a.Starts) || len(a.Axes) != len(a.Ends) {
		return nil, fmt.Errorf("slice: axes %v, starts %v, ends %v need one entry each", a.Axes, a.Starts, a.Ends)
	}
	return &sliceOp{a: a}, nil
}

func (s *sliceOp) arity() (int, int) { return 1, 1 }

// windows resolves each axis's [start, start+size).
func (s *sliceOp) windows(x core.Shape) (axes, starts, sizes []int, out core.Shape, err error) {
	out = x.Clone()
	seen := map[int]bool{}
	for i, a := range s.a.Axes {
		ax, err := resolveAxis(a, x.Rank())
		if err != nil || seen[ax] {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: bad or repeated axis %d", x, a)
		}
		seen[ax] = true
		clamp := func(v int) int {
			if v < 0 {
				v += x[ax]
			}
			return max(0, min(v, x[ax]))
		}
		b, e := clamp(s.a.Starts[i]), clamp(s.a.Ends[i])
		if e <= b {
			return nil, nil, nil, nil, fmt.Errorf("slice %v: axis %d keeps [%d, %d), nothing", x, ax, b, e)
		}
		axes, starts, sizes = append(axes, ax), append(starts, b), append(sizes, e-b)
		out[ax] = e - b
	}
	return axes, starts, sizes, out, nil
}

func (s *sliceOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	axes, starts, sizes, _, err := s.windows(in[0].Shape())
	if err != nil {
		return nil, err
	}
	x := in[0]
	for i := range axes {
		y, err := core.Slice(x, axes[i], starts[i], sizes[i])
		if x != in[0] {
			x.Free()
		}
		if err != nil {
			return nil, err
		}
		x = y
	}
	return []*core.Tensor{x}, nil
}

func (s *sliceOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	_, _, _, out, err := s.windows(in[0].Shape())
	if err != nil {
		return nil, f, err
	}
	addRow(t, "Slice", out, f, false)
	return []core.Shape{out}, f, nil
}

type splitOp struct {
	opBase
	a SplitAttrs
}

func newSplit(a SplitAttrs) (graphOp, error) {
	if len(a.Sizes) == 0 {
		return nil, fmt.Errorf("split: no sizes")
	}
	if err := spatialAttrs(map[string][]int{"sizes": a.Sizes}, 1); err != nil {
		return nil, err
	}
	return &splitOp{a: a}, nil
}

func (s *splitOp) arity() (int, int) { return 1, 1 }
func (s *splitOp) outputs() int      { return len(s.a.Sizes) }

func (s *splitOp) run(in []*core.Tensor) ([]*core.Tensor, error) {
	return core.Split(in[0], s.a.Axis, s.a.Sizes...)
}

func (s *splitOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	x := in[0].Shape()
	ax, err := resolveAxis(s.a.Axis, x.Rank())
	if err != nil {
		return nil, f, fmt.Errorf("split %v: %w", x, err)
	}
	total := 0
	outs := make([]core.Shape, len(s.a.Sizes))
	for i, n := range s.a.Sizes {
		total += n
		outs[i] = x.Clone()
		outs[i][ax] = n
	}
	if total != x[ax] {
		return nil, f, fmt.Errorf("split %v on axis %d: sizes %v add to %d, want %d", x, ax, s.a.Sizes, total, x[ax])
	}
	for _, o := range outs {
		addRow(t, "Split", o, f, false)
	}
	return outs, f, nil
}

type identityOp struct{ opBase }

func (identityOp) arity() (int, int) { return 1, 1 }
func (identityOp) view() bool        { return true }

func (identityOp) run(in []*core.Tensor) ([]*core.Tensor, error) { return in[:1], nil }

func (identityOp) plan(_ *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	return []core.Shape{in[0].Shape()}, f, nil
}
