/**
 * The IR: a Jaxpr is typed variables, equations (primitive, inputs, params, outputs) and outputs, as in JAX.
 * Everything here is immutable; passes build new jaxprs. `checkJaxpr` validates types, `evalJaxpr` runs one
 * through `bind` (so evaluating a jaxpr composes with every transformation).
 */
import type { ShapedArray } from "../core/aval.js";
import { type Array, arrayFromHost } from "../core/array.js";
import { ArgumentError, WgjaxError } from "../core/errors.js";
import { allocHost } from "../core/hostData.js";
import type { Primitive } from "../core/primitive.js";
import { printJaxpr } from "./print.js";
import { bind } from "./trace.js";

let nextVarId = 0;

export class Var {
  readonly id = nextVarId++;
  constructor(readonly aval: ShapedArray) {}
}

/** A rank-0 constant written inline in an equation (`2.0:f32[]`). */
export class Literal {
  constructor(
    readonly value: number,
    readonly aval: ShapedArray,
  ) {}
  /** The literal as a concrete array. */
  toArray(): Array {
    const data = allocHost(this.aval.dtype, 1);
    data[0] = this.value;
    return arrayFromHost(data, this.aval);
  }
}

export type Atom = Var | Literal;

export interface JaxprEqn {
  readonly primitive: Primitive<never>;
  readonly inputs: readonly Atom[];
  readonly params: unknown;
  readonly outputs: readonly Var[];
}

export class Jaxpr {
  constructor(
    readonly constvars: readonly Var[],
    readonly invars: readonly Var[],
    readonly eqns: readonly JaxprEqn[],
    readonly outvars: readonly Atom[],
  ) {
    Object.freeze(this);
  }
  get inAvals(): ShapedArray[] {
    return this.invars.map((v) => v.aval);
  }
  toString(): string {
    return printJaxpr(this);
  }
  get outAvals(): ShapedArray[] {
    return this.outvars.map((v) => v.aval);
  }
}

/** A jaxpr with the values of its constvars. */
export class ClosedJaxpr {
  constructor(
    readonly jaxpr: Jaxpr,
    readonly consts: readonly Array[],
  ) {
    if (consts.length !== jaxpr.constvars.length) {
      throw new ArgumentError(`ClosedJaxpr: ${jaxpr.constvars.length} constvars but ${consts.length} consts`);
    }
    Object.freeze(this);
  }
  get inAvals(): ShapedArray[] {
    return this.jaxpr.inAvals;
  }
  toString(): string {
    return printJaxpr(this);
  }
  get outAvals(): ShapedArray[] {
    return this.jaxpr.outAvals;
  }
}

/** The jaxpr with its constvars as leading invars and no consts: call primitives pass the consts as operands. */
export function constsAsInputs(closed: ClosedJaxpr): ClosedJaxpr {
  const j = closed.jaxpr;
  return new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []);
}

export const eqn = (primitive: Primitive<never>, inputs: readonly Atom[], params: unknown, outputs: readonly Var[]): JaxprEqn =>
  Object.freeze({ primitive, inputs: Object.freeze([...inputs]), params, outputs: Object.freeze([...outputs]) });

/** Runs a jaxpr by binding each equation: concrete in the eval trace, staged or transformed under others. */
export function evalJaxpr(jaxpr: Jaxpr, consts: readonly Array[], args: readonly Array[]): Array[] {
  const env = new Map<Var, Array>();
  const read = (a: Atom): Array => {
    if (a instanceof Literal) return a.toArray();
    const v = env.get(a);
    if (!v) throw new WgjaxError("evalJaxpr: a variable is used before it is defined");
    return v;
  };
  jaxpr.constvars.forEach((v, i) => env.set(v, consts[i]!));
  if (args.length !== jaxpr.invars.length) throw new ArgumentError(`evalJaxpr: expected ${jaxpr.invars.length} arguments, got ${args.length}`);
  jaxpr.invars.forEach((v, i) => env.set(v, args[i]!));
  for (const e of jaxpr.eqns) {
    const outs = bind(e.primitive as Primitive<unknown>, e.inputs.map(read), e.params);
    e.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  return jaxpr.outvars.map(read);
}

export const evalClosedJaxpr = (closed: ClosedJaxpr, args: readonly Array[]): Array[] => evalJaxpr(closed.jaxpr, closed.consts, args);

/** Jaxprs held in an equation's params (jit's, control flow's), for passes that recurse. */
export function subJaxprs(params: unknown): (Jaxpr | ClosedJaxpr)[] {
  if (params instanceof Jaxpr || params instanceof ClosedJaxpr) return [params];
  if (globalThis.Array.isArray(params)) return params.flatMap(subJaxprs);
  if (typeof params === "object" && params !== null && Object.getPrototypeOf(params) === Object.prototype) {
    return Object.values(params).flatMap(subJaxprs);
  }
  return [];
}

/** Validates every equation's types against its primitive's abstract evaluation (recursing into sub-jaxprs). */
export function checkJaxpr(jaxpr: Jaxpr): void {
  const defined = new Set<Var>();
  const fail = (message: string): never => {
    throw new WgjaxError(`checkJaxpr: ${message}`);
  };
  const define = (v: Var): void => {
    if (defined.has(v)) fail("a variable is defined twice");
    defined.add(v);
  };
  jaxpr.constvars.forEach(define);
  jaxpr.invars.forEach(define);
  for (const [k, e] of jaxpr.eqns.entries()) {
    for (const a of e.inputs) {
      if (a instanceof Var && !defined.has(a)) fail(`equation ${k} (${e.primitive.name}) uses an undefined variable`);
      if (a instanceof Literal && a.aval.ndim !== 0) fail(`equation ${k} (${e.primitive.name}) has a non-scalar literal`);
    }
    const expected = (e.primitive as Primitive<unknown>).abstractEval(e.inputs.map((a) => a.aval), e.params);
    if (expected.length !== e.outputs.length) fail(`equation ${k} (${e.primitive.name}) has ${e.outputs.length} outputs, its rule gives ${expected.length}`);
    e.outputs.forEach((v, i) => {
      if (!v.aval.equals(expected[i]!)) fail(`equation ${k} (${e.primitive.name}) output ${i} is ${v.aval.toString()}, its rule gives ${expected[i]!.toString()}`);
      define(v);
    });
    for (const sub of subJaxprs(e.params)) checkJaxpr(sub instanceof ClosedJaxpr ? sub.jaxpr : sub);
  }
  for (const a of jaxpr.outvars) if (a instanceof Var && !defined.has(a)) fail("an output is not defined");
}

