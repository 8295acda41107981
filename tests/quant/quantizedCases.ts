/**
 * Shared data and float64 oracles of the quantized-gmm tests: operands with a group boundary inside a block of
 * 128 rows and rows past every group, fake quantization on the host, and products checked with a tolerance
 * scaled by the sum of absolute products (float32 accumulation error).
 */
import { expect } from "vitest";
import { type Array as A, type GmmBackend, gmm, lax, numpy as np, quant, tgmm, vjp } from "../../src/index.js";
import { gmmOracle, tgmmOracle } from "../ops/gmm/oracle.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(97);
export const [M, K, N, G] = [150, 256, 128, 3];
// Boundaries at rows 50 and 120 fall inside the first block of 128 rows; rows 140-149 belong to no group.
export const SIZES = [50, 70, 20];
export const groupSizes = np.array(SIZES, { dtype: "int32" });
export const QTYPES = ["int8", "int4", "float8_e4m3fn"] as const;
export const MODES = [
  { name: "per-channel", blockSize: undefined },
  { name: "block-wise 128", blockSize: 128 },
] as const;

export const lhs = randomArray(next, [M, K]);
export const rhs = randomArray(next, [G, K, N]);
export const rhsT = randomArray(next, [G, N, K]);
export const dout = randomArray(next, [M, N]);
export const tLhs = randomArray(next, [K, M]);
export const tRhs = randomArray(next, [M, N]);
export const tDout = randomArray(next, [G, K, N]);

export const host = (x: A): Float64Array => Float64Array.from(x.dataSync() as ArrayLike<number>);
export const abs = (xs: Float64Array): Float64Array => xs.map(Math.abs);
export const transpose2 = (x: Float64Array, rows: number, cols: number): Float64Array => Float64Array.from({ length: rows * cols }, (_, i) => x[(i % rows) * cols + Math.floor(i / rows)]!);
export const swapLast = (x: Float64Array, g: number, a: number, b: number): Float64Array =>
  Float64Array.from({ length: g * a * b }, (_, i) => {
    const [j, rest] = [Math.floor(i / (a * b)), i % (a * b)];
    return x[j * a * b + (rest % a) * b + Math.floor(rest / a)]!;
  });

/** fake-quant: 2-D x quantized as given and dequantized, on the host (x padded with zeros along `padAxis` to `padTo` first). */
export function fakeQuant(x: A, options: quant.QuantizeOptions, padAxis?: number, padTo?: number): Float64Array {
  if (padAxis === undefined || x.shape[padAxis] === padTo) return host(quant.dequantize(quant.quantize(x, options)));
  const [rows, cols] = x.shape as [number, number];
  const widths = x.shape.map((d, a) => [0, a === padAxis ? padTo! - d : 0, 0] as const);
  const padded = host(quant.dequantize(quant.quantize(lax.pad(x, 0, widths), options)));
  const stride = padAxis === 1 ? padTo! : cols;
  return Float64Array.from({ length: rows * cols }, (_, i) => padded[Math.floor(i / cols) * stride + (i % cols)]!);
}

/**
 * Checks `actual` against a float64 product `expected`, with the product of absolute values `bound` (Σ|a||b|)
 * scaling the tolerance: float32 accumulation over `terms` products is within terms·2^-24·Σ|a||b|.
 */
export function expectProduct(actual: A, expected: Float64Array, bound: Float64Array, terms: number): void {
  const got = host(actual);
  expect(got.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!) / (terms * 2 ** -24 * bound[i]! + 1e-30));
  expect(worst).toBeLessThan(1);
}

export const gmmCase = (transposeRhs: boolean, k = K, n = N) => ({ m: M, k, n, groups: G, groupSizes: SIZES, groupOffset: 0, transposeRhs });
export const tgmmCase = { m: M, k: K, n: N, groups: G, groupSizes: SIZES, groupOffset: 0 };

/** The float64 gmm of two host operands (rhs in its own layout) and its absolute-value bound. */
export const gmm64 = (l: Float64Array, r: Float64Array, transposeRhs: boolean, k = K, n = N): [Float64Array, Float64Array] => [
  gmmOracle(gmmCase(transposeRhs, k, n), l, r),
  gmmOracle(gmmCase(transposeRhs, k, n), abs(l), abs(r)),
];
export const tgmm64 = (l: Float64Array, r: Float64Array): [Float64Array, Float64Array] => [tgmmOracle(tgmmCase, l, r), tgmmOracle(tgmmCase, abs(l), abs(r))];

/** gmm forward and its two gradients; tgmm forward and its two gradients — all on `backend`. */
export function program(backend: GmmBackend, transposeRhs: boolean) {
  return (l: A, r: A, d: A, tl: A, tr: A, td: A): A[] => {
    const [out, pullback] = vjp((a: A, b: A) => gmm(a, b, groupSizes, { backend, transposeRhs }), l, r) as [A, (ct: A) => A[]];
    const [tout, tPullback] = vjp((a: A, b: A) => tgmm(a, b, groupSizes, { backend }), tl, tr) as [A, (ct: A) => A[]];
    return [out, ...pullback(d), tout, ...tPullback(td)];
  };
}

export const tiles = (axis: number, blockSize?: number): Record<number, number> => (blockSize ? { [axis]: blockSize } : {});
export const lhsAxes = (blockSize?: number) => ({ channelwiseAxes: [0], tiledAxes: tiles(1, blockSize) });
/** rhs [G,k,n] (or [G,n,k]): per output column shared by the groups, or per group in blocks along k. */
export const rhsAxes = (transposeRhs: boolean, blockSize?: number) => {
  const [kAxis, nAxis] = transposeRhs ? [2, 1] : [1, 2];
  return blockSize ? { channelwiseAxes: [0, nAxis], tiledAxes: { [kAxis]: blockSize } } : { channelwiseAxes: [nAxis] };
};

