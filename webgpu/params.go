package webgpu

import "math"

// params packs a shader's uniform struct as 32-bit words, in WGSL's
// uniform layout: scalars take one word, vec4<i32> and array<vec4<i32>, n>
// start on a 16-byte boundary. Each shader's Params struct lists its
// fields in the order the planner packs them.
type params struct{ w []uint32 }

// i appends i32 fields.
func (p *params) i(v ...int) *params {
	for _, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			panic("webgpu: uniform value out of the i32 range")
		}
		p.w = append(p.w, uint32(int32(x)))
	}
	return p
}

// f appends f32 fields.
func (p *params) f(v ...float32) *params {
	for _, x := range v {
		p.w = append(p.w, math.Float32bits(x))
	}
	return p
}

// vec appends a vec4<i32>, or an array<vec4<i32>, n/4> when n > 4: the
// values of v padded with fill up to n entries (n a multiple of 4).
func (p *params) vec(n, fill int, v ...int) *params {
	if n%4 != 0 || len(v) > n {
		panic("webgpu: bad uniform vector")
	}
	p.align()
	for i := 0; i < n; i++ {
		if i < len(v) {
			p.i(v[i])
		} else {
			p.i(fill)
		}
	}
	return p
}

// align pads to a 16-byte boundary.
func (p *params) align() *params {
	for len(p.w)%4 != 0 {
		p.w = append(p.w, 0)
	}
	return p
}

// words returns the struct padded to a multiple of 16 bytes.
func (p *params) words() []uint32 {
	p.align()
	if len(p.w)*4 > uniformSize {
		panic("webgpu: uniforms larger than uniformSize")
	}
	return p.w
}
