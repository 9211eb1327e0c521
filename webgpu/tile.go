package webgpu

// The GEMM kernels (matmul.wgsl, conv.wgsl) compute a BM x BN output tile
// per workgroup of tileThreads = TM*TN invocations; invocation (tm, tn)
// owns a 4x4 block of it (rows tm*4.., columns tn*4..) in four vec4
// accumulators. Each step stages a BM x tileK slice of A and a tileK x BN
// slice of B in workgroup memory (k-major, so the inner loop reads four
// consecutive rows and four consecutive columns), with zeros past the
// matrix edges, so any M, N and K work.
const (
	tileK       = 16
	tileThreads = 64
)

// tile is a workgroup shape: invocations along M and along N.
type tile struct{ tm, tn int }

// bm and bn are the output tile's extents.
func (t tile) bm() int { return 4 * t.tm }
func (t tile) bn() int { return 4 * t.tn }

// The tile shapes: square 32x32 for general problems, 64x16 for few
// output channels (conv layers with Cout <= 16, where a square tile would
// compute at least half padding), 16x64 for few rows (a dense layer on a
// small batch).
var (
	tileSquare = tile{8, 8}
	tileNarrow = tile{16, 4}
	tileWide   = tile{4, 16}
)

// chooseTile picks the tile of an m x n output. Each shape is a pipeline
// to compile, so the rare shapes are used only where they halve the work
// of padding.
func chooseTile(m, n int) tile {
	switch {
	case n <= 16 && m > 32:
		return tileNarrow
	case m <= 16 && n > 32:
		return tileWide
	}
	return tileSquare
}

// rowChunks splits m rows into dispatches whose row-tile count fits one
// grid dimension: it returns the first row of each chunk and its number of
// tiles.
func rowChunks(m, bm, maxDim int) (starts, counts []int) {
	tilesM := ceilDiv(m, bm)
	for t := 0; t < tilesM; t += maxDim {
		starts = append(starts, t*bm)
		counts = append(counts, min(maxDim, tilesM-t))
	}
	return starts, counts
}
