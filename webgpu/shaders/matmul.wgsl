// matmul.wgsl: y[m,n] = act(sum_k A[m,k] B[k,n] + bias[n]) (core.Backend.
// MatMul, and 1x1 convolutions as plain GEMMs). A is a[m*K + k], or
// a[k*M + m] with TRANS_A; B is b[k*N + n], or b[n*K + k] with TRANS_B.
//
// Tiling (see tile.go): a workgroup of TM x TN invocations computes a
// BM x BN tile, BM = 4 TM and BN = 4 TN; invocation (tm, tn) owns the 4x4
// block at rows 4 tm, columns 4 tn. Each step of BK along K stages A's
// BM x BK slice and B's BK x BN slice in workgroup memory, k-major, with
// zeros past the edges. Loads are arranged so that neighbouring
// invocations read neighbouring addresses; VEC_A / VEC_B read vec4s along
// the contiguous axis (K % 4 == 0 / N % 4 == 0), VEC_OUT stores vec4s.

struct Params {
	m: i32,
	n: i32,
	k: i32,
	mBase: i32, // first row of this dispatch (grids taller than 65535 tiles are split)
	act: i32,      // fused activation: core.UnaryOp
	hasBias: i32,
	alpha: f32,
	beta: f32,
}

const BM = TM * 4;
const BN = TN * 4;
const T = TM * TN;

@group(0) @binding(0) var<uniform> P: Params;
//#if VEC_A
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
//#else
@group(0) @binding(1) var<storage, read> a: array<f32>;
//#endif
//#if VEC_B
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
//#else
@group(0) @binding(2) var<storage, read> b: array<f32>;
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

fn loadA(l: i32, m0: i32, k0: i32) {
//#if TRANS_A
	// Neighbours along m, which is contiguous in a.
	let r = l % BM;
	let m = m0 + r;
	for (var kk = l / BM; kk < BK; kk += T / BM) {
		let k = k0 + kk;
		var v = 0.0;
		if (m < P.m && k < P.k) {
			v = a[k * P.m + m];
		}
		putA(kk, r, v);
	}
//#else
//#if VEC_A
	let kq = (l % (BK / 4)) * 4;
	let k = k0 + kq;
	for (var r = l / (BK / 4); r < BM; r += T / (BK / 4)) {
		let m = m0 + r;
		var v = vec4<f32>(0.0);
		if (m < P.m && k < P.k) {
			v = a[(m * P.k + k) / 4];
		}
		putA(kq, r, v.x);
		putA(kq + 1, r, v.y);
		putA(kq + 2, r, v.z);
		putA(kq + 3, r, v.w);
	}
//#else
	let kk = l % BK;
	let k = k0 + kk;
	for (var r = l / BK; r < BM; r += T / BK) {
		let m = m0 + r;
		var v = 0.0;
		if (m < P.m && k < P.k) {
			v = a[m * P.k + k];
		}
		putA(kk, r, v);
	}
//#endif
//#endif
}

fn loadB(l: i32, n0: i32, k0: i32) {
//#if TRANS_B
	// Neighbours along k, which is contiguous in b.
	let kk = l % BK;
	let k = k0 + kk;
	for (var c = l / BK; c < BN; c += T / BK) {
		let n = n0 + c;
		var v = 0.0;
		if (n < P.n && k < P.k) {
			v = b[n * P.k + k];
		}
		putB(kk, c, v);
	}
//#else
//#if VEC_B
	let c = (l % (BN / 4)) * 4;
	let n = n0 + c;
	for (var kk = l / (BN / 4); kk < BK; kk += T / (BN / 4)) {
		let k = k0 + kk;
		var v = vec4<f32>(0.0);
		if (n < P.n && k < P.k) {
			v = b[(k * P.n + n) / 4];
		}
		Bs[kk * (BN / 4) + c / 4] = v;
	}
//#else
	let c = l % BN;
	let n = n0 + c;
	for (var kk = l / BN; kk < BK; kk += T / BN) {
		let k = k0 + kk;
		var v = 0.0;
		if (n < P.n && k < P.k) {
			v = b[k * P.n + n];
		}
		putB(kk, c, v);
	}
//#endif
//#endif
}

@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
	let l = i32(li);
	let m0 = P.mBase + i32(wid.y) * BM;
	let n0 = i32(wid.x) * BN;
	let tm = l / TN;
	let tn = l % TN;
	var acc: array<vec4<f32>, 4>;
	for (var k0 = 0; k0 < P.k; k0 += BK) {
		loadA(l, m0, k0);
		loadB(l, n0, k0);
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
	// The epilogue: bias, activation, store. The column loop's bound is a
	// runtime value so that the activation's switch is compiled once per
	// row, not once per element.
	let cols = min(4, P.n - nb);
	for (var i = 0; i < 4; i++) {
		let m = m0 + tm * 4 + i;
		if (m >= P.m || cols <= 0) {
			break;
		}
		var v = acc[i];
		for (var j = 0; j < cols; j++) {
			var s = v[j];
			if (P.hasBias != 0) {
				s += bias[nb + j];
			}
			v[j] = act(P.act, s, P.alpha, P.beta);
		}
//#if VEC_OUT
		y[(m * P.n + nb) / 4] = v;
//#else
		for (var j = 0; j < cols; j++) {
			y[m * P.n + nb + j] = v[j];
		}
//#endif
	}
}
