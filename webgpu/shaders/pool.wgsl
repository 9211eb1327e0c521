// pool.wgsl: N-d max or average pooling over NDHWC data with PyTorch's
// semantics (core.Backend.Pool; see core/cpu/pool.go). The window of
// output o on an axis spans [o*stride - padBefore, + kernel). OP_MAX takes
// the largest input inside it (padding never wins). Otherwise the sum of
// the inputs inside is divided by their number, or with INCLUDE_PAD by the
// number of window positions inside [-padBefore, in + padAfter): positions
// that ceil mode adds past padAfter never count. VEC4: four channels per
// invocation.

struct Params {
	inSize: vec4<i32>,  // D, H, W
	outSize: vec4<i32>, // OD, OH, OW
	k: vec4<i32>,
	stride: vec4<i32>,
	padB: vec4<i32>,
	padA: vec4<i32>,
	c: i32, // channels, or channel quads with VEC4
	n: i32, // invocations: output positions times c
}

//#if VEC4
alias T = vec4<f32>;
//#else
alias T = f32;
//#endif

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let i = i32((wid.x + wid.y * nwg.x) * WG + li);
	if (i >= P.n) {
		return;
	}
	let c = i % P.c;
	var t = i / P.c;
	let ox = t % P.outSize.z;
	t = t / P.outSize.z;
	let oy = t % P.outSize.y;
	t = t / P.outSize.y;
	let oz = t % P.outSize.x;
	let n = t / P.outSize.x;
	let start = vec3<i32>(oz, oy, ox) * P.stride.xyz - P.padB.xyz;
	let end = start + P.k.xyz;
	let lo = max(start, vec3<i32>(0));
	let hi = min(end, P.inSize.xyz);
//#if OP_MAX
	var bits = 0xff800000u; // a runtime -infinity: constants may not be infinite
	var acc = T(bitcast<f32>(bits));
//#else
	var acc = T(0.0);
//#endif
	for (var iz = lo.x; iz < hi.x; iz++) {
		for (var iy = lo.y; iy < hi.y; iy++) {
			let row = ((n * P.inSize.x + iz) * P.inSize.y + iy) * P.inSize.z;
			for (var ix = lo.z; ix < hi.z; ix++) {
				let v = x[(row + ix) * P.c + c];
//#if OP_MAX
				acc = max(acc, v);
//#else
				acc += v;
//#endif
			}
		}
	}
//#if OP_MAX
	y[i] = acc;
//#else
//#if INCLUDE_PAD
	let plo = max(start, -P.padB.xyz);
	let phi = min(end, P.inSize.xyz + P.padA.xyz);
	let span = phi - plo;
//#else
	let span = hi - lo;
//#endif
	y[i] = acc / f32(span.x * span.y * span.z);
//#endif
}
