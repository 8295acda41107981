/**
 * WGSL helper functions for the kernel IR ops WGSL lacks (erf, erf_inv, log1p, expm1, pow with JavaScript's
 * semantics, rounding half away from zero, range-checked shifts, integer division by zero as the interpreter does it,
 * max and min propagating NaN) or computes too coarsely on some drivers
 * (asin, acos), accurate to a few float32 ulps. The renderer calls them as `wg_<name>(...)` and appends the
 * definitions a shader uses.
 */

/** A finite float32 constant as a WGSL literal. */
const f32 = (x: number): string => `${Math.fround(x).toExponential()}f`;

/** `c0 + x*(c1 + x*(c2 + ...))`. */
const horner = (x: string, coefficients: readonly number[]): string =>
  coefficients.reduceRight((inner, k, i) => (i === coefficients.length - 1 ? f32(k) : `${f32(k)} + ${x} * (${inner})`), "");

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf's Maclaurin series in x² (times x): 2/√π · (-1)^n / (n!·(2n+1)); to 1e-9 relative below |x| = 0.5. */
const ERF_SERIES = Array.from({ length: 8 }, (_, n) => (TWO_OVER_SQRT_PI * (-1) ** n) / (factorial(n) * (2 * n + 1)));
/** erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2): Numerical Recipes' Chebyshev fit, relative error below 1.2e-7. */
const ERFC_FIT = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
/** Giles' single-precision erf_inv ("Approximating the erfinv function"), central and tail polynomials. */
const ERF_INV_CENTRAL = [1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087, -4.39150654e-6, -3.5233877e-6, 3.43273939e-7, 2.81022636e-8];
const ERF_INV_TAIL = [2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773, -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257];
/** log1p(x) = 2·atanh(s), s = x/(2+x): 2·(s + s³/3 + s⁵/5 + ...), to 1e-9 relative for |x| < 0.5. */
const ATANH_SERIES = Array.from({ length: 9 }, (_, n) => 2 / (2 * n + 1));
/** expm1's Maclaurin series 1/n!, n = 1..10. */
const EXPM1_SERIES = Array.from({ length: 10 }, (_, n) => 1 / factorial(n + 1));

/**
 * NaN, and infinity with the sign of `x`, computed from a runtime value: WGSL's constant evaluation rejects
 * non-finite constants.
 */
const nanFrom = (x: string): string => `bitcast<f32>(bitcast<u32>(${x}) | 0x7fc00000u)`;
/** Whether an f32 is a NaN, from its bits (a compiler may fold `x != x` away). */
const isNan = (x: string): string => `((bitcast<u32>(${x}) & 0x7fffffffu) > 0x7f800000u)`;
const infinityWithSignOf = (x: string): string => `bitcast<f32>((bitcast<u32>(${x}) & 0x80000000u) | 0x7f800000u)`;

/** Each helper's source. */
const HELPERS: Record<string, string> = {
  wg_erf: `fn wg_erf(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) { return x * (${horner("(x * x)", ERF_SERIES)}); }
  if (a >= 4.0) { return sign(x); }
  let t = 1.0 / (1.0 + 0.5 * a);
  let erfc = t * exp(-a * a + (${horner("t", ERFC_FIT)}));
  return sign(x) * (1.0 - erfc);
}`,
  wg_erf_inv: `fn wg_erf_inv(x: f32) -> f32 {
  let a = abs(x);
  if (a == 1.0) { return ${infinityWithSignOf("x")}; }
  if (a > 1.0) { return ${nanFrom("x")}; }
  let w = -log((1.0 - x) * (1.0 + x));
  if (w < 5.0) { return x * (${horner("(w - 2.5)", ERF_INV_CENTRAL)}); }
  return x * (${horner("(sqrt(w) - 3.0)", ERF_INV_TAIL)});
}`,
  wg_log1p: `fn wg_log1p(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    let s = x / (2.0 + x);
    return s * (${horner("(s * s)", ATANH_SERIES)});
  }
  return log(1.0 + x);
}`,
  wg_expm1: `fn wg_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5) { return x * (${horner("x", EXPM1_SERIES)}); }
  return exp(x) - 1.0;
}`,
  // exp2(y·log2|x|), with JavaScript's Math.pow rules for y = 0 and for negative bases.
  wg_pow: `fn wg_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let r = exp2(y * log2(abs(x)));
  if (x < 0.0) {
    if (floor(y) != y) { return ${nanFrom("x")}; }
    if (floor(y * 0.5) != y * 0.5) { return -r; }
  }
  return r;
}`,
  // As the WGSL spec defines them, through atan2: some drivers' own asin/acos are accurate only to ~1e-4.
  wg_asin: "fn wg_asin(x: f32) -> f32 { return atan2(x, sqrt((1.0 - x) * (1.0 + x))); }",
  wg_acos: "fn wg_acos(x: f32) -> f32 { return atan2(sqrt((1.0 - x) * (1.0 + x)), x); }",
  wg_round_away: `fn wg_round_away(x: f32) -> f32 {
  let t = trunc(x);
  return select(t, t + sign(x), abs(x - t) >= 0.5);
}`,
  wg_shl_i32: "fn wg_shl_i32(a: i32, s: i32) -> i32 { return select(a << u32(s), 0i, u32(s) >= 32u); }",
  wg_shl_u32: "fn wg_shl_u32(a: u32, s: u32) -> u32 { return select(a << s, 0u, s >= 32u); }",
  wg_shr_i32: "fn wg_shr_i32(a: i32, s: i32) -> i32 { return select(bitcast<i32>(bitcast<u32>(a) >> u32(s)), 0i, u32(s) >= 32u); }",
  wg_shr_u32: "fn wg_shr_u32(a: u32, s: u32) -> u32 { return select(a >> s, 0u, s >= 32u); }",
  wg_sar_i32: "fn wg_sar_i32(a: i32, s: i32) -> i32 { return a >> min(u32(s), 31u); }",
  // WGSL leaves max/min of a NaN to the implementation (Mesa returns the other operand); the IR's propagate it, and
  // of two zeros max takes +0 and min -0 (bitwise and/or of the two), as JavaScript and WebAssembly do.
  wg_fmax: `fn wg_fmax(a: f32, b: f32) -> f32 {
  if (${isNan("a")} || ${isNan("b")}) { return ${nanFrom("a + b")}; }
  return select(max(a, b), bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)), a == b);
}`,
  wg_fmin: `fn wg_fmin(a: f32, b: f32) -> f32 {
  if (${isNan("a")} || ${isNan("b")}) { return ${nanFrom("a + b")}; }
  return select(min(a, b), bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)), a == b);
}`,
  wg_div_i32: "fn wg_div_i32(a: i32, b: i32) -> i32 { return select(a / b, -1i, b == 0i); }",
  wg_div_u32: "fn wg_div_u32(a: u32, b: u32) -> u32 { return select(a / b, 0xffffffffu, b == 0u); }",
  wg_rem_i32: "fn wg_rem_i32(a: i32, b: i32) -> i32 { return select(a % b, a, b == 0i); }",
  wg_rem_u32: "fn wg_rem_u32(a: u32, b: u32) -> u32 { return select(a % b, a, b == 0u); }",
};

/** The definitions of the helpers `code` calls. */
export function helpersFor(code: string): string[] {
  return Object.entries(HELPERS)
    .filter(([name]) => code.includes(`${name}(`))
    .map(([, source]) => source);
}
