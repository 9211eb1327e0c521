// conv.wgsl: N-d grouped convolution over NDHWC data as an implicit GEMM
// (core.Backend.Conv; 1-D and 2-D run with leading spatial extents of 1).
// For group g (grid z) the GEMM is
//
//	Y[m, n] = act(sum_k A[m, k] W[k, n] + bias[g*CoutG + n])
//	m = ((batch*OD + oz)*OH + oy)*OW + ox        M = N*OD*OH*OW
//	k = ((kz*KH + ky)*KW + kx)*CinG + ci          K = KD*KH*KW*CinG
//	A[m, k] = x[batch, oz*S - P + kz*Dil, ..., g*CinG + ci] (0 in the padding)
//	W[k, n] = w[k*Cout + g*CoutG + n]   (w is [KD, KH, KW, CinG, Cout])
//
// im2col is fused into the tile loader: A is never materialized. The tile
// shape is matmul.wgsl's (a TM x TN workgroup, 4x4 outputs per invocation,
// BK-deep slices in workgroup memory). The workgroup first decodes its BM
// output positions once into workgroup memory (batch offset and the window
// origin per axis); then each invocation's A column k is decoded once per
// step, and each staged element costs one bounds test and one load.
// VEC_A: CinG % 4 == 0, so four consecutive k are four contiguous channels
// of one tap: vec4 loads of x. VEC_B / VEC_OUT: CoutG % 4 == 0, vec4 loads
// of w and vec4 stores of y with the bias and the activation fused.

struct Params {
	inSize: vec4<i32>,  // D, H, W
	outSize: vec4<i32>, // OD, OH, OW
	kSize: vec4<i32>,   // KD, KH, KW
	stride: vec4<i32>,
	dil: vec4<i32>,
	pad: vec4<i32>, // before each spatial axis
	cin: i32,
	cout: i32,
	cinG: i32,
	coutG: i32,
	m: i32,
	k: i32,
	mBase: i32, // first row of this dispatch
	act: i32,      // fused activation: core.UnaryOp
	hasBias: i32,
	alpha: f32,
	beta: f32,
}

const BM = TM * 4;
const BN = TN * 4;
const T = TM * TN;
// A row past M gets this window origin, so that every tap is outside.
const OUTSIDE = -1073741824;

@group(0) @binding(0) var<uniform> P: Params;
//#if VEC_A
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
//#endif
//#if VEC_B
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
//#else
@group(0) @binding(2) var<storage, read> w: array<f32>;
//#endif
//#if VEC_OUT
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;
//#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read> bias: array<f32>; // a dummy without bias

// The staged slices, k-major with four rows (columns) per vec4: element
// (k, m) of A is As[k * BM/4 + m/4][m % 4].
var<workgroup> As: array<vec4<f32>, BK * BM / 4>;
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4>;

fn putA(k: i32, m: i32, v: f32) {
	As[k * (BM / 4) + m / 4][m % 4] = v;
}

fn putB(k: i32, n: i32, v: f32) {
	Bs[k * (BN / 4) + n / 4][n % 4] = v;
}
var<workgroup> rowOff: array<i32, BM>;  // batch offset + group channel base in x
var<workgroup> rowOrg: array<vec3<i32>, BM>; // window origin o*S - P per axis

// tap returns the input offset (dz, dy, dx) of column k's kernel position
// and its channel within the group.
fn tap(k: i32) -> vec4<i32> {
	let t = k / P.cinG;
	let ci = k - t * P.cinG;
	let kx = t % P.kSize.z;
	let t2 = t / P.kSize.z;
	let ky = t2 % P.kSize.y;
	let kz = t2 / P.kSize.y;
	return vec4<i32>(vec3<i32>(kz, ky, kx) * P.dil.xyz, ci);
}

// inside reports whether position p lies in the input.
fn inside(p: vec3<i32>) -> bool {
	return all(vec3<u32>(p) < vec3<u32>(P.inSize.xyz));
}

// at is the element offset of position p's channel 0 from the row base.
fn at(p: vec3<i32>) -> i32 {
	return ((p.x * P.inSize.y + p.y) * P.inSize.z + p.z) * P.cin;
}

fn loadA(l: i32, k0: i32) {
//#if VEC_A
	let kq = (l % (BK / 4)) * 4;
	let k = k0 + kq;
	let kin = k < P.k;
	var d = vec4<i32>(0);
	if (kin) {
		d = tap(k);
	}
	for (var r = l / (BK / 4); r < BM; r += T / (BK / 4)) {
		let p = rowOrg[r] + d.xyz;
		var v = vec4<f32>(0.0);
		if (kin && inside(p)) {
			v = x[(rowOff[r] + at(p) + d.w) / 4];
		}
		putA(kq, r, v.x);
		putA(kq + 1, r, v.y);
		putA(kq + 2, r, v.z);
		putA(kq + 3, r, v.w);
	}
//#else
	let kk = l % BK;
	let k = k0 + kk;
	let kin = k < P.k;
	var d = vec4<i32>(0);
	if (kin) {
		d = tap(k);
	}
	for (var r = l / BK; r < BM; r += T / BK) {
		let p = rowOrg[r] + d.xyz;
		var v = 0.0;
		if (kin && inside(p)) {
			v = x[rowOff[r] + at(p) + d.w];
		}
		putA(kk, r, v);
	}
//#endif
}

fn loadB(l: i32, n0: i32, k0: i32, g: i32) {
	let base = g * P.coutG;
//#if VEC_B
	let c = (l % (BN / 4)) * 4;
	let n = n0 + c;
	for (var kk = l / (BN / 4); kk < BK; kk += T / (BN / 4)) {
		let k = k0 + kk;
		var v = vec4<f32>(0.0);
		if (n < P.coutG && k < P.k) {
			v = w[(k * P.cout + base + n) / 4];
		}
		Bs[kk * (BN / 4) + c / 4] = v;
	}
//#else
	let c = l % BN;
	let n = n0 + c;
	for (var kk = l / BN; kk < BK; kk += T / BN) {
		let k = k0 + kk;
		var v = 0.0;
		if (n < P.coutG && k < P.k) {
			v = w[k * P.cout + base + n];
		}
		putB(kk, c, v);
	}
//#endif
}

@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let l = i32(li);
	let g = i32(wid.z);
	let m0 = P.mBase + i32(wid.y) * BM;
	let n0 = i32(wid.x) * BN;
	// Decode the tile's output positions once.
	for (var r = l; r < BM; r += T) {
		let m = m0 + r;
		if (m < P.m) {
			let ox = m % P.outSize.z;
			let t = m / P.outSize.z;
			let oy = t % P.outSize.y;
			let t2 = t / P.outSize.y;
			let oz = t2 % P.outSize.x;
			let batch = t2 / P.outSize.x;
			rowOff[r] = batch * P.inSize.x * P.inSize.y * P.inSize.z * P.cin + g * P.cinG;
			rowOrg[r] = vec3<i32>(oz, oy, ox) * P.stride.xyz - P.pad.xyz;
		} else {
			rowOff[r] = 0;
			rowOrg[r] = vec3<i32>(OUTSIDE);
		}
	}
	workgroupBarrier();
	let tm = l / TN;
	let tn = l % TN;
	var acc: array<vec4<f32>, 4>;
	for (var k0 = 0; k0 < P.k; k0 += BK) {
		loadA(l, k0);
		loadB(l, n0, k0, g);
		workgroupBarrier();
		for (var kk = 0; kk < BK; kk++) {
			let av = As[kk * (BM / 4) + tm];
			let bv = Bs[kk * (BN / 4) + tn];
			acc[0] += av.x * bv;
			acc[1] += av.y * bv;
			acc[2] += av.z * bv;
			acc[3] += av.w * bv;
		}
		workgroupBarrier();
	}
	let nb = n0 + tn * 4;
	let cb = g * P.coutG + nb; // output channel of column nb
	// The epilogue: bias, activation, store. The column loop's bound is a
	// runtime value so that the activation's switch is compiled once per
	// row, not once per element.
	let cols = min(4, P.coutG - nb);
	for (var i = 0; i < 4; i++) {
		let m = m0 + tm * 4 + i;
		if (m >= P.m || cols <= 0) {
			break;
		}
		var v = acc[i];
		for (var j = 0; j < cols; j++) {
			var s = v[j];
			if (P.hasBias != 0) {
				s += bias[cb + j];
			}
			v[j] = act(P.act, s, P.alpha, P.beta);
		}
//#if VEC_OUT
		y[(m * P.cout + cb) / 4] = v;
//#else
		for (var j = 0; j < cols; j++) {
			y[m * P.cout + cb + j] = v[j];
		}
//#endif
	}
}
