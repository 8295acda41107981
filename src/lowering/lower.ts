/**
 * Lowering of a jaxpr to a program of kernels (fusion planning and kernel generation in one walk).
 * Elementwise operations, broadcasts, reshapes, transposes, slices, reversals, iota and casts stay lazy:
 * an index function from output coordinates to a scalar expression. A value materialises (one kernel) when
 * it is an output, is read by more than one equation, or feeds an operation that is not fusable. Reductions
 * and dot_general become kernels with a loop; their elementwise prologue (the lazy operand) is fused into
 * the loop, and an elementwise epilogue of the same shape (bias, activation, scaling, casting) into the store.
 */
import type { DType } from "../core/dtype.js";
import { fmtShape } from "../core/errors.js";
import { sizeOf } from "../core/shape.js";
import { type Atom, type ClosedJaxpr, type Jaxpr, type JaxprEqn, Literal, Var } from "../trace/jaxpr.js";
import { dce } from "../trace/passes.js";
import { type LoweringTarget, dotGeneral } from "./dot.js";
import { hoistInvariants } from "./hoist.js";
import { ravelExpr, unravelExpr } from "./index.js";
import { inlineAllCalls } from "./inline.js";
import { kernelRuleFor } from "./kernelRules.js";
import { type BufferDecl, type Expr, type Kernel, type NarrowDType, type ScalarType, type Stmt, binary, c, gid, load, loopIterations } from "./kernelIr.js";
import { computeTypeOf, elementBits, narrow, narrowOf, packWord, wideDType } from "./packing.js";
import { LoweringError, type MultiRule, type RuleOptions, lazy, unsupported } from "./rules/common.js";
import { ELEMENTWISE_RULES, threefry2x32 } from "./rules/elementwise.js";
import { INDEXING_RULES } from "./rules/indexing.js";
import { MOVEMENT_RULES } from "./rules/movement.js";
import { REDUCTION_RULES } from "./rules/reduce.js";
import { SORT_RULES } from "./rules/sort.js";

/** Where a kernel reads or writes: an input of the jaxpr, one of its constants, or a temporary. */
export type BufferRef = { readonly kind: "input" | "const" | "temp"; readonly index: number };

export interface Step {
  readonly kernel: Kernel;
  /** One per kernel buffer, in binding order; the last is the output. */
  readonly buffers: readonly BufferRef[];
}

export interface Program {
  readonly steps: readonly Step[];
  /** Temporaries: `length` elements of `dtype` (narrow dtypes are packed on WebGPU, see `BufferDecl`). */
  readonly temps: readonly { readonly length: number; readonly type: ScalarType; readonly dtype: DType }[];
  /** Each output of the jaxpr: a buffer, or a literal scalar. */
  readonly outputs: readonly (BufferRef | { readonly kind: "literal"; readonly value: number; readonly type: ScalarType; readonly dtype: DType })[];
}

export { LoweringError };

/** The type a dtype computes in inside kernels: narrow floats in f32, narrow ints in i32 or u32. */
export function scalarTypeOf(dtype: DType): ScalarType {
  if (dtype === "float64") {
    throw new LoweringError("lowering: dtype float64 is not supported by the kernel lowering (kernels compute in 32 bits at most); run float64 programs on the interpreter");
  }
  return computeTypeOf(dtype);
}

export interface LoweringOptions extends RuleOptions {
  /**
   * Which device the kernels are for: it picks the dot_general tiling, and on "webgpu" narrow dtypes are stored
   * packed in u32 words. Callers that omit the options get the CPU tiling, which also measured faster than the
   * WebGPU one on the software adapter so far.
   */
  readonly target: LoweringTarget;
  /**
   * Split large reductions into two passes (see reductions.ts); on "webgpu" by default. Off for software
   * adapters, where a single invocation's loop is fast and every parallel load costs a per-lane loop.
   */
  readonly splitReductions?: boolean;
  /**
   * The most loop iterations an invocation may run, where the adapter stops longer loops (Mesa's llvmpipe ends a
   * shader's loops after 65535 iterations in all, silently). Reductions are split to stay under it; another
   * kernel that would loop longer (a sort, cumulative sum or scatter along a longer axis, a contraction over
   * more elements) is refused with a LoweringError instead of computing a wrong result.
   */
  readonly loopLimit?: number;
  /**
   * The most storage buffers one kernel may bind (WebGPU's maxStorageBuffersPerShaderStage). A fused value that
   * would read more has its fused operands stored first (each then one buffer to read).
   */
  readonly maxStorageBuffers?: number;
  /**
   * Compute large dot_generals by workgroups that stage their operands' tiles in workgroup memory (see
   * workgroupDot.ts). WebGPU only; set for hardware adapters (software ones measured slower with it).
   */
  readonly workgroupDots?: boolean;
}

/** Buffers a kernel binds besides the fused value's reads: its output, and the ones rules add (packed operands, group starts). */
const RESERVED_BUFFERS = 4;

/** Assigns buffer bindings within one kernel and collects statements that must run before the store. */
export class KernelContext {
  readonly prelude: Stmt[] = [];
  readonly #emitted = new Set<number | string>();
  readonly decls: Omit<BufferDecl, "access">[] = [];
  /** The buffer behind each slot; undefined for a workgroup buffer. */
  readonly #slots: (BufferRef | undefined)[] = [];
  /** The element (row, column) of the invocation's block being stored (see `Block`); (0, 0) for unblocked values. */
  element: readonly [number, number] = [0, 0];
  /** The binding of `ref` as `decl` describes it; one buffer may be bound twice, as packed elements and as its raw u32 words. */
  slot(ref: BufferRef, decl: Omit<BufferDecl, "access">): number {
    const same = (d: Omit<BufferDecl, "access">): boolean => d.type === decl.type && d.element === decl.element && (d.packed ?? false) === (decl.packed ?? false);
    const i = this.#slots.findIndex((r, k) => r?.kind === ref.kind && r.index === ref.index && same(this.decls[k]!));
    if (i >= 0) return i;
    this.#slots.push(ref);
    this.decls.push(decl);
    return this.decls.length - 1;
  }
  /** A new workgroup buffer of `length` elements of `type` (see BufferDecl.workgroup). */
  workgroupBuffer(type: ScalarType, length: number): number {
    this.#slots.push(undefined);
    this.decls.push({ type, workgroup: length });
    return this.decls.length - 1;
  }
  /** The bound buffers, in slot order. */
  get refs(): BufferRef[] {
    return this.#slots.filter((r) => r !== undefined);
  }
  /** The narrow element type of a buffer of the kernel, if it has one. */
  readonly elementOf = (slot: number): NarrowDType | undefined => this.decls[slot]?.element;
  emitOnce(id: number | string, stmts: () => Stmt[]): void {
    if (this.#emitted.has(id)) return;
    this.#emitted.add(id);
    this.prelude.push(...stmts());
  }
}

/**
 * A value computed in blocks: each of `grid` invocations produces rows×cols elements (a dot's register block),
 * the consuming kernel reading the element `KernelContext.element` at a time.
 */
export interface Block {
  readonly grid: number;
  /** Set when the invocations cooperate in workgroups of this many (see Kernel.workgroupSize). */
  readonly workgroup?: number;
  readonly rows: number;
  readonly cols: number;
  /** Output coordinates and flat output index of element (i, j) of the invocation's block, and whether it exists (ragged edges). */
  element(i: number, j: number): { coords: Expr[]; index: Expr; valid?: Expr };
}

export interface Value {
  readonly shape: readonly number[];
  readonly type: ScalarType;
  /** The value at output coordinates, as an expression inside the kernel being built. */
  at(coords: Expr[], ctx: KernelContext): Expr;
  /** A reduction or dot whose loop must run in the consuming kernel: only same-shape elementwise consumers may fuse. */
  readonly pending: boolean;
  readonly ref?: BufferRef;
  /** Set on a pending value computed in blocks, and on the elementwise values fused after it. */
  readonly block?: Block;
  /** The narrow dtype of the value's elements, if it has one (`at` gives values of it, in the compute type). */
  readonly element?: NarrowDType;
  /** Set on a value that only re-lays out what it reads: its kernel is marked `relayout` (see Kernel). */
  readonly relayout?: true;
}

const bufferValue = (ref: BufferRef, shape: readonly number[], type: ScalarType, element: NarrowDType | undefined, packed: boolean): Value => ({
  shape,
  type,
  pending: false,
  ref,
  element,
  at: (coords, ctx) => load(ctx.slot(ref, { type, element, packed: packed && element !== undefined }), ravelExpr(coords, shape), type),
});

/** A value of dtype `dtype` computed by `value`: rounded or wrapped to it where the dtype is narrow. */
function narrowed(value: Value, dtype: DType): Value {
  const element = narrowOf(dtype);
  if (!element) return value;
  return { ...value, element, at: (coords, ctx) => narrow(value.at(coords, ctx), element, ctx.elementOf) };
}

/** The block of a packed value: each invocation computes the `per` elements of one word (the last word's tail guarded). */
function wordBlock(shape: readonly number[], per: number): Block {
  const length = sizeOf(shape);
  return {
    grid: Math.ceil(length / per),
    rows: 1,
    cols: per,
    element: (_i, j) => {
      const first = binary("mul", gid, c(per, "i32"));
      const flat = j === 0 ? first : binary("add", first, c(j, "i32"));
      if (j === 0 || length % per === 0) return { coords: unravelExpr(flat, shape), index: flat };
      return { coords: unravelExpr(binary("min", flat, c(length - 1, "i32")), shape), index: flat, valid: binary("lt", flat, c(length, "i32")) };
    },
  };
}

type Rule = (eqn: JaxprEqn, inputs: Value[], outShape: readonly number[], outType: ScalarType, options: LoweringOptions, materialize: (value: Value) => Value) => Value;

const RULES: Record<string, Rule> = {
  ...ELEMENTWISE_RULES,
  ...MOVEMENT_RULES,
  ...REDUCTION_RULES,
  ...INDEXING_RULES,
  dot_general: dotGeneral,
};

const MULTI_RULES: Record<string, MultiRule> = {
  ...SORT_RULES,
  threefry2x32,
  custom_lin: () => {
    // The linear stand-in of a custom_vjp call only exists to be transposed, as in the interpreter.
    throw new LoweringError("lowering: custom_lin can't be evaluated: can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
  },
};

/** Rules that read their operands at their own coordinates only, so a pending operand of their shape fuses. */
const FUSES_PENDING = new Set(Object.keys(ELEMENTWISE_RULES));

/**
 * Contractions read each operand element many times (once per output tile it meets), so an operand computed by
 * more than this many fused operations is stored first rather than recomputed at every read: a dequantization
 * (convert, broadcast scale, multiply) still fuses into the loads, a quantization (dozens of operations) does not.
 * An indexed read (gather) counts as more than that: it adds a dependent index load to every read of the
 * contraction's inner loop (vmap's row reordering of gmm ran 1.6× slower fused than stored first).
 */
const CONTRACTIONS = new Set(["dot_general", "gmm", "tgmm"]);
const MAX_CONTRACTION_PROLOGUE = 8;
const INDEXED_READS = new Set(["gather"]);

/** Lowers a closed jaxpr (nested jit and custom_jvp/custom_vjp calls are inlined, dead code removed first). */
export function lowerJaxpr(closed: ClosedJaxpr, options: LoweringOptions = { target: "cpu" }): Program {
  const jaxpr: Jaxpr = dce(inlineAllCalls(closed.jaxpr));
  const packed = options.target === "webgpu";
  const steps: Step[] = [];
  const temps: { length: number; type: ScalarType; dtype: DType }[] = [];
  const values = new Map<Var, Value>();
  /** The buffers each fused value reads (a stored value reads its own). */
  const readsOf = new WeakMap<Value, ReadonlySet<string>>();
  const reads = (x: Value): ReadonlySet<string> => readsOf.get(x) ?? new Set(x.ref ? [`${x.ref.kind}${x.ref.index}`] : []);
  const readsAll = (xs: readonly Value[]): ReadonlySet<string> => new Set(xs.flatMap((x) => [...reads(x)]));
  /** The operations fused into a lazy value (none for a stored one). */
  const costs = new Map<Value, number>();
  const budget = options.maxStorageBuffers === undefined ? Infinity : options.maxStorageBuffers - RESERVED_BUFFERS;
  const uses = new Map<Var, number>();
  for (const e of jaxpr.eqns) for (const a of e.inputs) if (a instanceof Var) uses.set(a, (uses.get(a) ?? 0) + 1);
  for (const a of jaxpr.outvars) if (a instanceof Var) uses.set(a, (uses.get(a) ?? 0) + 2);
  const input = (ref: BufferRef, aval: Var["aval"]): Value => bufferValue(ref, aval.shape, scalarTypeOf(aval.dtype), narrowOf(aval.dtype), packed);
  jaxpr.constvars.forEach((cv, i) => values.set(cv, input({ kind: "const", index: i }, cv.aval)));
  jaxpr.invars.forEach((iv, i) => values.set(iv, input({ kind: "input", index: i }, iv.aval)));

  /** One kernel storing `value` into a new temporary; a packed one computes a whole word per invocation. */
  const store = (value: Value): Value => {
    const { type, element } = value;
    const packedOut = packed && element !== undefined;
    const ctx = new KernelContext();
    const block: Block =
      value.block ?? (packedOut ? wordBlock(value.shape, 32 / elementBits(element)) : { grid: sizeOf(value.shape), rows: 1, cols: 1, element: () => ({ coords: unravelExpr(gid, value.shape), index: gid }) });
    const elements = Array.from({ length: block.rows * block.cols }, (_, e) => {
      ctx.element = [Math.floor(e / block.cols), e % block.cols];
      const element = block.element(...ctx.element);
      return { ...element, value: value.at(element.coords, ctx) };
    });
    const out: BufferRef = { kind: "temp", index: temps.length };
    temps.push({ length: sizeOf(value.shape), type, dtype: element ?? wideDType(type) });
    const outSlot = ctx.slot(out, { type, element, packed: packedOut });
    const stores = packedOut
      ? [{ k: "store" as const, buffer: outSlot, index: gid, value: packWord(elements, element) }]
      : elements.map(({ index, value: result, valid }): Stmt => {
          const single: Stmt = { k: "store", buffer: outSlot, index, value: result };
          return valid ? { k: "if", cond: valid, then: [single] } : single;
        });
    const kernel: Kernel = {
      name: `k${steps.length}`,
      grid: block.grid,
      ...(block.workgroup ? { workgroupSize: block.workgroup } : {}),
      ...(value.relayout ? { relayout: true as const } : {}),
      buffers: ctx.decls.map((decl, i) => ({ ...decl, access: i === outSlot || decl.workgroup !== undefined ? "read_write" : "read" })),
      body: hoistInvariants([...ctx.prelude, ...stores]),
    };
    const iterations = loopIterations(kernel.body);
    if (iterations > (options.loopLimit ?? Infinity)) {
      throw new LoweringError(`a kernel computing a ${fmtShape(value.shape)} ${type} value would loop ${iterations} times per invocation; this adapter stops loops after ${options.loopLimit} iterations (a software rasteriser: use the cpu device for this program)`);
    }
    steps.push({ kernel, buffers: ctx.refs });
    return bufferValue(out, value.shape, type, element, packed);
  };

  const materialize = (value: Value): Value => {
    if (value.ref) return value;
    if (!packed || value.element === undefined || !value.pending) return store(value);
    // A pending loop runs once per invocation, but a packed word needs several elements: store it wide, then pack.
    const wide = store({ ...value, element: undefined });
    return store({ ...lazy(value.shape, value.type, false, wide.at), element: value.element });
  };

  const read = (a: Atom): Value => {
    if (a instanceof Literal) {
      const t = scalarTypeOf(a.aval.dtype);
      return narrowed(lazy([], t, false, () => c(a.value, t)), a.aval.dtype);
    }
    return values.get(a)!;
  };

  for (const e of jaxpr.eqns) {
    const name = e.primitive.name;
    const rule = e.outputs.length === 1 ? (kernelRuleFor(e, options.target) ?? RULES[name]) : undefined;
    const multiRule = MULTI_RULES[name];
    if (!rule && !multiRule) unsupported(`the primitive '${name}'`);
    const out = e.outputs[0]!;
    const outs = e.outputs.map((o) => ({ shape: o.aval.shape, type: scalarTypeOf(o.aval.dtype) }));
    const elementwiseOp = FUSES_PENDING.has(name);
    // A pending loop may only be read at the consuming kernel's own coordinates: by an elementwise op of its shape;
    // a blocked one only as the single pending input (the other loops would run once per invocation, not per element).
    let inputs = e.inputs.map((a) => {
      const value = read(a);
      const sameShape = value.shape.length === out.aval.shape.length && value.shape.every((d, i) => d === out.aval.shape[i]);
      return value.pending && !(elementwiseOp && sameShape) ? materialize(value) : value;
    });
    if (CONTRACTIONS.has(name)) inputs = inputs.map((x) => ((costs.get(x) ?? 0) > MAX_CONTRACTION_PROLOGUE ? materialize(x) : x));
    const firstBlocked = inputs.find((x) => x.block);
    if (firstBlocked) inputs = inputs.map((x) => (x.pending && x !== firstBlocked ? materialize(x) : x));
    if (readsAll(inputs).size > budget) inputs = inputs.map((x) => (reads(x).size > 1 ? materialize(x) : x));
    // The blocked input may just have been stored to fit the buffer budget: then the result is not blocked.
    const blocked = inputs.find((x) => x.block);
    const inputReads = readsAll(inputs);
    if (inputReads.size > budget) {
      throw new LoweringError(`lowering: '${name}' reads ${inputReads.size} arrays in one kernel; this device binds at most ${options.maxStorageBuffers} buffers per kernel`);
    }
    const results = multiRule ? multiRule(e, inputs, outs, materialize) : [rule!(e, inputs, out.aval.shape, outs[0]!.type, options, materialize)];
    e.outputs.forEach((o, i) => {
      let value = narrowed(results[i]!, o.aval.dtype);
      if (blocked) value = { ...value, block: blocked.block };
      readsOf.set(value, inputReads);
      const own = INDEXED_READS.has(name) ? MAX_CONTRACTION_PROLOGUE + 1 : 1;
      if (!value.ref && !value.pending) costs.set(value, own + inputs.reduce((total, x) => total + (costs.get(x) ?? 0), 0));
      values.set(o, (uses.get(o) ?? 0) > 1 ? materialize(value) : value);
    });
  }
  const outputs = jaxpr.outvars.map((a) => {
    if (a instanceof Literal) return { kind: "literal" as const, value: a.value, type: scalarTypeOf(a.aval.dtype), dtype: a.aval.dtype };
    return materialize(values.get(a)!).ref!;
  });
  return { steps, temps, outputs };
}
