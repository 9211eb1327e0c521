//go:build goexperiment.simd && amd64

package cpu

import (
	"testing"

	"simd/archsimd"
)

// TestGEMMKernelsAMD64 runs checkGEMMOrder with each kernel this CPU can
// run, not only the one it picks: AVX-512, AVX2, and the plain Go one.
func TestGEMMKernelsAMD64(t *testing.T) {
	kernels := []string{""}
	if archsimd.X86.AVX2() {
		kernels = append(kernels, "avx2")
	}
	if archsimd.X86.AVX512() {
		kernels = append(kernels, "avx512")
	}
	chosen := x86Kernel
	defer func() { x86Kernel = chosen }()
	for _, k := range kernels {
		t.Run("kernel="+k, func(t *testing.T) {
			x86Kernel = k
			checkGEMMOrder(t)
		})
	}
}
