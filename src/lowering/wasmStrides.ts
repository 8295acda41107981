/**
 * Strength reduction for the wasm renderer's loops. A load whose element index is an affine function of the loop
 * variable — seen through the `let`s that compute it, and with every other term invariant in the loop — reads through
 * a byte pointer set before the loop and bumped once per iteration; loads of one buffer whose indices differ by a
 * constant share the pointer, the difference becoming the load's memory offset. In a matrix product's contraction
 * this leaves two pointer increments per step where each load computed its own address.
 */
import { type BufferDecl, type Expr, type Stmt, accumulatorName, binary, c } from "./kernelIr.js";
import { wide } from "./wasmNarrow.js";

type Load = Extract<Expr, { k: "load" }>;
type For = Extract<Stmt, { k: "for" }>;

/** A pointer of a loop: element `start` of `buffer` at the first iteration, advancing `stride` elements per iteration. */
export interface StridedPointer {
  readonly buffer: number;
  readonly start: Expr;
  readonly stride: number;
}

export interface StridePlan {
  readonly pointers: readonly StridedPointer[];
  /** The pointer each strided load reads through and its offset in bytes. */
  readonly loads: ReadonlyMap<Expr, { readonly pointer: number; readonly offset: number }>;
}

/** An affine index: invariant terms (by their text) with coefficients, the loop variable's coefficient, a constant. */
interface Affine {
  readonly terms: Map<string, { expr: Expr; coefficient: number }>;
  loop: number;
  constant: number;
}

const CHILDREN = ["a", "b", "cond", "index"] as const;
const children = (e: Expr): Expr[] => CHILDREN.flatMap((key) => ((e as Record<string, unknown>)[key] as Expr | undefined) ?? []);
const readsAny = (e: Expr, names: ReadonlySet<string>): boolean => (e.k === "var" && names.has(e.name)) || children(e).some((x) => readsAny(x, names));
const hasLoad = (e: Expr): boolean => e.k === "load" || children(e).some(hasLoad);

/** Names a statement list binds or assigns, and the loads it makes, in order. */
function walk(body: readonly Stmt[], names: Set<string>, lets: Map<string, Expr>, loads: Load[]): void {
  const collect = (e: Expr): void => {
    if (e.k === "load") loads.push(e);
    children(e).forEach(collect);
  };
  for (const s of body) {
    switch (s.k) {
      case "let":
        lets.set(s.name, s.value);
        names.add(s.name);
        collect(s.value);
        break;
      case "declare":
      case "assign":
        names.add(s.name);
        collect(s.k === "declare" ? s.init : s.value);
        break;
      case "store":
        collect(s.index);
        collect(s.value);
        break;
      case "for":
        names.add(s.name);
        [s.start, s.end].forEach(collect);
        walk(s.body, names, lets, loads);
        break;
      case "if":
        collect(s.cond);
        walk([...s.then, ...(s.else ?? [])], names, lets, loads);
        break;
      case "rank1":
        s.rows.forEach((_, i) => s.cols.forEach((_, j) => names.add(accumulatorName(s.acc, i, j))));
        [...s.rows, ...s.cols].forEach(collect);
        break;
    }
  }
}

/**
 * The strided loads of `loop`. `outer` holds the `let`s bound before it (read through, when the loop does not
 * rebind what they read); the loop's own `let`s are read through when affine in the loop variable.
 */
export function planStrides(loop: For, outer: ReadonlyMap<string, Expr>, buffers: readonly BufferDecl[]): StridePlan {
  const variant = new Set<string>();
  const inner = new Map<string, Expr>();
  const loads: Load[] = [];
  walk(loop.body, variant, inner, loads);
  if (variant.has(loop.name)) return { pointers: [], loads: new Map() };
  variant.add(loop.name);

  const affine = (e: Expr, depth = 0): Affine | undefined => {
    if (depth > 64) return undefined;
    if (e.k === "const" && e.type === "i32") return { terms: new Map(), loop: 0, constant: e.value };
    if (e.k === "var") {
      if (e.name === loop.name) return { terms: new Map(), loop: 1, constant: 0 };
      const definition = inner.get(e.name) ?? (variant.has(e.name) ? undefined : outer.get(e.name));
      if (definition) return affine(definition, depth + 1);
    }
    if (e.k === "binary" && (e.op === "add" || e.op === "sub")) {
      const [a, b] = [affine(e.a, depth + 1), affine(e.b, depth + 1)];
      if (!a || !b) return undefined;
      const sign = e.op === "add" ? 1 : -1;
      for (const [key, t] of b.terms) a.terms.set(key, { expr: t.expr, coefficient: (a.terms.get(key)?.coefficient ?? 0) + sign * t.coefficient });
      return { terms: a.terms, loop: a.loop + sign * b.loop, constant: a.constant + sign * b.constant };
    }
    if (e.k === "binary" && e.op === "mul" && (e.a.k === "const" || e.b.k === "const")) {
      const [x, factor] = e.b.k === "const" ? [e.a, e.b.value] : [e.b, (e.a as { value: number }).value];
      const a = affine(x, depth + 1);
      if (!a) return undefined;
      for (const t of a.terms.values()) t.coefficient *= factor;
      return { terms: a.terms, loop: a.loop * factor, constant: a.constant * factor };
    }
    // Any other invariant expression is a term of its own, computed once before the loop.
    if (e.type !== "i32" || readsAny(e, variant) || hasLoad(e)) return undefined;
    return { terms: new Map([[JSON.stringify(e), { expr: e, coefficient: 1 }]]), loop: 0, constant: 0 };
  };

  const groups = new Map<string, { buffer: number; form: Affine; members: { load: Load; constant: number }[] }>();
  for (const load of loads) {
    if (!wide(buffers[load.buffer]!)) continue;
    const form = affine(load.index);
    if (!form || form.loop === 0) continue;
    const terms = [...form.terms].filter(([, t]) => t.coefficient !== 0).sort(([a], [b]) => (a < b ? -1 : 1));
    const key = JSON.stringify([load.buffer, form.loop, terms.map(([k, t]) => [k, t.coefficient])]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { buffer: load.buffer, form, members: [] }));
    group.members.push({ load, constant: form.constant });
  }

  const pointers: StridedPointer[] = [];
  const planned = new Map<Expr, { pointer: number; offset: number }>();
  for (const { buffer, form, members } of groups.values()) {
    const base = Math.min(...members.map((m) => m.constant));
    const i32 = (x: number): Expr => c(x, "i32");
    const scaled = (e: Expr, k: number): Expr => (k === 1 ? e : binary("mul", e, i32(k)));
    let start: Expr = binary("add", scaled(loop.start, form.loop), i32(base));
    for (const t of form.terms.values()) if (t.coefficient !== 0) start = binary("add", start, scaled(t.expr, t.coefficient));
    const pointer = pointers.push({ buffer, start, stride: form.loop }) - 1;
    for (const m of members) planned.set(m.load, { pointer, offset: 4 * (m.constant - base) });
  }
  return { pointers, loads: planned };
}
