// depthwise.wgsl: convolutions whose groups read one input channel each
// (depthwise with a channel multiplier, and single-channel inputs):
//
//	y[b, o, co] = act(bias[co] + sum over taps k of
//	              x[b, o*S - P + k*Dil, co / mult] * w[k, 0, co])
//
// with w [KD, KH, KW, 1, Cout] and mult = Cout / Cin. No reduction over
// channels is left to tile: one invocation per output position and
// channel; VEC4 (mult 1, C % 4 == 0) handles four channels with vec4 loads
// of x, w and bias.

struct Params {
	inSize: vec4<i32>,
	outSize: vec4<i32>,
	kSize: vec4<i32>,
	stride: vec4<i32>,
	dil: vec4<i32>,
	pad: vec4<i32>,
	cin: i32,
	cout: i32,
	mult: i32,
	c: i32, // channels per position: Cout, or Cout/4 with VEC4
	n: i32, // invocations
	act: i32,      // fused activation: core.UnaryOp
	hasBias: i32,
	alpha: f32,
	beta: f32,
}

//#if VEC4
alias T = vec4<f32>;
//#else
alias T = f32;
//#endif

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<storage, read> bias: array<T>; // a dummy without bias

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
	let b = t / P.outSize.x;
	let org = vec3<i32>(oz, oy, ox) * P.stride.xyz - P.pad.xyz;
//#if VEC4
	let ci = c;
	let cstride = P.c;
//#else
	let ci = c / P.mult;
	let cstride = P.cin;
//#endif
	var acc = T(0.0);
	if (P.hasBias != 0) {
		acc = bias[c];
	}
	var tp = 0;
	for (var kz = 0; kz < P.kSize.x; kz++) {
		let iz = org.x + kz * P.dil.x;
		for (var ky = 0; ky < P.kSize.y; ky++) {
			let iy = org.y + ky * P.dil.y;
			for (var kx = 0; kx < P.kSize.z; kx++) {
				let ix = org.z + kx * P.dil.z;
				if (all(vec3<u32>(vec3<i32>(iz, iy, ix)) < vec3<u32>(P.inSize.xyz))) {
					let xi = ((b * P.inSize.x + iz) * P.inSize.y + iy) * P.inSize.z + ix;
					acc += x[xi * cstride + ci] * w[tp * P.c + c];
				}
				tp++;
			}
		}
	}
//#if VEC4
	y[i] = act4(P.act, acc, P.alpha, P.beta);
//#else
	y[i] = act(P.act, acc, P.alpha, P.beta);
//#endif
}
