// copy.wgsl: y[dstOff + i.ds] = x[srcOff + i.ss] for every index vector i
// of the region (core.Backend.Copy): concat, split, slice, pad, transpose.
// Each invocation decodes its row-major index over the collapsed region.
// INPLACE: source and destination are one buffer.

struct Params {
	shape: array<vec4<i32>, 2>,
	ss: array<vec4<i32>, 2>,
	ds: array<vec4<i32>, 2>,
	srcOff: i32,
	dstOff: i32,
	n: i32,
	rank: i32,
}

@group(0) @binding(0) var<uniform> P: Params;
//#if INPLACE
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let i = i32((wid.x + wid.y * nwg.x) * WG + li);
	if (i >= P.n) {
		return;
	}
	var t = i;
	var so = P.srcOff;
	var do_ = P.dstOff;
	for (var d = P.rank - 1; d >= 0; d--) {
		let e = P.shape[d / 4][d % 4];
		let q = t % e;
		t = t / e;
		so += q * P.ss[d / 4][d % 4];
		do_ += q * P.ds[d / 4][d % 4];
	}
//#if INPLACE
	y[do_] = y[so];
//#else
	y[do_] = x[so];
//#endif
}
