// act.wgsl: the elementwise functions of core.UnaryOp, shared by the unary
// kernel and the fused epilogues of matmul, conv and depthwise.
//
// WGSL's exp, log, pow and tanh are only loosely specified (tanh may even
// be sinh/cosh, which overflows), so the transcendental functions are
// written out here from Cephes' single-precision algorithms (Moshier,
// Cephes Math Library): argument reduction plus a minimax polynomial, about
// 1-2 ulp, which the backend test suite holds to rel 1e-5 / abs 1e-6
// against float64. WGSL has no erf: GELU uses erfc from Numerical Recipes
// (erfcc, fractional error < 1.2e-7 everywhere), which stays accurate for
// the negative inputs where 1 + erf(x) cancels.

// winf and wnan are runtime values: a constant expression may not be
// infinite or NaN in WGSL.
fn winf() -> f32 {
	var bits = 0x7f800000u;
	return bitcast<f32>(bits);
}

fn wnan() -> f32 {
	var bits = 0x7fc00000u;
	return bitcast<f32>(bits);
}

// pow2 is 2^e for e in [-126, 127], built from its bits.
fn pow2(e: i32) -> f32 { return bitcast<f32>(u32(e + 127) << 23u); }

// wexp is e^x (Cephes expf): x = n ln2 + r with |r| <= ln2/2, ln2 split in
// two parts so n*ln2 is exact, then a degree-6 polynomial for e^r.
fn wexp(x: f32) -> f32 {
	if (x > 88.7228) { return winf(); }
	if (x < -87.3) { return 0.0; }
	let n = round(x * 1.44269504088896341);
	var r = x - n * 0.693359375;
	r = r - n * -2.12194440e-4;
	let z = r * r;
	let y = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r
		+ 4.1665795894e-2) * r + 1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
	// 2^n in two steps keeps each power normal (n reaches 128 near the top).
	let e = i32(n);
	let h = e / 2;
	return y * pow2(h) * pow2(e - h);
}

// wexpm1 is e^x - 1 without the cancellation near 0: a Taylor series to
// x^8/8! for |x| < 0.5 (truncation < 1.5e-8 relative).
fn wexpm1(x: f32) -> f32 {
	if (abs(x) >= 0.5) { return wexp(x) - 1.0; }
	return x * (1.0 + x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0
		+ x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))));
}

// wlog is ln x (Cephes logf): x = m 2^e with m in [sqrt(1/2), sqrt 2),
// ln m from a degree-9 polynomial in m-1, e*ln2 added in two parts.
fn wlog(x0: f32) -> f32 {
	if (x0 < 0.0) { return wnan(); }
	if (x0 == 0.0) { return -winf(); }
	var x = x0;
	var e = 0.0;
	if (x < 1.17549435e-38) {
		x = x * 8388608.0; // subnormal: scale by 2^23
		e = -23.0;
	}
	let bits = bitcast<u32>(x);
	e = e + f32(i32((bits >> 23u) & 0xffu) - 126);
	var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f000000u); // [0.5, 1)
	if (m < 0.70710678118654752) {
		m = m + m - 1.0;
		e = e - 1.0;
	} else {
		m = m - 1.0;
	}
	let z = m * m;
	var y = ((((((((7.0376836292e-2 * m - 1.1514610310e-1) * m + 1.1676998740e-1) * m
		- 1.2420140846e-1) * m + 1.4249322787e-1) * m - 1.6668057665e-1) * m
		+ 2.0000714765e-1) * m - 2.4999993993e-1) * m + 3.3333331174e-1) * m * z;
	y = y + e * -2.12194440e-4;
	y = y - 0.5 * z;
	return m + y + e * 0.693359375;
}

// wpow is x^a: repeated squaring for integer exponents up to 64 (exact
// signs, two or three roundings), sqrt for 1/2, e^(a ln x) otherwise.
fn wpow(x: f32, a: f32) -> f32 {
	if (a == round(a) && abs(a) <= 64.0) {
		var n = i32(abs(a));
		var base = x;
		var r = 1.0;
		loop {
			if ((n & 1) != 0) { r = r * base; }
			n = n >> 1u;
			if (n == 0) { break; }
			base = base * base;
		}
		if (a < 0.0) { return 1.0 / r; }
		return r;
	}
	if (a == 0.5) { return sqrt(x); }
	if (a == -0.5) { return 1.0 / sqrt(x); }
	return wexp(a * wlog(x));
}

// wtanh is Cephes tanhf: an odd polynomial below 0.625, 1 - 2/(e^2|x| + 1)
// above (saturated at |x| = 44 so e^2|x| stays finite).
fn wtanh(x: f32) -> f32 {
	let ax = abs(x);
	if (ax < 0.625) {
		let z = x * x;
		return ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z
			+ 1.33314422036e-1) * z - 3.33332819422e-1) * z * x + x;
	}
	let t = 1.0 - 2.0 / (wexp(2.0 * min(ax, 44.0)) + 1.0);
	return select(t, -t, x < 0.0);
}

// wsigmoid is 1/(1 + e^-x).
fn wsigmoid(x: f32) -> f32 { return 1.0 / (1.0 + wexp(-x)); }

// werfc is the complementary error function (Numerical Recipes' erfcc,
// a Chebyshev fit with fractional error below 1.2e-7).
fn werfc(x: f32) -> f32 {
	let z = abs(x);
	let t = 1.0 / (1.0 + 0.5 * z);
	let r = t * wexp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
		+ t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
		+ t * (-0.82215223 + t * 0.17087277)))))))));
	return select(r, 2.0 - r, x < 0.0);
}

fn wrelu6(x: f32) -> f32 { return min(max(x, 0.0), 6.0); }

// act applies elementwise op number op (core.UnaryOp's order) with
// parameters a and b. The unary kernel passes a constant, which the
// compiler folds to one case; the GEMM epilogues pass a uniform, so one
// pipeline serves every fused activation.
fn act(op: i32, x: f32, a: f32, b: f32) -> f32 {
	switch op {
		case 0: { return x; }                          // identity
		case 1: { return a * x + b; }                  // affine
		case 2: { return -x; }                         // neg
		case 3: { return abs(x); }                     // abs
		case 4: { return x * x; }                      // square
		case 5: { return sqrt(x); }                    // sqrt
		case 6: { return 1.0 / sqrt(x); }              // rsqrt
		case 7: { return 1.0 / x; }                    // recip
		case 8: { return wexp(x); }                    // exp
		case 9: { return wlog(x); }                    // log
		case 10: { return wpow(x, a); }                // pow
		case 11: { return wsigmoid(x); }               // sigmoid
		case 12: { return wtanh(x); }                  // tanh
		case 13: { return max(x, 0.0); }               // relu
		case 14: { return select(a * x, x, x >= 0.0); } // leaky_relu
		case 15: { return select(a * wexpm1(x), x, x >= 0.0); } // elu
		case 16: { return wrelu6(x); }                 // relu6
		case 17: {                                     // gelu
			// x Phi(x) = x/2 (1 + erf(x/sqrt 2)) = x/2 erfc(-x/sqrt 2)
			return 0.5 * x * werfc(-x * 0.70710678118654752);
		}
		case 18: {                                     // gelu_tanh
			// x/2 (1 + tanh u) = x / (1 + e^-2u), u = sqrt(2/pi) (x + 0.044715 x^3)
			let u = 0.79788456080286536 * (x + 0.044715 * x * x * x);
			return x / (1.0 + wexp(-2.0 * u));
		}
		case 19: { return x / (1.0 + wexp(-x)); }      // silu
		case 20: { return wrelu6(x + 3.0) / 6.0; }     // hard_sigmoid
		case 21: { return x * wrelu6(x + 3.0) / 6.0; } // hard_swish
		case 22: { return min(max(x, a), b); }         // clip
		case 23: { return round(x); }                  // round (WGSL's rounds halves to even)
		case 24: { return floor(x); }                  // floor
		case 25: { return ceil(x); }                   // ceil
		default: { return x; }
	}
}

// act4 applies act to each component, in a loop so that a runtime op
// inlines the switch once.
fn act4(op: i32, v: vec4<f32>, a: f32, b: f32) -> vec4<f32> {
	var r = v;
	for (var j = 0; j < 4; j++) {
		r[j] = act(op, r[j], a, b);
	}
	return r;
}
