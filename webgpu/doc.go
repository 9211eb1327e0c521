// Package webgpu is the WebGPU core.Backend: every kernel of the contract
// runs as a WGSL compute shader (shaders/*.wgsl, one kernel per file), with
// no CPU fallback inside the backend.
//
// The package splits in two. Files without build tags hold everything that
// can be decided without a GPU: which kernel runs an op, its tile shape,
// the workgroup counts, the uniform words and the shader source after
// specialization; they compile and are tested natively. The *_js.go files
// are the thin syscall/js binding (js && wasm): adapter and device, buffers,
// the pipeline cache, command recording and readback.
//
// The kernels (every op of core.Backend runs on the GPU):
//
//	unary.wgsl      Unary: every core.UnaryOp, specialized per op; exp, log,
//	                pow, tanh and erfc written out (act.wgsl) to ~1-2 ulp
//	binary.wgsl     Binary: flat (vec4) or broadcast through collapsed strides
//	reduce.wgsl     Reduce: sum (Kahan), mean, max, min over any axes; a
//	                workgroup per output for folds of 128 or more
//	matmul.wgsl     MatMul and 1x1 convolutions: tiled GEMM, fused bias + act
//	conv.wgsl       Conv: implicit GEMM, im2col fused into the tile loader
//	depthwise.wgsl  Conv with one input channel per group
//	pool.wgsl       Pool: max and average with PyTorch's divisor rules
//	copy.wgsl       Copy: strided regions of up to 8 collapsed axes
//
// The GEMMs (tile.go) compute a 32x32 output tile per workgroup of 8x8
// invocations, each a 4x4 block in vec4 accumulators, stepping K by 16
// through workgroup memory; 64x16 and 16x64 tiles serve few output
// channels and few rows. Loads are vec4 along contiguous channels
// (Cin/G % 4 == 0 for the input, Cout/G % 4 == 0 for weights and output).
// Fused activations are a uniform, so one pipeline serves them all.
//
// Work is recorded into one command encoder and submitted lazily: at Read,
// at Sync, before a host Write when kernels are pending, or when a batch
// reaches maxBatch dispatches. A forward pass therefore makes a handful of
// submissions and one readback at the end.
//
// A pass can be planned before it runs (memplan.go): Rehearsal gives a
// backend with the device's limits that computes nothing and holds no GPU
// memory; the model built on it (weights do not matter) runs one pass
// under Record, which logs the pipelines dispatched and the lifetime of
// every allocation, and assigns the allocations to a few buffers, greedy
// by size, so that no two live allocations share one. Prepare starts
// compiling the plan's pipelines (createComputePipelineAsync, not awaited:
// the browser compiles while the weights download) and creates its
// buffers; Ready waits for the compilations; Arena.Run serves a pass's
// allocations from the plan's buffers, so a planned pass creates no
// buffer and compiles nothing. A pass that deviates from its plan falls
// back to the pool and is counted (Arena.Misses).
//
// Outside a browser with WebGPU (natively, under Node, or when the adapter
// is missing) New returns an error wrapping ErrUnavailable, so callers can
// fall back to the CPU backend; after the device is lost every call returns
// an error wrapping ErrDeviceLost. On a software adapter (Adapter().Fallback,
// e.g. SwiftShader) the CPU backend is usually faster.
package webgpu

import "errors"

var (
	// ErrUnavailable reports that this environment has no WebGPU adapter.
	ErrUnavailable = errors.New("webgpu: unavailable")
	// ErrDeviceLost reports that the GPU device was lost (driver reset,
	// device destroyed, tab backgrounded for too long...); the backend is
	// unusable afterwards and the caller should fall back to the CPU.
	ErrDeviceLost = errors.New("webgpu: device lost")
)
