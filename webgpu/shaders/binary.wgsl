// binary.wgsl: y = a op b with numpy broadcasting (core.Backend.Binary).
// Without BROADCAST the operands have y's shape and are read flat (VEC4:
// four elements per invocation). With BROADCAST each invocation decodes
// its row-major index over the collapsed shape into a's and b's offsets;
// a broadcast axis has stride 0. A_DST / B_DST: the operand is y itself
// (in place), read through y's read-write binding.

struct Params {
	shape: array<vec4<i32>, 2>,
	sa: array<vec4<i32>, 2>,
	sb: array<vec4<i32>, 2>,
	n: i32,    // items: elements, or vec4s with VEC4
	rank: i32, // axes of shape in use (BROADCAST)
}

//#if VEC4
alias T = vec4<f32>;
//#else
alias T = f32;
//#endif

@group(0) @binding(0) var<uniform> P: Params;
//#if A_DST
//#if B_DST
@group(0) @binding(1) var<storage, read_write> y: array<T>;
//#else
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
//#endif
//#else
@group(0) @binding(1) var<storage, read> a: array<T>;
//#if B_DST
@group(0) @binding(2) var<storage, read_write> y: array<T>;
//#else
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
//#endif
//#endif

fn op(u: T, v: T) -> T {
//#if OP_ADD
	return u + v;
//#endif
//#if OP_SUB
	return u - v;
//#endif
//#if OP_MUL
	return u * v;
//#endif
//#if OP_DIV
	return u / v;
//#endif
//#if OP_MAX
	return max(u, v);
//#endif
//#if OP_MIN
	return min(u, v);
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let i = i32((wid.x + wid.y * nwg.x) * WG + li);
	if (i >= P.n) {
		return;
	}
	var ia = i;
	var ib = i;
//#if BROADCAST
	ia = 0;
	ib = 0;
	var t = i;
	for (var d = P.rank - 1; d >= 0; d--) {
		let e = P.shape[d / 4][d % 4];
		let q = t % e;
		t = t / e;
		ia += q * P.sa[d / 4][d % 4];
		ib += q * P.sb[d / 4][d % 4];
	}
//#endif
//#if A_DST
	let u = y[ia];
//#else
	let u = a[ia];
//#endif
//#if B_DST
	let v = y[ib];
//#else
	let v = b[ib];
//#endif
	y[i] = op(u, v);
}
