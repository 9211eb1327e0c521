package cpu

// strided is an elementwise walk over one shape for up to three operands,
// each with its own strides (0 on an axis it broadcasts over), with the
// axes simplified: extent-1 axes are dropped and neighbouring axes merged
// where every operand steps through them as through one axis. The last
// axis is the row that the fast kernels loop over; the rest are walked
// with offsets updated by addition.
type strided struct {
	ext []int    // extents, outermost first; at least one axis
	st  [3][]int // per operand, the stride of each axis
	ops int      // number of operands
}

// newStrided simplifies shape with the strides of each operand.
func newStrided(shape []int, strides ...[]int) strided {
	s := strided{ops: len(strides)}
	for a, e := range shape {
		if e == 1 {
			continue
		}
		if n := len(s.ext); n > 0 && s.mergeable(strides, a, e) {
			s.ext[n-1] *= e
			for j := range strides {
				s.st[j][n-1] = strides[j][a]
			}
			continue
		}
		s.ext = append(s.ext, e)
		for j := range strides {
			s.st[j] = append(s.st[j], strides[j][a])
		}
	}
	if len(s.ext) == 0 {
		s.ext = []int{1}
		for j := range strides {
			s.st[j] = []int{0}
		}
	}
	return s
}

// mergeable reports whether axis a (extent e) continues the last kept
// axis for every operand: that axis's stride is e times a's.
func (s *strided) mergeable(strides [][]int, a, e int) bool {
	n := len(s.ext) - 1
	for j := range strides {
		if s.st[j][n] != e*strides[j][a] {
			return false
		}
	}
	return true
}

// row returns the length of a row and each operand's stride along it.
func (s *strided) row() (n int, st [3]int) {
	last := len(s.ext) - 1
	for j := 0; j < s.ops; j++ {
		st[j] = s.st[j][last]
	}
	return s.ext[last], st
}

// rows calls f with each operand's offset at the start of every row, in
// row-major order, starting from off. It calls nothing when the shape is
// empty.
func (s *strided) rows(off [3]int, f func(o [3]int)) {
	outer := len(s.ext) - 1
	for _, e := range s.ext {
		if e == 0 {
			return
		}
	}
	idx := make([]int, outer)
	for {
		f(off)
		k := outer - 1
		for ; k >= 0; k-- {
			idx[k]++
			for j := 0; j < s.ops; j++ {
				off[j] += s.st[j][k]
			}
			if idx[k] < s.ext[k] {
				break
			}
			for j := 0; j < s.ops; j++ {
				off[j] -= s.ext[k] * s.st[j][k]
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}
