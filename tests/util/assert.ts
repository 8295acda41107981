/** Numerical assertions with tolerances fitted to the dtype. */
import { expect } from "vitest";
import type { Array as JaxArray, DType } from "../../src/index.js";

/** Relative tolerance of one rounding in `dtype` (a few ulps for floats, exact for integers). */
export function tolerance(dtype: DType): number {
  switch (dtype) {
    case "float64":
      return 1e-13;
    case "float32":
      return 1e-6;
    case "float16":
      return 2e-3;
    case "bfloat16":
      return 1.6e-2;
    case "float8_e4m3fn":
      return 1.3e-1;
    case "float8_e5m2":
      return 2.5e-1;
    default:
      return 0;
  }
}

/** Checks `actual` against expected values elementwise: |a - e| <= atol + rtol·|e|; NaNs must match. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-6, atol = 0): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) {
        worst = i;
        worstErr = Infinity;
        break;
      }
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (!(err <= 1) && err > worstErr) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Checks an Array's shape, dtype and values. */
export function expectArray(x: JaxArray, shape: readonly number[], dtype: DType, values: ArrayLike<number>, rtol = tolerance(dtype), atol = 0): void {
  expect(x.shape).toEqual(shape);
  expect(x.dtype).toBe(dtype);
  expectClose(x.dataSync(), values, rtol, atol);
}
