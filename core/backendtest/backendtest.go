// Package backendtest is the conformance suite every core.Backend runs,
// in the style of gonum's testblas: a backend's package adds one test,
//
//	func TestBackend(t *testing.T) { backendtest.Run(t, cpu.New()) }
//
// and gets subtests named by op family and case ("conv/stride2_dilation2").
// The suite compares values, never just shapes. Every expected number comes
// from an independent source stated next to it: a hand computation (the
// lecture's slides), exact integer arithmetic, or a naive float64 reference
// written in this package from the op's mathematical definition. Each
// comparison uses a declared tolerance class (see helpers.go):
//
//	exact     (0)                   conv, matmul, dense, max pool, global max,
//	                                copies (concat, split, slice, pad,
//	                                transpose, reshape), reduce sum/max/min,
//	                                add/sub/mul/max/min, maxout, residual and
//	                                DenseNet blocks, separable compositions,
//	                                dropout in inference and mask replay:
//	                                small-integer data, every partial sum an
//	                                integer below 2^24
//	rounding  (rel 1e-5, abs 1e-6)  unary ops and fused activations, average
//	                                pool, global average, reduce mean, div,
//	                                moments, softmax, log-softmax, batch /
//	                                layer / instance / group norm, LRN,
//	                                squeeze-excite, dropout's x/(1-p)
//	separable (rel 1e-6, abs 1e-5)  the lecture's 1/3 filters, separable vs
//	                                full 3x3 on the backend
//
// Errors are checked as values: a bad argument must give an error that
// names the op and the shapes, never a panic.
//
// The suite only uses the exported API of package core, so it runs
// unchanged natively, under GOOS=js GOARCH=wasm in Node and in a browser.
// Tensors are small, except for one AlexNet-sized chain, so that a whole
// Run takes a few seconds with a reference backend.
package backendtest

import (
	"testing"

	"webcnn/core"
)

// Run runs the whole suite against b.
func Run(t *testing.T, b core.Backend) {
	families := []struct {
		name string
		f    func(*testing.T, core.Backend)
	}{
		{"memory", testMemory},
		{"conv", testConv},
		{"pool", testPool},
		{"unary", testUnary},
		{"binary", testBinary},
		{"reduce", testReduce},
		{"matmul", testMatMul},
		{"copy", testCopy},
		{"softmax", testSoftmax},
		{"norm", testNorm},
		{"dropout", testDropout},
		{"blocks", testBlocks},
		{"lecture", testLecture},
		{"errors", testErrors},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			f.f(t, b)
			if err := b.Sync(); err != nil {
				t.Errorf("%s: sync after %s: %v", b.Name(), f.name, err)
			}
		})
	}
}
