package nn

import (
	"errors"

	"webcnn/core"
)

// Shapes is a Backend that holds no memory: tensors on it have shapes
// only. Building a model on it with Builder.ShapesOnly plans and counts
// even VGG's 138 M parameters instantly; every kernel fails.
type Shapes struct{}

var _ core.Backend = Shapes{}

// errShapes reports a kernel or memory access on the shape-only backend.
var errShapes = errors.New("shape-only backend: no data")

type sizeBuf int

func (s sizeBuf) Len() int { return int(s) }

// Name identifies the backend.
func (Shapes) Name() string { return "shapes" }

// Alloc records a size.
func (Shapes) Alloc(n int) (core.Buffer, error)                   { return sizeBuf(n), nil }
func (Shapes) Free(core.Buffer)                                   {}
func (Shapes) Write(core.Buffer, int, []float32) error            { return errShapes }
func (Shapes) Read(core.Buffer, int, []float32) error             { return errShapes }
func (Shapes) Sync() error                                        { return nil }
func (Shapes) Unary(_, _ *core.Tensor, _ core.Unary) error        { return errShapes }
func (Shapes) Binary(_, _, _ *core.Tensor, _ core.BinaryOp) error { return errShapes }
func (Shapes) Reduce(_, _ *core.Tensor, _ core.ReduceOp) error    { return errShapes }
func (Shapes) MatMul(_, _, _, _ *core.Tensor, _ core.MatMul) error {
	return errShapes
}
func (Shapes) Conv(_, _, _, _ *core.Tensor, _ core.Conv) error { return errShapes }
func (Shapes) Pool(_, _ *core.Tensor, _ core.Pool) error       { return errShapes }
func (Shapes) Copy(_, _ *core.Tensor, _ core.Copy) error       { return errShapes }
