// unary.wgsl: y[i] = act(x[i]) for every element (core.Backend.Unary);
// the op is the constant ACT, so each op compiles to its own pipeline.
// VEC4: four elements per invocation (n % 4 == 0). INPLACE: dst is x, one
// read-write binding (WebGPU forbids binding a buffer both read-only and
// writable in one dispatch).

struct Params {
	n: i32, // items: elements, or vec4s with VEC4
	alpha: f32,
	beta: f32,
}

//#if VEC4
alias T = vec4<f32>;
//#else
alias T = f32;
//#endif

@group(0) @binding(0) var<uniform> P: Params;
//#if INPLACE
@group(0) @binding(1) var<storage, read_write> y: array<T>;
//#else
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
	@builtin(local_invocation_index) li: u32) {
	let i = i32((wid.x + wid.y * nwg.x) * WG + li);
	if (i >= P.n) {
		return;
	}
//#if INPLACE
	let v = y[i];
//#else
	let v = x[i];
//#endif
//#if VEC4
	y[i] = act4(ACT, v, P.alpha, P.beta);
//#else
	y[i] = act(ACT, v, P.alpha, P.beta);
//#endif
}
