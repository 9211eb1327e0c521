package webgpu

// Workgroup sizes of the elementwise-style kernels (one invocation per
// output element or vec4): 64 invocations is a multiple of every GPU's
// SIMD width and of SwiftShader's subgroup of 4.
const wgSize = 64

// grid returns the workgroup counts that cover n workgroups when one
// dimension holds at most maxDim: {n, 1, 1}, or {maxDim, ceil(n/maxDim), 1}.
// The shaders linearize the workgroup id as x + y*num_workgroups.x and
// drop the invocations past the end.
func grid(n, maxDim int) [3]int {
	if n <= maxDim {
		return [3]int{max(n, 1), 1, 1}
	}
	return [3]int{maxDim, ceilDiv(n, maxDim), 1}
}

// linear returns the grid for n items handled by wgSize invocations per
// workgroup.
func linear(n, maxDim int) [3]int { return grid(ceilDiv(n, wgSize), maxDim) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// bufferSize is the byte size of a buffer of n float32 elements: rounded up
// to 16 bytes (so that any buffer can be bound as array<vec4<f32>>), at
// least 16.
func bufferSize(n int) int { return max(16, (4*n+15)/16*16) }
