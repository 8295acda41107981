/**
 * Kernel rules registered from outside the lowering: the ops layer (which the lowering does not import) gives a
 * primitive a kernel of its own on some targets, e.g. gmm with `backend=wgsl` on WebGPU. A registered rule that
 * applies to an equation's params and the target is used instead of the built-in rules, and the equation is not
 * replaced by its decomposition; elsewhere the decomposition stands.
 */
import type { Primitive } from "../core/primitive.js";
import type { JaxprEqn } from "../trace/jaxpr.js";
import type { LoweringTarget } from "./dot.js";
import type { ScalarType } from "./kernelIr.js";
import type { LoweringOptions, Value } from "./lower.js";

/** A rule for a primitive with one result, as the built-in rules are called. */
export type KernelRule = (eqn: JaxprEqn, inputs: Value[], outShape: readonly number[], outType: ScalarType, options: LoweringOptions, materialize: (value: Value) => Value) => Value;

interface Entry {
  readonly applies: (params: never, target: LoweringTarget) => boolean;
  readonly rule: KernelRule;
}

const entries = new Map<Primitive<never>, Entry[]>();

/** Registers `rule` for the equations of `primitive` whose params and target `applies` accepts (later registrations first). */
export function registerKernelRule<P>(primitive: Primitive<P>, applies: (params: P, target: LoweringTarget) => boolean, rule: KernelRule): void {
  const key = primitive as Primitive<never>;
  entries.set(key, [{ applies: applies as Entry["applies"], rule }, ...(entries.get(key) ?? [])]);
}

/** The registered rule for `eqn` on `target`, if one applies. */
export function kernelRuleFor(eqn: JaxprEqn, target: LoweringTarget): KernelRule | undefined {
  return entries.get(eqn.primitive as Primitive<never>)?.find((e) => e.applies(eqn.params as never, target))?.rule;
}
