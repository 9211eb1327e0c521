package core

// Backend is the contract every compute device implements: memory plus ten
// coarse kernels. Composite ops (softmax, normalizations, dropout, squeeze-
// and-excitation...) are written once in this package on top of these
// kernels, so a new backend is complete as soon as it compiles.
//
// Kernels receive tensors whose shapes the op functions of this package have
// already validated: a Backend may assume consistent arguments and report
// only device failures. dst never aliases an input unless a method says so.
type Backend interface {
	// Name identifies the backend in errors and benchmarks ("cpu", "webgpu").
	Name() string

	// Alloc returns a zero-filled buffer of n float32 elements.
	Alloc(n int) (Buffer, error)
	// Free releases a buffer; using it afterwards is an error.
	Free(Buffer)
	// Write copies src into dst starting at element off.
	Write(dst Buffer, off int, src []float32) error
	// Read copies len(dst) elements of src starting at element off.
	Read(src Buffer, off int, dst []float32) error
	// Sync waits for queued work and reports any asynchronous failure.
	Sync() error

	// Unary sets dst[i] = f(x[i]) for every element; dst may alias x.
	Unary(dst, x *Tensor, f Unary) error
	// Binary sets dst = a op b with numpy broadcasting. a, b and dst have
	// the same rank; each axis of a and b equals dst's or is 1.
	// dst may alias a or b when their shapes equal dst's.
	Binary(dst, a, b *Tensor, op BinaryOp) error
	// Reduce folds x over the axes where dst has extent 1 and x does not
	// (dst has x's rank: keep-dims form).
	Reduce(dst, x *Tensor, op ReduceOp) error
	// MatMul sets dst = act(op(a) x op(b) + bias) where op transposes when
	// asked; a is [M,K] ([K,M] if TransA), b is [K,N] ([N,K] if TransB),
	// bias is nil or [N], dst is [M,N].
	MatMul(dst, a, b, bias *Tensor, p MatMul) error
	// Conv is an N-d convolution (cross-correlation, as in every framework)
	// over channels-last data: x is [N, S1..Sd, Cin], w is
	// [K1..Kd, Cin/Groups, Cout], bias is nil or [Cout], dst is
	// [N, O1..Od, Cout]. Output channel co reads input channels of group
	// co / (Cout/Groups). Bias and activation are fused into the store.
	Conv(dst, x, w, bias *Tensor, p Conv) error
	// Pool is N-d max or average pooling over channels-last data; x is
	// [N, S1..Sd, C] and dst [N, O1..Od, C].
	Pool(dst, x *Tensor, p Pool) error
	// Copy moves a strided region of src into a strided region of dst
	// (concat, split, transpose, pad, slicing). Offsets and strides are in
	// elements; the region has extent p.Shape.
	Copy(dst, src *Tensor, p Copy) error
}

// UnaryOp names an elementwise function.
type UnaryOp int

// Elementwise functions. Alpha and Beta are the parameters of Unary.
const (
	Identity    UnaryOp = iota // x
	Affine                     // Alpha*x + Beta
	Neg                        // -x
	Abs                        // |x|
	Square                     // x*x
	Sqrt                       // sqrt(x)
	Rsqrt                      // 1/sqrt(x)
	Recip                      // 1/x
	Exp                        // e^x
	Log                        // ln(x)
	Pow                        // x^Alpha
	Sigmoid                    // 1/(1+e^-x)
	Tanh                       // tanh(x)
	ReLU                       // max(0, x)
	LeakyReLU                  // x if x >= 0 else Alpha*x
	ELU                        // x if x >= 0 else Alpha*(e^x - 1)
	ReLU6                      // min(max(0, x), 6)
	GELU                       // x * Phi(x) = x/2 * (1 + erf(x/sqrt 2))
	GELUTanh                   // x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
	SiLU                       // x * sigmoid(x), also called swish
	HardSigmoid                // relu6(x + 3) / 6
	HardSwish                  // x * relu6(x + 3) / 6
	Clip                       // min(max(x, Alpha), Beta)
	Round                      // the nearest integer, halves to even (IEEE roundeven, ONNX QuantizeLinear's)
	Floor                      // the largest integer <= x
	Ceil                       // the smallest integer >= x
	numUnary
)

var unaryNames = [...]string{"identity", "affine", "neg", "abs", "square", "sqrt", "rsqrt", "recip",
	"exp", "log", "pow", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "relu6", "gelu", "gelu_tanh",
	"silu", "hard_sigmoid", "hard_swish", "clip", "round", "floor", "ceil"}

func (op UnaryOp) String() string {
	if op >= 0 && op < numUnary {
		return unaryNames[op]
	}
	return "unary?"
}

// Unary is an elementwise function with its parameters; the zero value is
// the identity. It also serves as the fused activation of MatMul and Conv.
type Unary struct {
	Op          UnaryOp
	Alpha, Beta float32
}

// Act returns the activation op with no parameters (ReLU, Tanh...).
func Act(op UnaryOp) Unary { return Unary{Op: op} }

// BinaryOp names an elementwise function of two broadcast operands.
type BinaryOp int

// Binary functions.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Max
	Min
	numBinary
)

var binaryNames = [...]string{"add", "sub", "mul", "div", "max", "min"}

func (op BinaryOp) String() string {
	if op >= 0 && op < numBinary {
		return binaryNames[op]
	}
	return "binary?"
}

// ReduceOp names a reduction.
type ReduceOp int

// Reductions.
const (
	Sum ReduceOp = iota
	Mean
	ReduceMax
	ReduceMin
	ReduceProd // product (no gradient)
	numReduce
)

var reduceNames = [...]string{"sum", "mean", "max", "min", "prod"}

func (op ReduceOp) String() string {
	if op >= 0 && op < numReduce {
		return reduceNames[op]
	}
	return "reduce?"
}

// MatMul configures Backend.MatMul.
type MatMul struct {
	TransA, TransB bool
	Act            Unary // fused activation, applied after the bias
}

// Conv configures an N-d convolution. Every slice has one entry per spatial
// axis; nil Stride and Dilation mean 1 and nil padding means 0.
type Conv struct {
	Stride    []int
	Dilation  []int
	PadBefore []int // zeros added before each spatial axis
	PadAfter  []int // zeros added after each spatial axis (may differ: Keras "same" with stride 2)
	Groups    int   // 0 or 1: ordinary; Cin: depthwise
	Act       Unary // fused activation, applied after the bias
}

// PoolOp names a pooling function.
type PoolOp int

// Pooling functions.
const (
	MaxPool PoolOp = iota
	AvgPool
)

func (op PoolOp) String() string {
	if op == MaxPool {
		return "max"
	}
	return "avg"
}

// Pool configures an N-d pooling. Padded positions never win a max. For
// an average, the divisor counts the window's positions inside the input,
// plus those inside the declared padding when CountIncludePad is set
// (positions beyond PadAfter, which ceil mode adds, never count).
type Pool struct {
	Op              PoolOp
	Kernel          []int
	Stride          []int // nil: equal to Kernel
	PadBefore       []int
	PadAfter        []int
	CountIncludePad bool
	// CeilMode rounds the output size up (PyTorch ceil_mode) so a partial
	// window at the end still yields an output; a window must still start
	// inside the input or its leading padding. Backends read the output
	// size from dst and may ignore this field.
	CeilMode bool
}

// Copy describes a strided region move for Backend.Copy: for every index
// vector i within Shape, dst[DstOffset + i.DstStrides] = src[SrcOffset + i.SrcStrides].
type Copy struct {
	Shape                  []int
	SrcOffset, DstOffset   int
	SrcStrides, DstStrides []int
}
