/**
 * Runs a plan (src/lowering/plan.ts) on a kernel device: kernel programs in order, and loops driven from
 * the host. A `scan` runs its body once per iteration on a slice of each `xs` and writes each `ys` slice
 * into a stacked result; carries pass from one iteration to the next without copies. A `while` evaluates
 * its condition program and reads the predicate back before every iteration: the runner is a generator that
 * yields the predicate's buffer, so one implementation serves a synchronous device (the CPU reads it in place)
 * and an asynchronous one (WebGPU awaits the readback).
 */
import { ShapedArray } from "../core/aval.js";
import type { Array } from "../core/array.js";
import type { Program } from "../lowering/lower.js";
import { type Operand, type Plan, layoutOf } from "../lowering/plan.js";

/** What a device provides to run plans; B is its buffer handle. */
export interface PlanDevice<B> {
  /** An array's data on the device; `owned` is false when the buffer belongs to the array (do not release it). */
  fromArray(x: Array): { buffer: B; owned: boolean };
  literal(value: number, aval: ShapedArray): B;
  /** Runs a kernel program; the results are fresh buffers, or some of `inputs` when an output is an input. */
  run(program: Program, inputs: readonly B[]): B[];
  /** A fresh buffer with elements [offset, offset + length) of `x`. */
  slice(x: B, offset: number, length: number, aval: ShapedArray): B;
  /** A fresh buffer for `aval`'s elements (contents unspecified). */
  allocate(aval: ShapedArray): B;
  /** Copies `x` into `into` at element `offset`. */
  write(into: B, offset: number, x: B, length: number): void;
  /** The first element of a buffer, as a number (a while loop's predicate); asynchronous on a GPU. */
  readScalar(x: B): number | Promise<number>;
  /**
   * For devices whose reads are slow: a fresh buffer holding `a` where the scalar predicate `p` is nonzero,
   * else `b` (same layout). With it, a while loop runs iterations speculatively between predicate reads.
   */
  choose?(p: B, a: B, b: B): B;
  /** The most while-loop iterations run between two predicate reads (with `choose`). */
  readonly maxSpeculation?: number;
  release(x: B): void;
  toArray(x: B, aval: ShapedArray): Array;
}

/** The plan with every constant, nested plans' included, replaced by `f` of it (e.g. moved to a device once). */
export function mapConsts(plan: Plan, f: (x: Array) => Array): Plan {
  const nodes = plan.nodes.map((node) => {
    if (node.kind === "while") return { ...node, cond: mapConsts(node.cond, f), body: mapConsts(node.body, f) };
    if (node.kind === "scan") return { ...node, body: mapConsts(node.body, f) };
    return node;
  });
  return { ...plan, consts: plan.consts.map(f), nodes };
}

/** A run of a plan in progress: it yields each predicate buffer it needs read, and is resumed with the value. */
type Run<B, T> = Generator<B, T, number>;

/** The buffers for a plan's constants and arguments, and which of them the run made (and must release). */
export interface Bound<B> {
  readonly given: readonly B[];
  readonly made: ReadonlySet<B>;
}

/** Binds a plan's constants and arguments to buffers (uploading what is not on the device yet). */
export function bindArgs<B>(device: PlanDevice<B>, plan: Plan, args: readonly Array[]): Bound<B> {
  const bound = [...plan.consts, ...args].map((x) => device.fromArray(x));
  const kept = new Set(bound.filter((x) => !x.owned).map((x) => x.buffer));
  return { given: bound.map((x) => x.buffer), made: new Set(bound.filter((x) => x.owned && !kept.has(x.buffer)).map((x) => x.buffer)) };
}

function* arrays<B>(device: PlanDevice<B>, plan: Plan, args: readonly Array[]): Run<B, Array[]> {
  const { given, made } = bindArgs(device, plan, args);
  const outputs = yield* execute(device, plan, given);
  const wrapped = new Map<B, Array>();
  const result = outputs.map((b, i) => {
    const out = plan.outputs[i]!;
    const argIndex = "slot" in out ? out.slot - plan.consts.length : -1;
    if (argIndex >= 0 && argIndex < args.length && !made.has(b)) return args[argIndex]!;
    let array = wrapped.get(b);
    if (!array) wrapped.set(b, (array = device.toArray(b, out.aval)));
    return array;
  });
  for (const b of made) if (!wrapped.has(b)) device.release(b);
  return result;
}

/** Runs `plan` on `args` on a synchronous device; buffers made along the way are released, results become arrays. */
export function runPlan<B>(device: PlanDevice<B>, plan: Plan, args: readonly Array[]): Array[] {
  const run = arrays(device, plan, args);
  for (let step = run.next(); ; ) {
    if (step.done) return step.value;
    const value = device.readScalar(step.value);
    if (typeof value !== "number") throw new Error("runPlan: this device reads asynchronously; use runPlanAsync");
    step = run.next(value);
  }
}

/**
 * Runs `plan` on arguments bound beforehand, awaiting each predicate read, and copies each output into `into`
 * (buffers the caller allocated before the run), so results can be handed out before the run finishes.
 */
export async function runPlanInto<B>(device: PlanDevice<B>, plan: Plan, { given, made }: Bound<B>, into: readonly B[]): Promise<void> {
  const run = execute(device, plan, given);
  let step = run.next();
  while (!step.done) step = run.next(await device.readScalar(step.value));
  step.value.forEach((b, i) => device.write(into[i]!, 0, b, layoutOf(plan.outputs[i]!.aval).length));
  for (const b of new Set([...made, ...step.value])) if (made.has(b) || !given.includes(b)) device.release(b);
}

/**
 * Runs a plan on buffers for its constants and inputs; returns a buffer per output. Every buffer the plan
 * creates and does not return is released; the given ones are left alone.
 */
function* execute<B>(device: PlanDevice<B>, plan: Plan, given: readonly B[]): Run<B, B[]> {
  const env: B[] = [...given];
  const mine = new Set<B>();
  const read = (a: Operand): B => {
    if ("slot" in a) return env[a.slot]!;
    const b = device.literal(a.literal, a.aval);
    mine.add(b);
    return b;
  };
  const bind = (slots: readonly number[], buffers: readonly B[]): void => {
    slots.forEach((slot, i) => (env[slot] = buffers[i]!));
    for (const b of buffers) if (!given.includes(b)) mine.add(b);
  };
  for (const node of plan.nodes) {
    if (node.kind === "kernels") bind(node.outputs, device.run(node.program, node.inputs.map(read)));
    else if (node.kind === "while") bind(node.outputs, yield* runWhile(device, node.cond, node.body, node.condConsts.map(read), node.bodyConsts.map(read), node.carries.map(read)));
    else bind(node.outputs, yield* runScan(device, node.body, node.length, node.reverse, node.consts.map(read), node.carries.map(read), node.xs.map(read)));
  }
  const results = plan.outputs.map(read);
  for (const b of mine) if (!results.includes(b)) device.release(b);
  return results;
}

/** Releases the buffers of `old` that are neither kept in `now` nor owned by the caller. */
function retire<B>(device: PlanDevice<B>, old: readonly B[], now: readonly B[], callers: readonly B[]): void {
  for (const b of new Set(old)) if (!now.includes(b) && !callers.includes(b)) device.release(b);
}

/**
 * A while loop. The predicate is read before the first iteration; after that, on a device that can `choose`,
 * iterations run in chunks of 2, 4, 8, … (up to `maxSpeculation`) between reads: each computes the predicate
 * and the body and keeps the body's carries only where the predicate held, so the iterations past the end
 * change nothing, and a loop of n iterations reads its predicate about log2(n) + n / maxSpeculation times.
 */
function* runWhile<B>(device: PlanDevice<B>, cond: Plan, body: Plan, condConsts: B[], bodyConsts: B[], init: B[]): Run<B, B[]> {
  const callers = [...init, ...bodyConsts, ...condConsts];
  let carries = init;
  for (let chunk = 1; ; chunk = Math.min(chunk * 2, device.maxSpeculation ?? 1)) {
    const [predicate] = yield* execute(device, cond, [...condConsts, ...carries]);
    if (chunk > 1 && device.choose) {
      let last = predicate!;
      for (let k = 0; k < chunk; k++) {
        if (k > 0) {
          const [p] = yield* execute(device, cond, [...condConsts, ...carries]);
          if (!callers.includes(last) && !carries.includes(last)) device.release(last);
          last = p!;
        }
        const next = yield* execute(device, body, [...bodyConsts, ...carries]);
        const chosen = next.map((b, j) => device.choose!(last, b, carries[j]!));
        retire(device, next, chosen, [...callers, ...carries]);
        retire(device, carries, chosen, [...callers, last]);
        carries = chosen;
      }
      const go = (yield last) !== 0;
      if (!callers.includes(last)) device.release(last);
      if (!go) return carries;
      continue;
    }
    const go = (yield predicate!) !== 0;
    if (![...condConsts, ...carries].includes(predicate!)) device.release(predicate!);
    if (!go) return carries;
    const next = yield* execute(device, body, [...bodyConsts, ...carries]);
    retire(device, carries, next, callers);
    carries = next;
  }
}

function* runScan<B>(device: PlanDevice<B>, body: Plan, length: number, reverse: boolean, consts: B[], init: B[], xs: B[]): Run<B, B[]> {
  const numCarry = init.length;
  const xAvals = body.inputs.slice(consts.length + numCarry);
  const yAvals = body.outputs.slice(numCarry).map((a) => a.aval);
  const ys = yAvals.map((aval) => device.allocate(new ShapedArray([length, ...aval.shape], aval.dtype)));
  let carries = init;
  for (let step = 0; step < length; step++) {
    const i = reverse ? length - 1 - step : step;
    const slices = xs.map((x, k) => {
      const { length: n } = layoutOf(xAvals[k]!);
      return device.slice(x, i * n, n, xAvals[k]!);
    });
    const outs = yield* execute(device, body, [...consts, ...carries, ...slices]);
    const next = outs.slice(0, numCarry);
    outs.slice(numCarry).forEach((y, k) => {
      const { length: n } = layoutOf(yAvals[k]!);
      device.write(ys[k]!, i * n, y, n);
      if (!next.includes(y) && ![...consts, ...carries, ...slices].includes(y)) device.release(y);
    });
    for (const s of slices) if (!next.includes(s)) device.release(s);
    retire(device, carries, next, [...init, ...consts]);
    carries = next;
  }
  return [...carries, ...ys];
}
