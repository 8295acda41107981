/**
 * The staging trace: instead of computing, it records each primitive application as an equation, and
 * `traceToJaxpr` turns the record into a closed jaxpr (rank-0 constants inlined as literals, as JAX does).
 * `makeJaxpr` is the public entry point.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, ArrayImpl } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { type TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray, avalOfLeaf } from "./args.js";
import { type Atom, ClosedJaxpr, Jaxpr, type JaxprEqn, Literal, Var, eqn } from "./jaxpr.js";
import { type MainTrace, Trace, Tracer, newDynamic, newMain } from "./trace.js";

export class JaxprTracer extends Tracer {
  constructor(
    readonly trace: JaxprTrace,
    readonly aval: ShapedArray,
  ) {
    super();
  }
}

/** What one staging trace has recorded so far. */
class Builder {
  readonly eqns: JaxprEqn[] = [];
  readonly vars = new Map<JaxprTracer, Var>();
  readonly constTracers = new Map<Array, JaxprTracer>();

  varOf(t: JaxprTracer): Var {
    let v = this.vars.get(t);
    if (!v) {
      v = new Var(t.aval);
      this.vars.set(t, v);
    }
    return v;
  }

  /** The closed jaxpr for these inputs and outputs; rank-0 concrete constants become literals. */
  build(inputs: readonly JaxprTracer[], outputs: readonly JaxprTracer[]): ClosedJaxpr {
    const literals = new Map<Var, Literal>();
    const constvars: Var[] = [];
    const consts: Array[] = [];
    for (const [value, tracer] of this.constTracers) {
      const v = this.varOf(tracer);
      if (value instanceof ArrayImpl && value.ndim === 0) literals.set(v, new Literal(value.dataSync()[0]!, value.aval));
      else {
        constvars.push(v);
        consts.push(value);
      }
    }
    const atom = (v: Var): Atom => literals.get(v) ?? v;
    const eqns = this.eqns.map((e) => eqn(e.primitive, e.inputs.map((a) => (a instanceof Var ? atom(a) : a)), e.params, e.outputs));
    const used = new Set<Var>();
    for (const e of eqns) for (const a of e.inputs) if (a instanceof Var) used.add(a);
    const outvars = outputs.map((t) => atom(this.varOf(t)));
    for (const a of outvars) if (a instanceof Var) used.add(a);
    const keep = constvars.map((v) => used.has(v));
    const jaxpr = new Jaxpr(
      constvars.filter((_, i) => keep[i]),
      inputs.map((t) => this.varOf(t)),
      eqns,
      outvars,
    );
    return new ClosedJaxpr(jaxpr, consts.filter((_, i) => keep[i]));
  }
}

export class JaxprTrace extends Trace {
  private get builder(): Builder {
    return this.main.globalData as Builder;
  }

  newArg(aval: ShapedArray): JaxprTracer {
    const t = new JaxprTracer(this, aval);
    this.builder.varOf(t);
    return t;
  }

  /** Concrete arrays and tracers of outer traces enter as constants of the jaxpr. */
  pure(value: Array): JaxprTracer {
    let t = this.builder.constTracers.get(value);
    if (!t) {
      t = new JaxprTracer(this, value.aval);
      this.builder.constTracers.set(value, t);
    }
    return t;
  }

  processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): JaxprTracer[] {
    const tracers = inputs as readonly JaxprTracer[];
    const avals = primitive.abstractEval(
      tracers.map((t) => t.aval),
      params,
    );
    const outs = avals.map((a) => new JaxprTracer(this, a));
    const b = this.builder;
    b.eqns.push(eqn(primitive as Primitive<never>, tracers.map((t) => b.varOf(t)), params, outs.map((t) => b.varOf(t))));
    return outs;
  }
}

/** Stages `fn` on flat inputs of the given avals into a closed jaxpr. */
export function traceToJaxpr(fn: (...args: Array[]) => Array[], inAvals: readonly ShapedArray[], name: string): ClosedJaxpr {
  const builder = new Builder();
  return newMain(JaxprTrace, builder, name, (main: MainTrace) =>
    newDynamic(main, () => {
      const trace = new JaxprTrace(main);
      const inputs = inAvals.map((a) => trace.newArg(a));
      const outs = fn(...inputs).map((x) => {
        const raised = x instanceof JaxprTracer && x.trace.main === main ? x : trace.pure(x);
        return raised;
      });
      return builder.build(inputs, outs);
    }),
  );
}

/** Stages a function of pytrees: flattens the arguments, returns the jaxpr and the output structure. */
export function traceFlat(f: (...args: never[]) => unknown, args: readonly unknown[], name: string): { closed: ClosedJaxpr; inTree: TreeDef; outTree: TreeDef } {
  const [leaves, inTree] = flatten(args);
  const inAvals = leaves.map((x, i) => avalOfLeaf(x, `${name}: argument leaf ${i}`));
  let outTree: TreeDef | undefined;
  const closed = traceToJaxpr(
    (...flat) => {
      const out = (f as unknown as (...a: unknown[]) => unknown)(...(unflatten(inTree, flat) as unknown[]));
      const [outLeaves, tree] = flatten(out);
      outTree = tree;
      return outLeaves.map((x, i) => asArray(x, `${name}: output leaf ${i}`));
    },
    inAvals,
    name,
  );
  return { closed, inTree, outTree: outTree! };
}

/** `makeJaxpr(f)(...args)`: the closed jaxpr of `f` at these argument shapes and dtypes. */
export function makeJaxpr(f: (...args: never[]) => unknown, options: { staticArgnums?: readonly number[] } = {}): (...args: unknown[]) => ClosedJaxpr {
  const name = f.name || "<lambda>";
  return (...args) => {
    const statics = new Set(options.staticArgnums ?? []);
    for (const i of statics) if (i < 0 || i >= args.length) throw new ArgumentError(`makeJaxpr: staticArgnums entry ${i} is out of range for ${args.length} arguments`);
    const dynamicArgs = args.filter((_, i) => !statics.has(i));
    const call = (...dyn: unknown[]): unknown => {
      let k = 0;
      return (f as unknown as (...a: unknown[]) => unknown)(...args.map((a, i) => (statics.has(i) ? a : dyn[k++])));
    };
    Object.defineProperty(call, "name", { value: name });
    return traceFlat(call, dynamicArgs, name).closed;
  };
}
