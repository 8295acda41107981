/**
 * Calibration: the range a quantized tensor must cover, per scale entry (spec §E.2, qwix's `calibrate`).
 * Methods, in qwix's string form `"<method>[,args]"` (case-insensitive) or as an object:
 * - `absmax[,c]`: A = max|x| (· c), symmetric;
 * - `minmax[,c]`: lo = min(min x, 0), hi = max(max x, 0) (· c), asymmetric — integer qtypes only;
 * - `rms,c`: A = sqrt(mean x²) · c (c required), symmetric;
 * - `fixed,lo,hi` or `fixed,c` (= `fixed,-c,c`): always per-tensor, the range must contain 0 and be non-empty;
 *   symmetric with A = hi when lo = -hi, else asymmetric.
 * Statistics are taken over every axis but the channelwise ones and, on a tiled axis, within each block; they are
 * computed in the input's dtype as jax.numpy does (`rms` sums float32 squares: jnp.mean upcasts narrow floats).
 * Unlike qwix, a multiplier must be a positive finite number (qwix would accept `absmax,-1` and produce a
 * negative scale).
 */
import type { Array } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";
import * as lax from "../ops/lax/api.js";

export type CalibrationMethod =
  | { readonly method: "absmax"; readonly multiplier?: number }
  | { readonly method: "minmax"; readonly multiplier?: number }
  | { readonly method: "rms"; readonly multiplier: number }
  | { readonly method: "fixed"; readonly min: number; readonly max: number };

/** A calibration method, as qwix's string (`"absmax"`, `"rms,2"`, `"fixed,-224,224"`) or as an object. */
export type Calibration = string | CalibrationMethod;

const FORMS = "absmax[,c], minmax[,c], rms,c, fixed,lo,hi or fixed,c";

/** Parses and validates a calibration; errors name the calibration as given. */
export function parseCalibration(calibration: Calibration): CalibrationMethod {
  const shown = typeof calibration === "string" ? `'${calibration}'` : JSON.stringify(calibration);
  const fail = (why: string): never => {
    throw new ArgumentError(`quantize: calibration ${shown}: ${why}`);
  };
  let method: string;
  let args: number[];
  if (typeof calibration === "string") {
    const [name, ...rest] = calibration.toLowerCase().split(",").map((part) => part.trim());
    method = name!;
    args = rest.map((text) => (text === "" || !Number.isFinite(Number(text)) ? fail(`argument '${text}' is not a finite number`) : Number(text)));
  } else if (typeof calibration === "object" && calibration !== null) {
    method = calibration.method;
    const given = calibration.method === "fixed" ? [calibration.min, calibration.max] : [calibration.multiplier];
    args = given.filter((v) => v !== undefined).map((v) => (typeof v === "number" && Number.isFinite(v) ? v : fail(`${JSON.stringify(v)} is not a finite number`)));
  } else {
    return fail(`expected a string (${FORMS}) or an object {method, ...}`);
  }
  const multiplier = (): number | undefined => {
    if (args.length > 1) fail(`${method} takes at most one argument (a multiplier), got ${args.length}`);
    if (args.length === 1 && !(args[0]! > 0)) fail(`the multiplier must be positive, got ${args[0]}`);
    return args[0];
  };
  switch (method) {
    case "absmax":
    case "minmax":
      return { method, multiplier: multiplier() };
    case "rms": {
      const c = multiplier();
      return c === undefined ? fail("a scale factor is required for RMS calibration (e.g. 'rms,2')") : { method, multiplier: c };
    }
    case "fixed": {
      if (args.length !== 1 && args.length !== 2) fail("a fixed range is required for fixed calibration ('fixed,lo,hi' or 'fixed,c')");
      const [min, max] = args.length === 1 ? [-args[0]!, args[0]!] : [args[0]!, args[1]!];
      if (min > 0 || max < 0 || min >= max) fail(`the range must contain 0 and be non-empty, got [${min}, ${max}]`);
      return { method, min, max };
    }
    default:
      return fail(`unsupported calibration method '${method}'; expected ${FORMS}`);
  }
}

/** Whether a calibration gives a symmetric range (no zero point). */
export const isSymmetric = (c: CalibrationMethod): boolean => c.method === "absmax" || c.method === "rms" || (c.method === "fixed" && c.min + c.max === 0);

/** Where the statistics of a quantized array come from: `x` reshaped to `splitShape` (each tiled axis split into
 * (blocks, blockSize)), reduced over `reduceAxes` of that shape, reshaped to `scaleShape`. */
export interface Layout {
  readonly scaleShape: readonly number[];
  readonly splitShape: readonly number[];
  readonly reduceAxes: readonly number[];
}

/** The calibrated range, each of the scale's shape: `absmax` (symmetric) or `min` and `max` (asymmetric). */
export type Range = { readonly absmax: Array } | { readonly min: Array; readonly max: Array };

/** Computes the range of `x` by `calibration` over the blocks of `layout`. */
export function calibrate(x: Array, layout: Layout, calibration: CalibrationMethod): Range {
  const split = lax.reshape(x, layout.splitShape);
  const toScale = (stat: Array): Array => lax.reshape(stat, layout.scaleShape);
  const times = (a: Array, c: number | undefined): Array => (c === undefined ? a : lax.mul(a, c));
  switch (calibration.method) {
    case "absmax":
      return { absmax: times(toScale(lax.reduceMax(lax.abs(split), layout.reduceAxes)), calibration.multiplier) };
    case "minmax":
      return {
        min: times(lax.min(0, toScale(lax.reduceMin(split, layout.reduceAxes))), calibration.multiplier),
        max: times(lax.max(0, toScale(lax.reduceMax(split, layout.reduceAxes))), calibration.multiplier),
      };
    case "rms": {
      const count = layout.reduceAxes.reduce((n, axis) => n * layout.splitShape[axis]!, 1);
      const sum = lax.reduceSum(lax.convertElementType(lax.square(split), "float32"), layout.reduceAxes);
      const mean = lax.convertElementType(lax.div(sum, count), x.dtype);
      return { absmax: lax.mul(lax.sqrt(toScale(mean)), calibration.multiplier) };
    }
    case "fixed": {
      const constant = (value: number): Array => lax.broadcast(lax.convertElementType(value, x.dtype), layout.scaleShape.map(() => 1));
      return calibration.min + calibration.max === 0 ? { absmax: constant(calibration.max) } : { min: constant(calibration.min), max: constant(calibration.max) };
    }
  }
}
