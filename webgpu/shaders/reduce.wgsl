// reduce.wgsl: y[o] = fold of x over the reduced axes (core.Backend.Reduce,
// keep-dims). Output o decodes over the kept axes into a base offset in x;
// the j-th element of its fold decodes over the reduced axes. GROUP: one
// workgroup per output, each invocation folding a strided share, then a
// tree in workgroup memory; otherwise one invocation per output. Sums are
// compensated (Kahan), so a long float32 sum stays within a few ulps;
// products are plain float32 products.

struct Params {
	kept: array<vec4<i32>, 2>,
	keptStrides: array<vec4<i32>, 2>,
	red: array<vec4<i32>, 2>,
	redStrides: array<vec4<i32>, 2>,
	nOut: i32,
	count: i32,
	keptRank: i32,
	redRank: i32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn base(o: i32) -> i32 {
	var t = o;
	var off = 0;
	for (var d = P.keptRank - 1; d >= 0; d--) {
		let e = P.kept[d / 4][d % 4];
		off += (t % e) * P.keptStrides[d / 4][d % 4];
		t = t / e;
	}
	return off;
}

fn offset(j: i32) -> i32 {
	var t = j;
	var off = 0;
	for (var d = P.redRank - 1; d >= 0; d--) {
		let e = P.red[d / 4][d % 4];
		off += (t % e) * P.redStrides[d / 4][d % 4];
		t = t / e;
	}
	return off;
}

// Acc is a running fold: s the value, c the Kahan compensation.
struct Acc {
	s: f32,
	c: f32,
}

fn start() -> Acc {
	var bits = 0x7f800000u; // a runtime infinity: constants may not be infinite
	let inf = bitcast<f32>(bits);
//#if OP_MAX
	return Acc(-inf, 0.0);
//#endif
//#if OP_MIN
	return Acc(inf, 0.0);
//#endif
//#if OP_PROD
	return Acc(1.0, 0.0);
//#endif
//#if !OP_MAX
//#if !OP_MIN
//#if !OP_PROD
	return Acc(0.0, 0.0);
//#endif
//#endif
//#endif
}

fn add(a: Acc, v: f32) -> Acc {
//#if OP_MAX
	return Acc(max(a.s, v), 0.0);
//#endif
//#if OP_MIN
	return Acc(min(a.s, v), 0.0);
//#endif
//#if OP_PROD
	return Acc(a.s * v, 0.0);
//#endif
//#if !OP_MAX
//#if !OP_MIN
//#if !OP_PROD
	let z = v - a.c;
	let t = a.s + z;
	return Acc(t, (t - a.s) - z);
//#endif
//#endif
//#endif
}

fn result(a: Acc) -> f32 {
//#if OP_MEAN
	return a.s / f32(P.count);
//#else
	return a.s;
//#endif
}

//#if GROUP
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let o = i32(wid.x + wid.y * nwg.x);
	if (o >= P.nOut) {
		return;
	}
	let b = base(o);
	var a = start();
	for (var j = i32(li); j < P.count; j += WG) {
		a = add(a, x[b + offset(j)]);
	}
	part[li] = a.s - a.c;
	workgroupBarrier();
	for (var h = WG / 2u; h > 0u; h = h / 2u) {
		if (li < h) {
			var m = start();
			m = add(m, part[li]);
			m = add(m, part[li + h]);
			part[li] = m.s;
		}
		workgroupBarrier();
	}
	if (li == 0u) {
		y[o] = result(Acc(part[0], 0.0));
	}
}
//#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let o = i32((wid.x + wid.y * nwg.x) * WG + li);
	if (o >= P.nOut) {
		return;
	}
	let b = base(o);
	var a = start();
	for (var j = 0; j < P.count; j++) {
		a = add(a, x[b + offset(j)]);
	}
	y[o] = result(a);
}
//#endif
