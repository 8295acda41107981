/**
 * The execution plan of a jaxpr with control flow. Primitives with a registered decomposition are replaced by
 * it (src/lowering/decompositions.ts). `cond` becomes data flow first: every branch is inlined
 * and `select_n` picks the results on the device (the branches must be pure, as they are in a jaxpr). The
 * loops `while` and `scan` then cut the jaxpr into segments: each run of loop-free equations is lowered to
 * one kernel program (fused as usual), and each loop becomes a node whose condition and body are plans of
 * their own, run by the device's executor once per iteration.
 */
import { ShapedArray } from "../core/aval.js";
import type { Array } from "../core/array.js";
import type { CheckParams } from "../core/checks.js";
import { sizeOf } from "../core/shape.js";
import { type Atom, ClosedJaxpr, Jaxpr, type JaxprEqn, Literal, Var, eqn } from "../trace/jaxpr.js";
import { dce, inlineJaxpr } from "../trace/passes.js";
import { expandDecompositions, liftConsts } from "./decompositions.js";
import type { LoweringTarget } from "./dot.js";
import { inlineAllCalls } from "./inline.js";
import { dumps } from "../core/env.js";
import { type Primitive, getPrimitive } from "../core/primitive.js";
import { splitLargeReductions } from "./reductions.js";
import { LoweringError, type LoweringOptions, type Program, lowerJaxpr, scalarTypeOf } from "./lower.js";
import type { ScalarType } from "./kernelIr.js";

/** A value in a plan: an environment slot (numbered per plan), or a scalar literal. */
export type Operand = { readonly slot: number; readonly aval: ShapedArray } | { readonly literal: number; readonly aval: ShapedArray };

export type PlanNode =
  | { readonly kind: "kernels"; readonly program: Program; readonly inputs: readonly Operand[]; readonly outputs: readonly number[] }
  | {
      readonly kind: "while";
      readonly cond: Plan;
      readonly body: Plan;
      readonly condConsts: readonly Operand[];
      readonly bodyConsts: readonly Operand[];
      readonly carries: readonly Operand[];
      readonly outputs: readonly number[];
    }
  | {
      readonly kind: "scan";
      readonly body: Plan;
      readonly length: number;
      readonly reverse: boolean;
      readonly consts: readonly Operand[];
      readonly carries: readonly Operand[];
      readonly xs: readonly Operand[];
      /** The final carries, then the stacked ys. */
      readonly outputs: readonly number[];
    };

/** A plan: slots 0..consts.length-1 hold the constants, the next `inputs.length` the arguments. */
export interface Plan {
  readonly consts: readonly Array[];
  readonly inputs: readonly ShapedArray[];
  readonly nodes: readonly PlanNode[];
  /** The results, then one value per check (see src/core/checks.ts): the executable checks those after the run. */
  readonly outputs: readonly Operand[];
  readonly checks: readonly CheckParams[];
}

/** The results of a plan's run and the values its checks read (the trailing outputs). */
export function splitChecked<T>(plan: Plan, outputs: readonly T[]): { results: T[]; checked: T[] } {
  const n = outputs.length - plan.checks.length;
  return { results: outputs.slice(0, n), checked: outputs.slice(n) };
}

/** The jaxpr with its `check` equations taken out: each one's result is its first operand, its checked values an extra output. */
function extractChecks(jaxpr: Jaxpr): { jaxpr: Jaxpr; checks: CheckParams[] } {
  const checks: CheckParams[] = [];
  const checked: Atom[] = [];
  const replace = new Map<Var, Atom>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  const eqns: JaxprEqn[] = [];
  for (const e of jaxpr.eqns) {
    const inputs = e.inputs.map(atom);
    if (e.primitive.name !== "check") {
      eqns.push(eqn(e.primitive, inputs, e.params, e.outputs));
      continue;
    }
    replace.set(e.outputs[0]!, inputs[0]!);
    checked.push(inputs[1]!);
    checks.push(e.params as CheckParams);
  }
  return { jaxpr: new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [...jaxpr.outvars.map(atom), ...checked]), checks };
}

/**
 * The jaxpr with each concatenate of more than `most` operands made a tree of concatenates of at most `most`
 * each, so that no kernel has to bind them all (the lowering stores the inner ones when a kernel would bind too
 * many buffers).
 */
function splitWideConcatenates(jaxpr: Jaxpr, most: number): Jaxpr {
  const concatenate = primitive("concatenate");
  const eqns: JaxprEqn[] = [];
  for (const e of jaxpr.eqns) {
    let inputs: readonly Atom[] = e.inputs;
    while (e.primitive === concatenate && inputs.length > most) {
      const groups = globalThis.Array.from({ length: Math.ceil(inputs.length / most) }, (_, i) => inputs.slice(i * most, (i + 1) * most));
      inputs = groups.map((group) => {
        if (group.length === 1) return group[0]!;
        const [aval] = concatenate.abstractEval(group.map((a) => a.aval), e.params as never);
        const out = new Var(aval!);
        eqns.push(eqn(concatenate, group, e.params, [out]));
        return out;
      });
    }
    eqns.push(inputs === e.inputs ? e : eqn(e.primitive, inputs, e.params, e.outputs));
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars);
}

/** The element type and length of a value in a plan (for buffers its executor allocates). */
export const layoutOf = (aval: ShapedArray): { type: ScalarType; length: number } => ({ type: scalarTypeOf(aval.dtype), length: sizeOf(aval.shape) });

const LOOPS = new Set(["while", "scan"]);

/** A registered primitive, found by name (the lowering does not import the ops layer). */
const primitive = (name: string): Primitive<never> => getPrimitive(name) as Primitive<never>;

const containsLoop = (jaxpr: Jaxpr): boolean => jaxpr.eqns.some((e) => LOOPS.has(e.primitive.name) || (e.primitive.name === "cond" && (e.params as { branches: readonly ClosedJaxpr[] }).branches.some((b) => containsLoop(b.jaxpr))));

/**
 * Replaces every `cond` whose branches are loop-free by its branches inlined and a `select_n` per result,
 * with the index clamped to the branch range as `cond` does. Branch constants become new constants.
 */
function condsToSelects(jaxpr: Jaxpr, consts: Array[], constvars: Var[], target: LoweringTarget): Jaxpr {
  const eqns: JaxprEqn[] = [];
  const replace = new Map<Var, Atom>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  for (const original of jaxpr.eqns) {
    const e = eqn(original.primitive, original.inputs.map(atom), original.params, original.outputs);
    const branches = e.primitive.name === "cond" ? (e.params as { branches: readonly ClosedJaxpr[] }).branches : undefined;
    if (!branches || branches.some((b) => containsLoop(b.jaxpr))) {
      eqns.push(e);
      continue;
    }
    const [index, ...operands] = e.inputs;
    const int32 = new ShapedArray([], "int32");
    const clamped = new Var(int32);
    eqns.push(eqn(primitive("clamp"), [new Literal(0, int32), index!, new Literal(branches.length - 1, int32)], {}, [clamped]));
    const results = branches.map((branch) => {
      const inner = condsToSelects(expandDecompositions(inlineAllCalls(branch.jaxpr), consts, constvars, target), consts, constvars, target);
      return inlineJaxpr(inner, operands, eqns, liftConsts(inner.constvars, branch.consts, consts, constvars));
    });
    e.outputs.forEach((out, i) => {
      const selected = new Var(out.aval);
      eqns.push(eqn(primitive("select_n"), [clamped, ...results.map((r) => r[i]!)], {}, [selected]));
      replace.set(out, selected);
    });
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}

/** Plans a closed jaxpr for a kernel device. */
export function planJaxpr(closed: ClosedJaxpr, options?: LoweringOptions): Plan {
  const consts = [...closed.consts];
  const constvars = [...closed.jaxpr.constvars];
  const target = options?.target ?? "cpu";
  const { jaxpr: unchecked, checks } = extractChecks(expandDecompositions(inlineAllCalls(closed.jaxpr), consts, constvars, target));
  const bounded = options?.maxStorageBuffers === undefined ? unchecked : splitWideConcatenates(unchecked, Math.max(2, Math.floor(options.maxStorageBuffers / 2)));
  const selected = condsToSelects(bounded, consts, constvars, target);
  const speed = options?.splitReductions ?? target === "webgpu";
  const jaxpr = dce(speed || options?.loopLimit !== undefined ? splitLargeReductions(selected, { speed, loopLimit: options?.loopLimit }) : selected);
  const groups: (JaxprEqn[] | JaxprEqn)[] = [];
  for (const e of jaxpr.eqns) {
    if (LOOPS.has(e.primitive.name)) groups.push(e);
    else if (globalThis.Array.isArray(groups.at(-1))) (groups.at(-1) as JaxprEqn[]).push(e);
    else groups.push([e]);
  }
  // Variables read after each group: a segment outputs those it defines.
  const readAfter: Set<Var>[] = [];
  const live = new Set<Var>(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  for (let g = groups.length - 1; g >= 0; g--) {
    readAfter[g] = new Set(live);
    for (const e of [groups[g]!].flat()) for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  const slots = new Map<Var, number>();
  const slotOf = (v: Var): number => {
    let slot = slots.get(v);
    if (slot === undefined) slots.set(v, (slot = slots.size));
    return slot;
  };
  [...constvars, ...jaxpr.invars].forEach(slotOf);
  const operand = (a: Atom): Operand => (a instanceof Literal ? { literal: a.value, aval: a.aval } : { slot: slotOf(a), aval: a.aval });
  const nodes = groups.map((group, g): PlanNode => {
    if (!globalThis.Array.isArray(group)) return loopNode(group, operand, slotOf, options);
    const defined = new Set(group.flatMap((e) => e.outputs));
    const inputs: Var[] = [];
    for (const e of group) for (const a of e.inputs) if (a instanceof Var && !defined.has(a) && !inputs.includes(a)) inputs.push(a);
    const outputs = [...defined].filter((v) => readAfter[g]!.has(v));
    const program = lowerJaxpr(new ClosedJaxpr(new Jaxpr([], inputs, group, outputs), []), options);
    return { kind: "kernels", program, inputs: inputs.map(operand), outputs: outputs.map(slotOf) };
  });
  const plan: Plan = { consts, inputs: jaxpr.invars.map((v) => v.aval), nodes, outputs: jaxpr.outvars.map(operand), checks };
  if (dumps("plan")) console.log(printPlan(plan));
  return plan;
}

/** A listing of a plan: one line per kernel (its grid and buffers), loops with their bodies indented. */
function printPlan(plan: Plan, indent = ""): string {
  const lines: string[] = [];
  const operand = (o: Operand): string => ("slot" in o ? `%${o.slot}` : String(o.literal));
  for (const node of plan.nodes) {
    if (node.kind === "kernels") {
      lines.push(`${indent}kernels (${node.inputs.map(operand).join(" ")}) -> (${node.outputs.map((s) => `%${s}`).join(" ")})`);
      for (const step of node.program.steps) lines.push(`${indent}  ${step.kernel.name}: grid ${step.kernel.grid}, buffers ${step.buffers.map((b) => `${b.kind}${b.index}`).join(" ")}`);
    } else if (node.kind === "while") {
      lines.push(`${indent}while carries (${node.carries.map(operand).join(" ")}) -> (${node.outputs.map((s) => `%${s}`).join(" ")})`, `${indent}  cond:`, printPlan(node.cond, `${indent}    `), `${indent}  body:`, printPlan(node.body, `${indent}    `));
    } else {
      lines.push(`${indent}scan length ${node.length}${node.reverse ? " reverse" : ""} -> (${node.outputs.map((s) => `%${s}`).join(" ")})`, printPlan(node.body, `${indent}  `));
    }
  }
  lines.push(`${indent}outputs (${plan.outputs.map(operand).join(" ")})`);
  return lines.join("\n");
}

/** A loop body's plan: its checks would have to run per iteration, which the runner does not do. */
function bodyPlan(closed: ClosedJaxpr, options?: LoweringOptions): Plan {
  const plan = planJaxpr(closed, options);
  if (plan.checks.length) throw new LoweringError(`lowering: a check (${plan.checks.map((c) => c.check).join(", ")}) inside a loop body runs only on the interpreter`);
  return plan;
}

function loopNode(e: JaxprEqn, operand: (a: Atom) => Operand, slotOf: (v: Var) => number, options?: LoweringOptions): PlanNode {
  const inputs = e.inputs.map(operand);
  const outputs = e.outputs.map(slotOf);
  if (e.primitive.name === "while") {
    const p = e.params as { cond_jaxpr: ClosedJaxpr; body_jaxpr: ClosedJaxpr; cond_nconsts: number; body_nconsts: number };
    const condConsts = inputs.slice(0, p.cond_nconsts);
    const bodyConsts = inputs.slice(p.cond_nconsts, p.cond_nconsts + p.body_nconsts);
    const carries = inputs.slice(p.cond_nconsts + p.body_nconsts);
    return { kind: "while", cond: bodyPlan(p.cond_jaxpr, options), body: bodyPlan(p.body_jaxpr, options), condConsts, bodyConsts, carries, outputs };
  }
  const p = e.params as { jaxpr: ClosedJaxpr; length: number; reverse: boolean; num_consts: number; num_carry: number };
  return {
    kind: "scan",
    body: bodyPlan(p.jaxpr, options),
    length: p.length,
    reverse: p.reverse,
    consts: inputs.slice(0, p.num_consts),
    carries: inputs.slice(p.num_consts, p.num_consts + p.num_carry),
    xs: inputs.slice(p.num_consts + p.num_carry),
    outputs,
  };
}
