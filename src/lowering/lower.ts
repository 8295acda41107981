/**
 * Lowering of a jaxpr to a program of kernels (fusion planning and kernel generation in one walk).
 * Elementwise operations, broadcasts, reshapes, transposes, slices, reversals, iota and casts stay lazy:
 * an index function from output coordinates to a scalar expression. A value materialises (one kernel) when
 * it is an output, is read by more than one equation, or feeds an operation that is not fusable. Reductions
 * and dot_general become kernels with a loop; their elementwise prologue (the lazy operand) is fused into
 * the loop, and an elementwise epilogue of the same shape (bias, activation, scaling, casting) into the store.
 */
import type { DType } from "../core/dtype.js";
import { WgjaxError } from "../core/errors.js";
import { sizeOf } from "../core/shape.js";
import { type Atom, type ClosedJaxpr, type Jaxpr, type JaxprEqn, Literal, Var } from "../trace/jaxpr.js";
import { dce, inlineCalls } from "../trace/passes.js";
import { ravelExpr, unravelExpr } from "./index.js";
import { type Expr, type Kernel, type ScalarType, type Stmt, binary, c, cast, gid, load, select, unary, v } from "./kernelIr.js";

/** Where a kernel reads or writes: an input of the jaxpr, one of its constants, or a temporary. */
export type BufferRef = { readonly kind: "input" | "const" | "temp"; readonly index: number };

export interface Step {
  readonly kernel: Kernel;
  /** One per kernel buffer, in binding order; the last is the output. */
  readonly buffers: readonly BufferRef[];
}

export interface Program {
  readonly steps: readonly Step[];
  readonly temps: readonly { readonly length: number; readonly type: ScalarType }[];
  /** Each output of the jaxpr: a buffer, or a literal scalar. */
  readonly outputs: readonly (BufferRef | { readonly kind: "literal"; readonly value: number; readonly type: ScalarType })[];
}

export class LoweringError extends WgjaxError {}

const SCALAR: Partial<Record<DType, ScalarType>> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };

export function scalarTypeOf(dtype: DType): ScalarType {
  const t = SCALAR[dtype];
  if (!t) throw new LoweringError(`lowering: dtype ${dtype} is not supported by the kernel lowering yet (float32, int32, uint32, bool are)`);
  return t;
}

/** Assigns buffer bindings within one kernel and collects statements that must run before the store. */
class KernelContext {
  readonly refs: BufferRef[] = [];
  readonly prelude: Stmt[] = [];
  readonly #emitted = new Set<number>();
  readonly types: ScalarType[] = [];
  slot(ref: BufferRef, type: ScalarType): number {
    const i = this.refs.findIndex((r) => r.kind === ref.kind && r.index === ref.index);
    if (i >= 0) return i;
    this.refs.push(ref);
    this.types.push(type);
    return this.refs.length - 1;
  }
  emitOnce(id: number, stmts: () => Stmt[]): void {
    if (this.#emitted.has(id)) return;
    this.#emitted.add(id);
    this.prelude.push(...stmts());
  }
}

interface Value {
  readonly shape: readonly number[];
  readonly type: ScalarType;
  /** The value at output coordinates, as an expression inside the kernel being built. */
  at(coords: Expr[], ctx: KernelContext): Expr;
  /** A reduction or dot whose loop must run in the consuming kernel: only same-shape elementwise consumers may fuse. */
  readonly pending: boolean;
  readonly ref?: BufferRef;
}

const bufferValue = (ref: BufferRef, shape: readonly number[], type: ScalarType): Value => ({
  shape,
  type,
  pending: false,
  ref,
  at: (coords, ctx) => load(ctx.slot(ref, type), ravelExpr(coords, shape), type),
});

let nextAccumulator = 0;

type Rule = (eqn: JaxprEqn, inputs: Value[], outShape: readonly number[], outType: ScalarType) => Value;

const lazy = (shape: readonly number[], type: ScalarType, pending: boolean, at: Value["at"]): Value => ({ shape, type, pending, at });

/** Elementwise ops: operands are scalars or have the output's rank (size-1 axes broadcast). */
function elementwise(make: (args: Expr[], eqn: JaxprEqn, outType: ScalarType) => Expr): Rule {
  return (eqn, inputs, outShape, outType) =>
    lazy(outShape, outType, inputs.some((i) => i.pending), (coords, ctx) =>
      make(
        inputs.map((x) => x.at(x.shape.length === 0 ? [] : x.shape.map((d, k) => (d === 1 && outShape[k] !== 1 ? c(0, "i32") : coords[k]!)), ctx)),
        eqn,
        outType,
      ),
    );
}

const F32_MAX_BELOW_2_31 = 2147483520;

/** float → int conversion as XLA does it: NaN → 0, saturating, truncating toward zero. */
function convert(x: Expr, to: ScalarType): Expr {
  if (x.type !== "f32" || to === "f32" || to === "bool") return cast(x, to);
  const [lo, hi] = to === "i32" ? [-2147483648, F32_MAX_BELOW_2_31] : [0, 4294967040];
  const clamped = binary("max", binary("min", x, c(hi)), c(lo));
  return cast(select(binary("ne", x, x), c(0), clamped), to);
}

const one = (t: ScalarType): Expr => c(1, t);

const RULES: Record<string, Rule> = {
  add: elementwise(([a, b]) => binary("add", a!, b!)),
  add_any: elementwise(([a, b]) => binary("add", a!, b!)),
  sub: elementwise(([a, b]) => binary("sub", a!, b!)),
  mul: elementwise(([a, b]) => binary("mul", a!, b!)),
  div: elementwise(([a, b]) => binary("div", a!, b!)),
  rem: elementwise(([a, b]) => binary("rem", a!, b!)),
  max: elementwise(([a, b]) => binary("max", a!, b!)),
  min: elementwise(([a, b]) => binary("min", a!, b!)),
  lt: elementwise(([a, b]) => binary("lt", a!, b!)),
  le: elementwise(([a, b]) => binary("le", a!, b!)),
  gt: elementwise(([a, b]) => binary("gt", a!, b!)),
  ge: elementwise(([a, b]) => binary("ge", a!, b!)),
  eq: elementwise(([a, b]) => binary("eq", a!, b!)),
  ne: elementwise(([a, b]) => binary("ne", a!, b!)),
  and: elementwise(([a, b]) => binary("and", a!, b!)),
  or: elementwise(([a, b]) => binary("or", a!, b!)),
  neg: elementwise(([a]) => unary("neg", a!)),
  exp: elementwise(([a]) => unary("exp", a!)),
  log: elementwise(([a]) => unary("log", a!)),
  sin: elementwise(([a]) => unary("sin", a!)),
  cos: elementwise(([a]) => unary("cos", a!)),
  tanh: elementwise(([a]) => unary("tanh", a!)),
  sqrt: elementwise(([a]) => unary("sqrt", a!)),
  rsqrt: elementwise(([a]) => binary("div", c(1), unary("sqrt", a!))),
  abs: elementwise(([a]) => unary("abs", a!)),
  floor: elementwise(([a]) => unary("floor", a!)),
  ceil: elementwise(([a]) => unary("ceil", a!)),
  logistic: elementwise(([a]) => binary("div", c(1), binary("add", c(1), unary("exp", unary("neg", a!))))),
  sign: elementwise(([a]) => select(binary("gt", a!, c(0, a!.type)), one(a!.type), select(binary("lt", a!, c(0, a!.type)), c(-1, a!.type), a!))),
  is_finite: elementwise(([a]) => binary("eq", binary("sub", a!, a!), c(0))),
  not: elementwise(([a]) => (a!.type === "bool" ? unary("not", a!) : unsupported("not on integers"))),
  stop_gradient: elementwise(([a]) => a!),
  select_n: elementwise(([which, ...cases]) => (cases.length === 2 && which!.type === "bool" ? select(which!, cases[1]!, cases[0]!) : unsupported("select_n with an int32 selector"))),
  clamp: elementwise(([lo, x, hi]) => binary("min", binary("max", x!, lo!), hi!)),
  convert_element_type: elementwise(([a], _e, outType) => convert(a!, outType)),
  integer_pow: elementwise(([a], e) => {
    const y = (e.params as { y: number }).y;
    let p: Expr = one(a!.type);
    for (let k = 0; k < Math.abs(y); k++) p = k === 0 ? a! : binary("mul", p, a!);
    return y < 0 ? binary("div", one(a!.type), p) : p;
  }),
  broadcast_in_dim: (eqn, [x], outShape, outType) => {
    const dims = (eqn.params as { broadcast_dimensions: readonly number[] }).broadcast_dimensions;
    return lazy(outShape, outType, false, (coords, ctx) => x!.at(dims.map((d, i) => (x!.shape[i] === 1 ? c(0, "i32") : coords[d]!)), ctx));
  },
  reshape: reshapeRule,
  squeeze: reshapeRule,
  transpose: (eqn, [x], outShape, outType) => {
    const perm = (eqn.params as { permutation: readonly number[] }).permutation;
    return lazy(outShape, outType, false, (coords, ctx) => x!.at(perm.map((_, i) => coords[perm.indexOf(i)]!), ctx));
  },
  rev: (eqn, [x], outShape, outType) => {
    const dims = (eqn.params as { dimensions: readonly number[] }).dimensions;
    return lazy(outShape, outType, false, (coords, ctx) => x!.at(coords.map((k, d) => (dims.includes(d) ? binary("sub", c(outShape[d]! - 1, "i32"), k) : k)), ctx));
  },
  slice: (eqn, [x], outShape, outType) => {
    const { start_indices: start, strides } = eqn.params as { start_indices: readonly number[]; strides: readonly number[] | null };
    return lazy(outShape, outType, false, (coords, ctx) =>
      x!.at(coords.map((k, d) => binary("add", c(start[d]!, "i32"), strides && strides[d] !== 1 ? binary("mul", k, c(strides[d]!, "i32")) : k)), ctx),
    );
  },
  iota: (eqn, _inputs, outShape, outType) => {
    const dimension = (eqn.params as { dimension: number }).dimension;
    return lazy(outShape, outType, false, (coords) => cast(coords[dimension]!, outType));
  },
  reduce_sum: reduction("add", 0),
  reduce_max: reduction("max", -Infinity),
  reduce_min: reduction("min", Infinity),
  dot_general: dotGeneral,
};

function reshapeRule(_eqn: JaxprEqn, inputs: Value[], outShape: readonly number[], outType: ScalarType): Value {
  const x = inputs[0]!;
  return lazy(outShape, outType, false, (coords, ctx) => x.at(unravelExpr(ravelExpr(coords, outShape), x.shape), ctx));
}

function unsupported(what: string): never {
  throw new LoweringError(`lowering: ${what} is not supported by the kernel lowering yet`);
}

/** A reduction as a pending loop: the consuming kernel declares the accumulator and loops over the reduced axes. */
function reduction(op: "add" | "max" | "min", identity: number): Rule {
  return (eqn, [x], outShape, outType) => {
    const axes = (eqn.params as { axes: readonly number[] }).axes;
    const kept = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const reducedShape = axes.map((a) => x!.shape[a]!);
    const id = nextAccumulator++;
    const acc = `acc${id}`;
    const r = `r${id}`;
    const init = identity === 0 ? c(0, outType) : outType === "f32" ? c(identity) : c(identity > 0 ? 2147483647 : -2147483648, outType);
    return lazy(outShape, outType, true, (coords, ctx) => {
      ctx.emitOnce(id, () => {
        const inner = unravelExpr(v(r, "i32"), reducedShape);
        const inCoords = x!.shape.map((_, d) => (axes.includes(d) ? inner[axes.indexOf(d)]! : coords[kept.indexOf(d)]!));
        return [
          { k: "declare", name: acc, init },
          { k: "for", name: r, start: c(0, "i32"), end: c(sizeOf(reducedShape), "i32"), body: [{ k: "assign", name: acc, value: binary(op, v(acc, outType), x!.at(inCoords, ctx)) }] },
        ];
      });
      return v(acc, outType);
    });
  };
}

function dotGeneral(eqn: JaxprEqn, [lhs, rhs]: Value[], outShape: readonly number[], outType: ScalarType): Value {
  const [[lc, rc], [lb, rb]] = (eqn.params as { dimension_numbers: readonly [readonly [readonly number[], readonly number[]], readonly [readonly number[], readonly number[]]] }).dimension_numbers;
  const free = (rank: number, ...used: (readonly number[])[]): number[] => Array.from({ length: rank }, (_, i) => i).filter((i) => !used.some((u) => u.includes(i)));
  const lf = free(lhs!.shape.length, lc, lb);
  const rf = free(rhs!.shape.length, rc, rb);
  const contractShape = lc.map((d) => lhs!.shape[d]!);
  const id = nextAccumulator++;
  const acc = `acc${id}`;
  const r = `r${id}`;
  return lazy(outShape, outType, true, (coords, ctx) => {
    ctx.emitOnce(id, () => {
      const k = unravelExpr(v(r, "i32"), contractShape);
      const lCoords: Expr[] = [];
      const rCoords: Expr[] = [];
      lb.forEach((d, i) => (lCoords[d] = coords[i]!));
      rb.forEach((d, i) => (rCoords[d] = coords[i]!));
      lf.forEach((d, i) => (lCoords[d] = coords[lb.length + i]!));
      rf.forEach((d, i) => (rCoords[d] = coords[lb.length + lf.length + i]!));
      lc.forEach((d, i) => (lCoords[d] = k[i]!));
      rc.forEach((d, i) => (rCoords[d] = k[i]!));
      const product = binary("mul", cast(lhs!.at(lCoords, ctx), outType), cast(rhs!.at(rCoords, ctx), outType));
      return [
        { k: "declare", name: acc, init: c(0, outType) },
        { k: "for", name: r, start: c(0, "i32"), end: c(sizeOf(contractShape), "i32"), body: [{ k: "assign", name: acc, value: binary("add", v(acc, outType), product) }] },
      ];
    });
    return v(acc, outType);
  });
}

const ELEMENTWISE_NAMES = new Set(Object.keys(RULES).filter((n) => !["broadcast_in_dim", "reshape", "squeeze", "transpose", "rev", "slice", "iota", "reduce_sum", "reduce_max", "reduce_min", "dot_general"].includes(n)));

/** Lowers a closed jaxpr (nested jit calls are inlined, dead code removed first). */
export function lowerJaxpr(closed: ClosedJaxpr): Program {
  const jaxpr: Jaxpr = dce(inlineCalls(closed.jaxpr));
  const steps: Step[] = [];
  const temps: { length: number; type: ScalarType }[] = [];
  const values = new Map<Var, Value>();
  const uses = new Map<Var, number>();
  for (const e of jaxpr.eqns) for (const a of e.inputs) if (a instanceof Var) uses.set(a, (uses.get(a) ?? 0) + 1);
  for (const a of jaxpr.outvars) if (a instanceof Var) uses.set(a, (uses.get(a) ?? 0) + 2);
  jaxpr.constvars.forEach((cv, i) => values.set(cv, bufferValue({ kind: "const", index: i }, cv.aval.shape, scalarTypeOf(cv.aval.dtype))));
  jaxpr.invars.forEach((iv, i) => values.set(iv, bufferValue({ kind: "input", index: i }, iv.aval.shape, scalarTypeOf(iv.aval.dtype))));

  const materialize = (value: Value): Value => {
    if (value.ref) return value;
    const type = value.type;
    const ctx = new KernelContext();
    const coords = unravelExpr(gid, value.shape);
    const result = value.at(coords, ctx);
    const out: BufferRef = { kind: "temp", index: temps.length };
    temps.push({ length: sizeOf(value.shape), type });
    const outSlot = ctx.slot(out, type);
    const kernel: Kernel = {
      name: `k${steps.length}`,
      grid: sizeOf(value.shape),
      buffers: ctx.refs.map((_, i) => ({ type: ctx.types[i]!, access: i === outSlot ? "read_write" : "read" })),
      body: [...ctx.prelude, { k: "store", buffer: outSlot, index: gid, value: result }],
    };
    steps.push({ kernel, buffers: ctx.refs });
    return bufferValue(out, value.shape, type);
  };

  const read = (a: Atom): Value => {
    if (a instanceof Literal) {
      const t = scalarTypeOf(a.aval.dtype);
      return lazy([], t, false, () => c(a.value, t));
    }
    return values.get(a)!;
  };

  for (const e of jaxpr.eqns) {
    const rule = RULES[e.primitive.name];
    if (!rule || e.outputs.length !== 1) unsupported(`the primitive '${e.primitive.name}'`);
    const out = e.outputs[0]!;
    const elementwiseOp = ELEMENTWISE_NAMES.has(e.primitive.name);
    // A pending loop may only be read at the consuming kernel's own coordinates: by an elementwise op of its shape.
    const inputs = e.inputs.map((a) => {
      const value = read(a);
      const sameShape = value.shape.length === out.aval.shape.length && value.shape.every((d, i) => d === out.aval.shape[i]);
      return value.pending && !(elementwiseOp && sameShape) ? materialize(value) : value;
    });
    let value = rule!(e, inputs, out.aval.shape, scalarTypeOf(out.aval.dtype));
    if ((uses.get(out) ?? 0) !== 1) value = materialize(value);
    values.set(out, value);
  }
  const outputs = jaxpr.outvars.map((a) => {
    if (a instanceof Literal) return { kind: "literal" as const, value: a.value, type: scalarTypeOf(a.aval.dtype) };
    return materialize(values.get(a)!).ref!;
  });
  return { steps, temps, outputs };
}
