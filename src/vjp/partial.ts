/**
 * Partial evaluation (Autodidax's PartialEvalTrace): operations on known values run now, operations that
 * touch an unknown value are recorded into a jaxpr. Linearize runs a JVP under it with unknown tangents,
 * which leaves the primal work done and the tangent work staged as a linear jaxpr.
 */
import { ShapedArray } from "../core/aval.js";
import { Array } from "../core/array.js";
import { WgjaxError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { type Atom, ClosedJaxpr, Jaxpr, type JaxprEqn, Var, eqn } from "../trace/jaxpr.js";
import { type MainTrace, Trace, Tracer, bind, newMain } from "../trace/trace.js";

/** A value that is known (concrete, or a tracer of an enclosing transformation) or only has an aval. */
export class PartialVal {
  private constructor(
    readonly aval: ShapedArray,
    readonly known: Array | undefined,
  ) {}
  static known(value: Array): PartialVal {
    return new PartialVal(value.aval, value);
  }
  static unknown(aval: ShapedArray): PartialVal {
    return new PartialVal(aval, undefined);
  }
  get isKnown(): boolean {
    return this.known !== undefined;
  }
}

type Recipe =
  | { kind: "arg" }
  | { kind: "const"; value: Array }
  | { kind: "eqn"; primitive: Primitive<never>; inputs: PartialEvalTracer[]; params: unknown; outputs: WeakRef<PartialEvalTracer>[]; avals: ShapedArray[] };

export class PartialEvalTracer extends Tracer {
  constructor(
    readonly trace: PartialEvalTrace,
    readonly pval: PartialVal,
    public recipe: Recipe | undefined,
  ) {
    super();
  }
  get aval(): ShapedArray {
    return this.pval.aval;
  }
  override fullLower(): Tracer | Array {
    return this.pval.known ?? this;
  }
}

/** Rules for primitives whose unknown part should be split finer than "the whole equation" (scan, cond). */
export type PartialEvalRule<P> = (trace: PartialEvalTrace, tracers: PartialEvalTracer[], params: P) => PartialEvalTracer[];
const partialEvalRules = new Map<Primitive<never>, PartialEvalRule<never>>();
export function defPartialEval<P>(primitive: Primitive<P>, rule: PartialEvalRule<P>): void {
  partialEvalRules.set(primitive as Primitive<never>, rule as PartialEvalRule<never>);
}

export class PartialEvalTrace extends Trace {
  newArg(pval: PartialVal): PartialEvalTracer {
    return new PartialEvalTracer(this, pval, pval.isKnown ? undefined : { kind: "arg" });
  }

  pure(value: Array): PartialEvalTracer {
    return new PartialEvalTracer(this, PartialVal.known(value), undefined);
  }

  /** A known tracer as an unknown one whose value is a constant of the staged jaxpr (a residual). */
  instantiateConst(t: PartialEvalTracer): PartialEvalTracer {
    if (!t.pval.isKnown) return t;
    return new PartialEvalTracer(this, PartialVal.unknown(t.aval), { kind: "const", value: t.pval.known! });
  }

  /** Stages one equation on (possibly instantiated) tracers and returns its unknown outputs. */
  stage<P>(primitive: Primitive<P>, tracers: readonly PartialEvalTracer[], params: P, avals: ShapedArray[]): PartialEvalTracer[] {
    const inputs = tracers.map((t) => this.instantiateConst(t));
    const outs = avals.map((a) => new PartialEvalTracer(this, PartialVal.unknown(a), undefined));
    const recipe: Recipe = { kind: "eqn", primitive: primitive as Primitive<never>, inputs, params, outputs: outs.map((o) => new WeakRef(o)), avals };
    for (const o of outs) o.recipe = recipe;
    return outs;
  }

  processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): (Tracer | Array)[] {
    const tracers = inputs as readonly PartialEvalTracer[];
    if (tracers.every((t) => t.pval.isKnown)) {
      return bind(primitive, tracers.map((t) => t.pval.known!), params).map((v) => this.pure(v));
    }
    const rule = partialEvalRules.get(primitive as Primitive<never>) as PartialEvalRule<P> | undefined;
    if (rule) return rule(this, [...tracers], params);
    const avals = primitive.abstractEval(
      tracers.map((t) => t.aval),
      params,
    );
    return this.stage(primitive, tracers, params, avals);
  }
}

/** Builds the jaxpr of the unknown computation from `inputs` (arg recipes) to `outputs`; constants become constvars. */
export function tracersToJaxpr(inputs: readonly PartialEvalTracer[], outputs: readonly PartialEvalTracer[]): ClosedJaxpr {
  const vars = new Map<PartialEvalTracer, Var>();
  const constvars = new Map<Array, Var>();
  const consts: Array[] = [];
  const eqns: JaxprEqn[] = [];
  const seenRecipes = new Set<Recipe>();
  const varOf = (t: PartialEvalTracer): Var => {
    let v = vars.get(t);
    if (!v) {
      v = new Var(t.aval);
      vars.set(t, v);
    }
    return v;
  };
  for (const t of inputs) varOf(t);
  // Depth-first, post-order over recipes: every equation after the equations it reads.
  const visit = (t: PartialEvalTracer): void => {
    const r = t.recipe;
    if (!r || vars.has(t) && r.kind !== "eqn") return;
    if (r.kind === "arg") {
      if (!vars.has(t)) throw new WgjaxError("autodiff: an unknown input of the linearized function was not declared");
      return;
    }
    if (r.kind === "const") {
      let v = constvars.get(r.value);
      if (!v) {
        v = new Var(t.aval);
        constvars.set(r.value, v);
        consts.push(r.value);
      }
      vars.set(t, v);
      return;
    }
    if (seenRecipes.has(r)) return;
    seenRecipes.add(r);
    for (const input of r.inputs) visit(input);
    const outs = r.outputs.map((ref, i) => {
      const o = ref.deref();
      return o ? varOf(o) : new Var(r.avals[i]!);
    });
    eqns.push(eqn(r.primitive, r.inputs.map(varOf), r.params, outs));
  };
  for (const t of outputs) visit(t);
  const outvars: Atom[] = outputs.map(varOf);
  const jaxpr = new Jaxpr([...constvars.values()], inputs.map(varOf), eqns, outvars);
  return new ClosedJaxpr(jaxpr, consts);
}

/**
 * Runs `f` on partially known inputs: known outputs come back as values, the unknown part as a closed jaxpr
 * from the unknown inputs to the unknown outputs.
 */
export function partialEvalFlat(
  f: (...args: Array[]) => Array[],
  pvals: readonly PartialVal[],
  name: string,
  /** Outputs to make unknown even when known (they are then read from a residual). */
  instantiate: readonly boolean[] = [],
): { outs: PartialVal[]; jaxpr: ClosedJaxpr } {
  return newMain(PartialEvalTrace, null, name, (main: MainTrace) => {
    const trace = new PartialEvalTrace(main);
    const inputs = pvals.map((p) => trace.newArg(p));
    const outs = f(...inputs).map((x, i) => {
      const t = x instanceof PartialEvalTracer && x.trace.main === main ? x : trace.pure(x);
      return instantiate[i] ? trace.instantiateConst(t) : t;
    });
    const unknownIn = inputs.filter((t) => !t.pval.isKnown);
    const unknownOut = outs.filter((t) => !t.pval.isKnown);
    return { outs: outs.map((t) => t.pval), jaxpr: tracersToJaxpr(unknownIn, unknownOut) };
  });
}
