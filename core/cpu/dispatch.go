//go:build !(goexperiment.simd && wasm)

package cpu

// The kernels of a build without SIMD: the scalar ones. A SIMD build
// (GOEXPERIMENT=simd, *_simd_wasm.go) defines these names with vector
// code and keeps the scalar kernels as its oracle in tests.

// simdKernels names the vector kernels in use ("" for none).
const simdKernels = ""

// depthwiseRow is depthwiseRowScalar.
func depthwiseRow(row, xd, wd, zero []float32, taps []int) {
	depthwiseRowScalar(row, xd, wd, zero, taps)
}

// maxRow is maxRowScalar.
func maxRow(out, row []float32) { maxRowScalar(out, row) }

// reluRow is reluRowScalar.
func reluRow(dst, src []float32) { reluRowScalar(dst, src) }

// relu6Row is relu6RowScalar.
func relu6Row(dst, src []float32) { relu6RowScalar(dst, src) }

// addRow is addRowScalar.
func addRow(row, b []float32) { addRowScalar(row, b) }

// axpy is axpyScalar.
func axpy(y []float32, v float32, x []float32) { axpyScalar(y, v, x) }

// winoInputTile is winoInputTileScalar.
func winoInputTile(out, d *[16][]float32) { winoInputTileScalar(out, d, 0) }

// winoOutputTile is winoOutputTileScalar.
func winoOutputTile(y *[4][]float32, m *[16][]float32, bias []float32) {
	winoOutputTileScalar(y, m, bias, 0)
}
