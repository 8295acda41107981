/**
 * Forward mode: the JVP trace, symbolic zero tangents, and the registries of JVP and transpose rules that
 * primitives fill beside their definitions (`defJvp`, `defLinear`, `defTranspose`).
 */
import { ShapedArray } from "../core/aval.js";
import { Array } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { WgjaxError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { Trace, Tracer, bind } from "../trace/trace.js";

/** A tangent or cotangent known to be zero, never materialised unless needed. */
export class Zero {
  constructor(readonly aval: ShapedArray) {}
}

export type Tangent = Array | Zero;

export const isZero = (t: unknown): t is Zero => t instanceof Zero;

/** The aval a tangent of `primal` has: the same, strongly typed. */
export const tangentAval = (aval: ShapedArray): ShapedArray => aval.strongly();

/** Differentiable values are floating point; integer and bool values only ever get zero tangents. */
export const isDifferentiable = (aval: ShapedArray): boolean => isFloat(aval.dtype);

export type JvpRule<P> = (primals: Array[], tangents: Tangent[], params: P) => [Array[], Tangent[]];
export type TransposeRule<P> = (cotangents: Tangent[], inputs: (Array | UndefPrimal)[], params: P) => (Tangent | null)[];

/** Marks, in a transpose, the linear inputs whose cotangents are being computed. */
export class UndefPrimal {
  constructor(readonly aval: ShapedArray) {}
}

const jvpRules = new Map<Primitive<never>, JvpRule<never>>();
const transposeRules = new Map<Primitive<never>, TransposeRule<never>>();
/** Primitives whose outputs never carry tangents (comparisons, integer ops, random bits, ...). */
const nonDifferentiable = new Set<Primitive<never>>();

export function defJvp<P>(primitive: Primitive<P>, rule: JvpRule<P>): void {
  jvpRules.set(primitive as Primitive<never>, rule as JvpRule<never>);
}

export function defTranspose<P>(primitive: Primitive<P>, rule: TransposeRule<P>): void {
  transposeRules.set(primitive as Primitive<never>, rule as TransposeRule<never>);
}

/** The outputs of `primitive` have zero tangents whatever the inputs' tangents are. */
export function defNonDifferentiable(primitive: Primitive<unknown>): void {
  nonDifferentiable.add(primitive as Primitive<never>);
}

export const getJvpRule = (p: Primitive<unknown>): JvpRule<unknown> | undefined => jvpRules.get(p as Primitive<never>) as JvpRule<unknown> | undefined;
export const getTransposeRule = (p: Primitive<unknown>): TransposeRule<unknown> | undefined =>
  transposeRules.get(p as Primitive<never>) as TransposeRule<unknown> | undefined;
export const isNonDifferentiable = (p: Primitive<unknown>): boolean => nonDifferentiable.has(p as Primitive<never>);

/**
 * A linear primitive: its JVP applies it to the tangents (zero if every tangent is zero; zero tangents of
 * the linear operands are instantiated), and `transpose` gives its transpose rule.
 */
export function defLinear<P>(primitive: Primitive<P>, transpose: TransposeRule<P>): void {
  defJvp(primitive, (primals, tangents, params) => {
    const outs = bind(primitive, primals, params);
    if (tangents.every((t) => isZero(t))) return [outs, outs.map((o) => new Zero(tangentAval(o.aval)))];
    const tangentOuts = bind(primitive, tangents.map(instantiate), params);
    return [outs, tangentOuts];
  });
  defTranspose(primitive, transpose);
}

let zerosFactory: ((aval: ShapedArray) => Array) | undefined;

/** Installed by ops/lax (a broadcast scalar zero), so this layer needs no ops. */
export function setZerosFactory(make: (aval: ShapedArray) => Array): void {
  zerosFactory = make;
}

export function zerosLike(aval: ShapedArray): Array {
  if (!zerosFactory) throw new WgjaxError("autodiff: no zeros factory installed; import wgjax through its index");
  return zerosFactory(aval);
}

export const instantiate = (t: Tangent): Array => (t instanceof Zero ? zerosLike(t.aval) : t);

export class JVPTracer extends Tracer {
  constructor(
    readonly trace: JVPTrace,
    readonly primal: Array,
    readonly tangent: Tangent,
  ) {
    super();
  }
  get aval(): ShapedArray {
    return this.primal.aval;
  }
  override fullLower(): Tracer | Array {
    return this.tangent instanceof Zero ? this.primal : this;
  }
}

export class JVPTrace extends Trace {
  pure(value: Array): JVPTracer {
    return new JVPTracer(this, value, new Zero(tangentAval(value.aval)));
  }

  processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): JVPTracer[] {
    const tracers = inputs as readonly JVPTracer[];
    const primals = tracers.map((t) => t.primal);
    const tangents = tracers.map((t) => t.tangent);
    const zeroOuts = (outs: Array[]): JVPTracer[] => outs.map((o) => new JVPTracer(this, o, new Zero(tangentAval(o.aval))));
    if (tangents.every(isZero) || isNonDifferentiable(primitive as Primitive<unknown>)) return zeroOuts(bind(primitive, primals, params));
    const rule = getJvpRule(primitive as Primitive<unknown>);
    if (!rule) throw new WgjaxError(`Differentiation rule for '${primitive.name}' not implemented`);
    const [primalsOut, tangentsOut] = rule(primals, tangents, params);
    return primalsOut.map((p, i) => {
      const t = tangentsOut[i]!;
      // Integer and bool results carry no tangent.
      return new JVPTracer(this, p, isDifferentiable(p.aval) ? t : new Zero(tangentAval(p.aval)));
    });
  }
}
