/**
 * Quantization rules: which operands of a product are quantized, to what and how (qwix's `QtRule`, the fields
 * the seed uses, camelCased). A rule is validated once, when `quantized(backend, rule)` or `quant.transform`
 * receives it, so a typo or an unsupported pairing is an error naming the field, not a failure inside a trace.
 */
import { ArgumentError } from "../core/errors.js";
import type { QType } from "../core/qarray.js";
import { type Calibration, type CalibrationMethod, isSymmetric, parseCalibration } from "./calibration.js";
import { qtypeInfo } from "./qtypes.js";

export interface QuantRule {
  /** The lhs (activations) of the forward product; not quantized when absent or null. */
  readonly actQtype?: QType | null;
  /** The rhs (weights) of the forward product. */
  readonly weightQtype?: QType | null;
  /** The incoming gradient, before each backward product; the backward runs unquantized when absent or null. */
  readonly bwdQtype?: QType | null;
  /** Calibrations (see quant.parseCalibration); "absmax" by default, as qwix's QtRule. */
  readonly actCalibration?: Calibration;
  readonly weightCalibration?: Calibration;
  readonly bwdCalibration?: Calibration;
  /** Scales per channel (the axes a product keeps), or one per tensor when false (qwix's disable_channelwise_axes). Default true. */
  readonly channelwise?: boolean;
  /** Scales per block of this many elements along each product's contraction axis (DeepSeek-style block-wise). */
  readonly blockSize?: number;
}

/** How one operand is quantized. */
export interface Quantization {
  readonly qtype: QType;
  readonly calibration: CalibrationMethod;
}

/** A validated rule. */
export interface ResolvedRule {
  readonly act?: Quantization;
  readonly weight?: Quantization;
  readonly bwd?: Quantization;
  readonly channelwise: boolean;
  readonly blockSize?: number;
}

const FIELDS = ["actQtype", "weightQtype", "bwdQtype", "actCalibration", "weightCalibration", "bwdCalibration", "channelwise", "blockSize"];

function operand(who: string, rule: QuantRule, prefix: "act" | "weight" | "bwd"): Quantization | undefined {
  const qtype = rule[`${prefix}Qtype`];
  const calibration = rule[`${prefix}Calibration`];
  if (qtype === undefined || qtype === null) {
    if (calibration !== undefined) throw new ArgumentError(`${who}: rule.${prefix}Calibration is given but rule.${prefix}Qtype is not`);
    return undefined;
  }
  const info = qtypeInfo(qtype, `${who}: rule.${prefix}Qtype`);
  let method: CalibrationMethod;
  try {
    method = parseCalibration(calibration ?? "absmax");
  } catch (error) {
    throw new ArgumentError(`${who}: rule.${prefix}Calibration: ${(error as Error).message.replace(/^quantize: /, "")}`);
  }
  if (!isSymmetric(method) && !info.asymmetricRange) {
    throw new ArgumentError(`${who}: rule.${prefix}Calibration ${JSON.stringify(method)} is asymmetric, and ${qtype} doesn't support asymmetric quantization (int8 and int4 do)`);
  }
  return { qtype: info.name, calibration: method };
}

/** Validates a rule, errors naming `who` and the field. */
export function resolveRule(rule: QuantRule, who: string): ResolvedRule {
  if (typeof rule !== "object" || rule === null) throw new ArgumentError(`${who}: rule must be an object {actQtype, weightQtype, bwdQtype, ...}, got ${rule === null ? "null" : typeof rule}`);
  const unknown = Object.keys(rule).filter((key) => !FIELDS.includes(key));
  if (unknown.length > 0) throw new ArgumentError(`${who}: rule has unknown field(s) ${unknown.join(", ")}; the fields are ${FIELDS.join(", ")}`);
  const channelwise = rule.channelwise ?? true;
  if (typeof channelwise !== "boolean") throw new ArgumentError(`${who}: rule.channelwise must be a boolean, got ${JSON.stringify(channelwise)}`);
  const blockSize = rule.blockSize;
  if (blockSize !== undefined && !(Number.isInteger(blockSize) && blockSize > 0)) throw new ArgumentError(`${who}: rule.blockSize must be a positive integer, got ${JSON.stringify(blockSize)}`);
  return { act: operand(who, rule, "act"), weight: operand(who, rule, "weight"), bwd: operand(who, rule, "bwd"), channelwise, blockSize };
}

const shown = (q: Quantization | undefined): string => q?.qtype ?? "none";

/** A short description, for backend names: `act=int8,weight=int8,bwd=none[,block=128][,per-tensor]`. */
export const describeRule = (r: ResolvedRule): string =>
  [`act=${shown(r.act)}`, `weight=${shown(r.weight)}`, `bwd=${shown(r.bwd)}`, ...(r.blockSize ? [`block=${r.blockSize}`] : []), ...(r.channelwise ? [] : ["per-tensor"])].join(",");
