/** Seeded test inputs: a small PRNG (mulberry32) and random arrays of any dtype. */
import { numpy as np, type Array as JaxArray, type DType } from "../../src/index.js";

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples by Box–Muller. */
export function normals(next: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

const INT_RANGES: Partial<Record<DType, [number, number]>> = {
  int32: [-1000, 1000],
  int16: [-300, 300],
  int8: [-100, 100],
  int4: [-8, 7],
  uint32: [0, 2000],
  uint16: [0, 600],
  uint8: [0, 200],
  bool: [0, 1],
};

/** Random values for `dtype`: normal floats (scaled), or integers from a dtype-appropriate range. */
export function randomValues(next: () => number, n: number, dtype: DType, scale = 1): number[] {
  const range = INT_RANGES[dtype];
  if (range) return Array.from({ length: n }, () => range[0] + Math.floor(next() * (range[1] - range[0] + 1)));
  return normals(next, n).map((v) => v * scale);
}

export function randomArray(next: () => number, shape: readonly number[], dtype: DType = "float32", scale = 1): JaxArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = np.array(dtype === "bool" ? randomValues(next, n, dtype).map((v) => v === 1) : randomValues(next, n, dtype, scale), { dtype });
  return np.reshape(flat, shape);
}
