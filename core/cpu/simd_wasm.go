//go:build goexperiment.simd && wasm

package cpu

// simdKernels names the vector kernels in use: this build (GOEXPERIMENT=simd,
// js/wasm) runs the GEMM micro-kernel, depthwise rows, max pooling rows
// and the ReLU/ReLU6 epilogue with wasm's 128-bit SIMD (f32x4), which
// every current browser and Node has (Chrome 91, Firefox 89, Safari 16.4).
const simdKernels = "wasm-simd128"
