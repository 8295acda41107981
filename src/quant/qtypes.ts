/**
 * The qtypes and their bounds, exactly as qwix's numerics (spec §E.1): the symmetric bound B divides the
 * calibrated absmax into the scale — `qmax + 0.5` for integers (127.5, 7.5: the top bucket holds
 * [qmax - 0.5, qmax + 0.5), so +absmax lands on a tie and saturates to qmax), `finfo.max` for float8 (448,
 * 57344). Asymmetric quantization (a zero point) exists for the integer qtypes only.
 */
import { ArgumentError } from "../core/errors.js";
import { QTYPES, type QType } from "../core/qarray.js";

export interface QTypeInfo {
  readonly name: QType;
  readonly kind: "int" | "float";
  /** The symmetric bound B: scale = absmax / B. */
  readonly symmetricBound: number;
  /** The largest code (127, 7, 448, 57344); codes saturate to [-max - 1, max] for ints, [-max, max] for floats. */
  readonly max: number;
  /** (qmin, qmax) of asymmetric quantization; undefined where qwix refuses it (float8). */
  readonly asymmetricRange?: readonly [number, number];
  /** A float8's significand bits after the point and smallest normal exponent (its codes' spacing). */
  readonly float?: { readonly mantissaBits: number; readonly minExponent: number };
}

const INFO: Record<QType, QTypeInfo> = {
  int8: { name: "int8", kind: "int", symmetricBound: 127.5, max: 127, asymmetricRange: [-128, 127] },
  int4: { name: "int4", kind: "int", symmetricBound: 7.5, max: 7, asymmetricRange: [-8, 7] },
  float8_e4m3fn: { name: "float8_e4m3fn", kind: "float", symmetricBound: 448, max: 448, float: { mantissaBits: 3, minExponent: -6 } },
  float8_e5m2: { name: "float8_e5m2", kind: "float", symmetricBound: 57344, max: 57344, float: { mantissaBits: 2, minExponent: -14 } },
};

/** Validates a user-supplied qtype, naming the argument. */
export function qtypeInfo(qtype: unknown, argument = "qtype"): QTypeInfo {
  if (typeof qtype !== "string" || !Object.prototype.hasOwnProperty.call(INFO, qtype)) {
    throw new ArgumentError(`${argument}: unsupported qtype ${JSON.stringify(qtype)}; expected one of ${QTYPES.join(", ")}`);
  }
  return INFO[qtype as QType];
}
