/**
 * `QArray`, a quantized array as data only (qwix's `QArray`): the codes, their scale, an optional zero point and
 * the logical qtype. It lives in core so that gmm backends can consume quantized operands without knowing how
 * they were made (src/quant makes them). It is a pytree node whose children are `qvalue`, `scale` and
 * `zeroPoint` and whose static data is the qtype, so it passes through `jit`, `grad` and `tree.map`, and a jaxpr
 * shows its parts; like any pytree node it holds whatever leaves a transformation puts there, unchecked.
 *
 * Invariants (checked by quant.quantize / dequantize, spec §E.4): `qvalue` has the original shape and the
 * qtype's dtype (`int4` packed two per byte in storage); `scale` has the same rank, each of its dims dividing
 * qvalue's (a 1 on a reduced axis, `dim / blockSize` on a tiled one) and the dequantized dtype; `zeroPoint`,
 * present only for asymmetric (integer) quantization, has the scale's shape and the qtype's dtype.
 */
import type { Array } from "./array.js";
import { registerNode } from "./tree.js";

/** The logical types values quantize to (spec §E.1). */
export type QType = "int8" | "int4" | "float8_e4m3fn" | "float8_e5m2";

export const QTYPES: readonly QType[] = ["int8", "int4", "float8_e4m3fn", "float8_e5m2"];

export class QArray {
  constructor(
    readonly qvalue: Array,
    readonly scale: Array,
    readonly zeroPoint: Array | undefined,
    readonly qtype: QType,
  ) {}

  /** The original (and qvalue's) shape. */
  get shape(): readonly number[] {
    return this.qvalue.shape;
  }

  get ndim(): number {
    return this.qvalue.ndim;
  }

  /** The dtype values dequantize to: the scale's. */
  get dtype(): Array["dtype"] {
    return this.scale.dtype;
  }

  /** Elements per scale entry along each axis (qwix's `scale_tile_shape`). */
  get scaleTileShape(): number[] {
    return this.qvalue.shape.map((d, i) => d / this.scale.shape[i]!);
  }
}

registerNode(QArray, {
  name: "QArray",
  flatten: (q: QArray) => [[q.qvalue, q.scale, q.zeroPoint], q.qtype],
  unflatten: (qtype: QType, [qvalue, scale, zeroPoint]: unknown[]) => new QArray(qvalue as Array, scale as Array, zeroPoint as Array | undefined, qtype),
});
