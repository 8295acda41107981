/** The golden cases of tests/fixtures/quant.json (scripts/gen_quant_fixtures.py) and their arrays. */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { type Array as A, type DType, numpy as np, quant } from "../../src/index.js";

export interface Tensor {
  shape: number[];
  dtype: string;
  values: (number | string)[];
}

export interface QuantCase {
  name: string;
  x: Tensor;
  qtype: quant.QType;
  channelwise_axes: number[];
  tiled_axes: Record<string, number>;
  calibration: string;
  qvalue: Tensor;
  scale: Tensor;
  zero_point: Tensor | null;
  dequantized: Tensor;
  cotangent?: Tensor;
  grad?: Tensor;
}

export const cases = (JSON.parse(readFileSync(new URL("../fixtures/quant.json", import.meta.url), "utf8")) as { cases: QuantCase[] }).cases;

const decode = (v: number | string): number => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number));

export const values = (t: Tensor): number[] => t.values.map(decode);

export const tensor = (t: Tensor): A => np.reshape(np.array(values(t), { dtype: t.dtype as DType }), t.shape);

export const optionsOf = (c: QuantCase): quant.QuantizeOptions => ({
  qtype: c.qtype,
  channelwiseAxes: c.channelwise_axes,
  tiledAxes: Object.fromEntries(Object.entries(c.tiled_axes).map(([axis, size]) => [Number(axis), size])),
  calibration: c.calibration,
});

/** Shape, dtype and values equal bit for bit (NaN equals NaN; -0 differs from 0). */
export async function expectExact(actual: A, expected: Tensor, what: string): Promise<void> {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what} dtype`).toBe(expected.dtype);
  const got = globalThis.Array.from(await actual.data());
  const want = values(expected);
  const differ = want.flatMap((w, i) => (Object.is(w, got[i]) ? [] : [`[${i}] ${got[i]} != ${w}`]));
  expect(differ, what).toEqual([]);
}
