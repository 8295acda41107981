/**
 * The vmap property: for every registered primitive, `vmap(f)(xs)` equals stacking `f(xs[i])`, with the batch
 * axis first, in the middle and last, and with one operand batched while the others are shared. Examples
 * differ: floats are scaled by seeded random factors, integer operands are permuted (so indices and group
 * sizes stay valid) and integer scalars take other values (branch indices, trip counts, offsets). Two primitives
 * are checked apart: iota has no operands to batch, and custom_lin cannot be evaluated at all (only transposed).
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type Primitive, bind, jit, numpy as np, reference, vmap } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { rng } from "../util/random.js";
import { SAMPLES } from "../util/samples.js";
import { webgpuDevice } from "../util/webgpu.js";

const BATCH = 3;
const isFloatDtype = (x: A): boolean => x.dtype.startsWith("float") || x.dtype.startsWith("bfloat");

/** Example `b` of a sample operand. */
function variant(x: A, b: number, next: () => number): A {
  const values = Array.from(x.dataSync());
  if (isFloatDtype(x)) return np.reshape(np.array(values.map((v) => v * (0.5 + next())), { dtype: x.dtype }), x.shape);
  if (x.ndim === 0) return np.array([values[0]!, 0, values[0]! + 1][b]!, { dtype: x.dtype });
  const shuffled = [...values];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return np.reshape(np.array(x.dtype === "bool" ? shuffled.map(Boolean) : shuffled, { dtype: x.dtype }), x.shape);
}

type Placement = (x: A, operand: number) => number | null;
const middle = (x: A): number => Math.floor((x.ndim + 1) / 2);

/** Where each operand's batch axis goes: all at one position, or only one operand batched. */
function placements(numInputs: number): [string, Placement][] {
  const all: [string, Placement][] = [
    ["batch axis first", () => 0],
    ["batch axis in the middle", (x) => middle(x)],
    ["batch axis last", (x) => x.ndim],
  ];
  if (numInputs < 2) return all;
  return [...all, ...Array.from({ length: numInputs }, (_, k): [string, Placement] => [`only operand ${k} batched (last axis)`, (x, i) => (i === k ? x.ndim : null)])];
}

interface Case {
  name: string;
  primitive: Primitive;
  params: unknown;
  batched: A[];
  inAxes: (number | null)[];
  examples: A[][];
}

function makeCase(primitive: Primitive, place: Placement, seed: number): Case {
  const { inputs, params } = SAMPLES[primitive.name]!();
  const next = rng(seed);
  const perOperand = inputs.map((x) => Array.from({ length: BATCH }, (_, b) => variant(x, b, next)));
  const inAxes = inputs.map((x, i) => place(x, i));
  const batched = inputs.map((x, i) => (inAxes[i] === null ? x : np.stack(perOperand[i]!, inAxes[i]!)));
  const examples = Array.from({ length: BATCH }, (_, b) => inputs.map((x, i) => (inAxes[i] === null ? x : perOperand[i]![b]!)));
  return { name: primitive.name, primitive, params, batched, inAxes, examples };
}

const cases = (): [string, Primitive, Placement][] =>
  reference
    .listPrimitives()
    .filter((p) => p.name !== "custom_lin" && p.name !== "iota")
    .flatMap((p) => placements(SAMPLES[p.name]!().inputs.length).map(([label, place]): [string, Primitive, Placement] => [`${p.name}: ${label}`, p, place]));

/** vmap of the primitive against its examples stacked, both run by `run` (eagerly, or jitted on a device). */
async function checkCase(c: Case, run: (f: (...xs: A[]) => A[], args: A[]) => A[], rtol: number, atol: number): Promise<void> {
  const f = (...xs: A[]): A[] => bind(c.primitive, xs, c.params);
  const actual = run(vmap(f, { inAxes: c.inAxes }), c.batched);
  const perExample = c.examples.map((args) => run(f, args));
  expect(actual.length).toBe(perExample[0]!.length);
  for (const [k, out] of actual.entries()) {
    const expected = np.stack(perExample.map((outs) => outs[k]!), 0);
    expect([out.shape, out.dtype]).toEqual([expected.shape, expected.dtype]);
    const got = await out.data();
    const want = await expected.data();
    if (isFloatDtype(out)) expectClose(got, want, rtol, atol);
    else expect(Array.from(got)).toEqual(Array.from(want));
  }
}

const eager = (f: (...xs: A[]) => A[], args: A[]): A[] => f(...args);
const jitOn = (device: string) => (f: (...xs: A[]) => A[], args: A[]): A[] => jit(f, { device })(...args);

describe("vmap(f)(xs) equals stacking f(xs[i]), for every primitive", () => {
  it.each(cases())("eagerly: %s", async (_label, primitive, place) => {
    await checkCase(makeCase(primitive, place, 7), eager, 1e-6, 1e-7);
  });

  it.each(cases())("under jit on the interpreter: %s", async (_label, primitive, place) => {
    await checkCase(makeCase(primitive, place, 11), jitOn("interpreter"), 1e-6, 1e-7);
  });

  it.each(cases())("under jit on the cpu device: %s", async (_label, primitive, place) => {
    await checkCase(makeCase(primitive, place, 13), jitOn("cpu"), 1e-5, 1e-6);
  });
});

const gpu = await webgpuDevice();

describe.runIf(gpu)("vmap(f)(xs) equals stacking f(xs[i]) under jit on the webgpu device", () => {
  it.each(cases())("%s", async (_label, primitive, place) => {
    await checkCase(makeCase(primitive, place, 17), jitOn("webgpu"), 1e-5, 1e-6);
  });
});

describe("the primitives the property leaves out", () => {
  it("custom_lin under vmap refuses as its evaluation does", () => {
    const { inputs, params } = SAMPLES.custom_lin!();
    const f = (...xs: A[]): A[] => bind(reference.getPrimitive("custom_lin")!, xs, params);
    expect(() => vmap(f)(...inputs.map((x) => np.stack([x, x], 0)))).toThrow(/can't apply forward-mode autodiff \(jvp\) to a custom_vjp function/);
  });

  it("iota (no operands) under vmap with axisSize is broadcast along the batch", () => {
    const out = vmap(() => bind(reference.getPrimitive("iota")!, [], SAMPLES.iota!().params)[0]!, { axisSize: 2, inAxes: [] })() as A;
    expect(out.shape).toEqual([2, 2, 3]);
    expect(Array.from(out.dataSync())).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });
});
