/**
 * `quant.transform(f, rules)`: a function that traces `f` to a jaxpr and evaluates it with the equations the
 * rules select — `gmm`, `tgmm`, `dot_general`, optionally only gmm/tgmm calls on given backends — replaced by
 * their quantized forms: `quantized(backend, rule)`'s gmm/tgmm (so the numbers are those of calling it
 * directly), and quantizedDot.ts's dot_general. The first rule that selects an equation applies. The result
 * composes with `jit` and `grad` around it in any order: the quantized forms carry their own VJPs, and the
 * rewriting happens wherever the function is traced or run.
 *
 * - Calls of `jit` inside f are rewritten too (their bodies evaluated in place). A selected primitive inside a
 *   control-flow body (while, scan, cond) is an error: the bodies are not rewritten, and silently leaving them
 *   unquantized would be wrong. custom_vjp/custom_jvp functions keep their own rules and are left as they are.
 * - Only floating-point products are quantized (quantize takes float32, bfloat16 and float16).
 * - The gradient of a transformed function, `grad(transform(f))`, is quantized training (straight-through, the
 *   scales folded, bwdQtype). `transform(grad(f))` differs: it quantizes the products of the gradient program
 *   as it finds them, each as a forward product.
 * - f is traced on every call; wrap the result in `jit` to trace once per signature.
 */
import type { Array } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { ArgumentError } from "../core/errors.js";
import { flatten, unflatten } from "../core/tree.js";
import { type GmmBackend, getGmmBackend } from "../ops/gmm/backend.js";
import type { GmmParams, TgmmParams } from "../ops/gmm/primitives.js";
import type { DotGeneralParams } from "../ops/lax/dot.js";
import { type Atom, ClosedJaxpr, type Jaxpr, type JaxprEqn, Literal, subJaxprs } from "../trace/jaxpr.js";
import { asArray } from "../trace/args.js";
import { traceFlat } from "../trace/stage.js";
import { bind } from "../trace/trace.js";
import { type QuantizedBackend, quantized } from "./quantized.js";
import { quantizedDotGeneral } from "./quantizedDot.js";
import { type QuantRule, type ResolvedRule, resolveRule } from "./rule.js";

/** The primitives the transform can quantize. */
export type QuantizablePrimitive = "gmm" | "tgmm" | "dot_general";
const QUANTIZABLE: readonly QuantizablePrimitive[] = ["gmm", "tgmm", "dot_general"];

export interface TransformRule extends QuantRule {
  /** The primitives this rule selects; all three by default. */
  readonly primitives?: readonly QuantizablePrimitive[];
  /** gmm/tgmm calls only on these backends (by name); any backend by default. */
  readonly backends?: readonly string[];
}

interface Selector {
  readonly primitives: ReadonlySet<string>;
  readonly backends?: ReadonlySet<string>;
  readonly rule: ResolvedRule;
  readonly given: QuantRule;
  readonly quantizedBackends: Map<string, QuantizedBackend>;
}

function selectorOf(rule: TransformRule, i: number): Selector {
  const who = `quant.transform: rules[${i}]`;
  if (typeof rule !== "object" || rule === null) throw new ArgumentError(`${who} must be an object, got ${rule === null ? "null" : typeof rule}`);
  const { primitives = QUANTIZABLE, backends, ...quantRule } = rule;
  if (!globalThis.Array.isArray(primitives) || primitives.some((p) => !QUANTIZABLE.includes(p))) {
    throw new ArgumentError(`${who}.primitives must list some of ${QUANTIZABLE.join(", ")}, got ${JSON.stringify(primitives)}`);
  }
  if (backends !== undefined && (!globalThis.Array.isArray(backends) || backends.some((b) => typeof b !== "string"))) {
    throw new ArgumentError(`${who}.backends must be an array of backend names, got ${JSON.stringify(backends)}`);
  }
  return { primitives: new Set(primitives), backends: backends && new Set(backends), rule: resolveRule(quantRule, who), given: quantRule, quantizedBackends: new Map() };
}

const isGmm = (e: JaxprEqn): boolean => e.primitive.name === "gmm" || e.primitive.name === "tgmm";

/** The selector whose rule applies to `e`, if any. */
function selectorFor(selectors: readonly Selector[], e: JaxprEqn, inputs: readonly { dtype: Array["dtype"] }[]): Selector | undefined {
  if (!QUANTIZABLE.includes(e.primitive.name as QuantizablePrimitive) || !isFloat(inputs[0]!.dtype) || inputs[0]!.dtype === "float64") return undefined;
  const backend = isGmm(e) ? (e.params as GmmParams | TgmmParams).backend : undefined;
  return selectors.find((s) => s.primitives.has(e.primitive.name) && (backend === undefined || !s.backends || s.backends.has(backend)));
}

function quantizedBackend(s: Selector, name: string): GmmBackend {
  let backend = s.quantizedBackends.get(name);
  if (!backend) s.quantizedBackends.set(name, (backend = quantized(getGmmBackend(name), s.given)));
  return backend;
}

/** The quantized form of a selected equation, on its inputs. */
function quantizedEqn(e: JaxprEqn, [lhs, rhs, groupSizes, groupOffset, existingOut]: Array[], s: Selector): Array {
  if (e.primitive.name === "dot_general") {
    const p = e.params as DotGeneralParams;
    return quantizedDotGeneral(lhs!, rhs!, p.dimension_numbers, p.preferred_element_type, s.rule, "quant.transform dot_general");
  }
  if (e.primitive.name === "gmm") {
    const p = e.params as GmmParams;
    return quantizedBackend(s, p.backend).gmm(lhs!, rhs!, groupSizes!, {
      groupOffset: groupOffset!,
      existingOut,
      transposeRhs: p.transpose_rhs,
      preferredElementType: p.preferred_element_type,
      tiling: p.tiling,
      dlhsTiling: p.dlhs_tiling,
      drhsTiling: p.drhs_tiling,
      checkGroupSizes: p.check_group_sizes,
    });
  }
  const p = e.params as TgmmParams;
  return quantizedBackend(s, p.backend).tgmm(lhs!, rhs!, groupSizes!, {
    groupOffset: groupOffset!,
    existingOut,
    numActualGroups: p.num_actual_groups,
    preferredElementType: p.preferred_element_type,
    tiling: p.tiling,
    checkGroupSizes: p.check_group_sizes,
  });
}

const CUSTOM_CALLS = new Set(["custom_vjp_call", "custom_jvp_call"]);

/** Throws when a selected primitive sits in a body the transform cannot rewrite. */
function checkBodies(e: JaxprEqn, selectors: readonly Selector[]): void {
  if (CUSTOM_CALLS.has(e.primitive.name)) return;
  const visit = (j: Jaxpr): void => {
    for (const inner of j.eqns) {
      if (selectorFor(selectors, inner, inner.inputs.map((a) => a.aval))) {
        throw new ArgumentError(`quant.transform: a ${inner.primitive.name} inside ${e.primitive.name} would be quantized by the rules, but the bodies of ${e.primitive.name} are not rewritten; quantize it inside the body (quant.quantized) or leave it out of the rules`);
      }
      if (!CUSTOM_CALLS.has(inner.primitive.name)) subJaxprs(inner.params).forEach((s) => visit(s instanceof ClosedJaxpr ? s.jaxpr : s));
    }
  };
  subJaxprs(e.params).forEach((s) => visit(s instanceof ClosedJaxpr ? s.jaxpr : s));
}

/** Evaluates `jaxpr` with every operation bound as usual, except the selected ones, which run quantized. */
function evalQuantized(jaxpr: Jaxpr, consts: readonly Array[], args: readonly Array[], selectors: readonly Selector[]): Array[] {
  const env = new Map<Atom, Array>();
  const read = (a: Atom): Array => (a instanceof Literal ? a.toArray() : env.get(a)!);
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]!));
  jaxpr.invars.forEach((v, i) => env.set(v, args[i]!));
  for (const e of jaxpr.eqns) {
    const inputs = e.inputs.map(read);
    const selector = selectorFor(selectors, e, inputs);
    const body = (e.params as { jaxpr?: unknown } | null)?.jaxpr;
    let outs: Array[];
    if (selector) outs = [quantizedEqn(e, inputs, selector)];
    else if (e.primitive.name === "jit" && body instanceof ClosedJaxpr) outs = evalQuantized(body.jaxpr, body.consts, inputs, selectors);
    else {
      checkBodies(e, selectors);
      outs = bind(e.primitive, inputs, e.params);
    }
    e.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  return jaxpr.outvars.map(read);
}

/** `f` with the products the rules select quantized (see the file's comment). */
export function transform<F extends (...args: never[]) => unknown>(f: F, rules: readonly TransformRule[]): F {
  if (typeof f !== "function") throw new ArgumentError(`quant.transform: f must be a function, got ${typeof f}`);
  if (!globalThis.Array.isArray(rules)) throw new ArgumentError(`quant.transform: rules must be an array of rules, got ${typeof rules}`);
  const selectors = rules.map(selectorOf);
  const name = f.name || "<lambda>";
  const transformed = (...args: unknown[]): unknown => {
    const { closed, outTree } = traceFlat(f, args, `quant.transform(${name})`);
    const leaves = flatten(args)[0].map((x, i) => asArray(x, `quant.transform(${name}): argument leaf ${i}`));
    return unflatten(outTree, evalQuantized(closed.jaxpr, closed.consts, leaves, selectors));
  };
  Object.defineProperty(transformed, "name", { value: `quantized_${name}` });
  return transformed as unknown as F;
}
