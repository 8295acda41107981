/**
 * Shared pieces of the lowering rules: the error type, lazy values, rule signatures, fresh kernel-local names
 * and index arithmetic (clamping, coordinates along one axis).
 */
import { WgjaxError } from "../../core/errors.js";
import type { JaxprEqn } from "../../trace/jaxpr.js";
import { type Expr, type ScalarType, binary, c, cast } from "../kernelIr.js";
import type { Value } from "../lower.js";

export class LoweringError extends WgjaxError {}

export function unsupported(what: string): never {
  throw new LoweringError(`lowering: ${what} is not supported by the kernel lowering yet`);
}

/** What rules may ask of the target. */
export interface RuleOptions {
  /**
   * Reduce long rows with a workgroup per output element (its invocations share the row and add up their parts in
   * workgroup memory) instead of one invocation's loop. WebGPU only.
   */
  readonly workgroupReductions?: boolean;
}

/** A rule for a primitive with one result. */
export type Rule = (eqn: JaxprEqn, inputs: Value[], outShape: readonly number[], outType: ScalarType, options: RuleOptions) => Value;

export interface OutputSpec {
  readonly shape: readonly number[];
  readonly type: ScalarType;
}

/** A rule for a primitive with several results; `materialize` stores a value that is read at other coordinates. */
export type MultiRule = (eqn: JaxprEqn, inputs: Value[], outs: readonly OutputSpec[], materialize: (value: Value) => Value) => Value[];

export const lazy = (shape: readonly number[], type: ScalarType, pending: boolean, at: Value["at"]): Value => ({ shape, type, pending, at });

let nextName = 0;
/** A variable name no other rule uses (the `_` keeps it apart from dot_general's `acc<n>`). */
export const fresh = (prefix: string): string => `${prefix}_${nextName++}`;

export const i32 = (value: number): Expr => c(value, "i32");

export const clampIndex = (index: Expr, lo: number, hi: number): Expr => binary("min", binary("max", index, i32(lo)), i32(hi));

/** An integer index as i32; a u32 beyond the i32 range saturates (every bound it is compared with is smaller). */
export function asIndex(index: Expr): Expr {
  if (index.type === "i32") return index;
  if (index.type === "u32") return cast(binary("min", index, c(2147483647, "u32")), "i32");
  return unsupported(`an index of type ${index.type}`);
}

/** `coords` with the coordinate of `axis` replaced. */
export const withCoord = (coords: readonly Expr[], axis: number, value: Expr): Expr[] => coords.map((k, d) => (d === axis ? value : k));

/** The conjunction of conditions (true when there are none). */
export const allOf = (conditions: readonly Expr[]): Expr => (conditions.length === 0 ? c(1, "bool") : conditions.reduce((a, b) => binary("and", a, b)));
