package webgpu

// maxRank is the rank the index-decoding kernels (binary, reduce, copy)
// handle after collapsing: two vec4<i32> of extents and strides.
const maxRank = 8

// collapse simplifies a strided iteration over shape, read or written
// through one stride vector per operand: axes of extent 1 go, and two
// neighbouring axes merge when every operand steps over the inner one
// contiguously (stride[i] == stride[i+1]*shape[i+1]; broadcast zeros
// included). The iteration order of the elements is unchanged.
func collapse(shape []int, strides ...[]int) ([]int, [][]int) {
	var s []int
	st := make([][]int, len(strides))
	for i, e := range shape {
		if e == 1 {
			continue
		}
		if n := len(s); n > 0 {
			merge := true
			for k := range strides {
				if st[k][n-1] != strides[k][i]*e {
					merge = false
					break
				}
			}
			if merge {
				s[n-1] *= e
				for k := range strides {
					st[k][n-1] = strides[k][i]
				}
				continue
			}
		}
		s = append(s, e)
		for k := range strides {
			st[k] = append(st[k], strides[k][i])
		}
	}
	return s, st
}

// rowMajor returns the C-order strides of shape.
func rowMajor(shape []int) []int {
	st := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = n
		n *= shape[i]
	}
	return st
}

// broadcast returns the strides of a tensor of shape s read along the axes
// of out: 0 where s has extent 1 and out does not.
func broadcast(s, out []int) []int {
	st := rowMajor(s)
	for i := range st {
		if s[i] == 1 && out[i] != 1 {
			st[i] = 0
		}
	}
	return st
}
