/**
 * `jit`: stages a function once per input signature into a closed jaxpr, caches it, and calls it through
 * the `jit` primitive, which shows in outer jaxprs as `jit[name=... jaxpr={...}]` and runs an executable.
 * Arrays the function closes over become constants of the cached jaxpr, passed to its executable as leading
 * operands: as in JAX, a later call uses the arrays captured while tracing, not whatever the closed-over
 * variables hold by then.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, ArrayImpl, arrayFromHost } from "../core/array.js";
import { ArgumentError, ShapeError } from "../core/errors.js";
import { definePrimitive } from "../core/primitive.js";
import { type TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray } from "./args.js";
import { defaultDevice, executableFor } from "./executable.js";
import { ClosedJaxpr, Jaxpr, subJaxprs, constsAsInputs } from "./jaxpr.js";
import { traceFlat, traceToJaxpr } from "./stage.js";
import { Tracer, bind, bindsEagerly, setDeviceDispatch } from "./trace.js";

export interface JitParams {
  readonly name: string;
  readonly jaxpr: ClosedJaxpr;
  /** Where the compiled jaxpr runs (not printed, as JAX does not print its placement). */
  readonly device: string;
}

export const jitP = definePrimitive<JitParams>({
  name: "jit",
  multipleResults: true,
  namesFollowOperands: true,
  abstractEval(avals, { jaxpr, name }) {
    const expected = jaxpr.inAvals;
    if (avals.length !== expected.length || avals.some((a, i) => !a.equals(expected[i]!))) {
      throw new ShapeError(`jit(${name}): called with ${avals.map(String).join(", ")}, but it was traced for ${expected.map(String).join(", ")}`);
    }
    return jaxpr.outAvals;
  },
  impl(inputs, { jaxpr, device }) {
    const args = inputs.map((t, i) => arrayFromHost(t.data, new ShapedArray(t.shape, t.dtype, jaxpr.inAvals[i]!.weakType)));
    return executableFor(jaxpr, device)(args).map((x) => ({ shape: x.shape, dtype: x.dtype, data: x.dataSync() }));
  },
  evalArrays: (inputs, { jaxpr, device }) => executableFor(jaxpr, device)(inputs),
  formatParams: ({ name, jaxpr }) => ({ name, jaxpr }),
});

export interface JitOptions {
  /** Positions of arguments that are compile-time constants (hashable JS values), part of the cache key. */
  staticArgnums?: readonly number[];
  /** Keys of a trailing options object (the last argument) that are static; the rest of it is traced. */
  staticArgnames?: readonly string[];
  /** Positions of array arguments whose buffers the call may consume: they are disposed after the call. */
  donateArgnums?: readonly number[];
  /** The device to run on ("interpreter", "cpu", ...; see `devices()`); by default `defaultDevice()`. */
  device?: string;
}

export type Jitted<F extends (...args: never[]) => unknown> = F & {
  /** How many times the function has been traced (once per distinct input signature). */
  readonly traceCount: number;
  /** The closed jaxpr for these arguments (tracing if needed). */
  lower(...args: Parameters<F>): ClosedJaxpr;
};

interface CacheEntry {
  closed: ClosedJaxpr;
  /** What the `jit` primitive calls: `closed` itself, or with its constvars as leading invars when it has consts (one object per entry, so its executable is compiled once). */
  callee: ClosedJaxpr;
  outTree: TreeDef;
}

let nextObjectId = 0;
const objectIds = new WeakMap<object, number>();

/** A cache-key fragment for a static argument: JSON for plain data, identity for functions and objects. */
function staticKey(value: unknown): string {
  if (typeof value === "function" || (typeof value === "object" && value !== null && Object.getPrototypeOf(value) !== Object.prototype && !globalThis.Array.isArray(value))) {
    let id = objectIds.get(value as object);
    if (id === undefined) objectIds.set(value as object, (id = nextObjectId++));
    return `#${id}`;
  }
  if (value instanceof Array) throw new ArgumentError("jit: a static argument must not be an Array (static values are hashed, not traced)");
  return JSON.stringify(value) ?? String(value);
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype;

export function jit<F extends (...args: never[]) => unknown>(f: F, options: JitOptions = {}): Jitted<F> {
  const name = f.name || "<lambda>";
  const staticNums = new Set(options.staticArgnums ?? []);
  const staticNames = new Set(options.staticArgnames ?? []);
  const donated = new Set(options.donateArgnums ?? []);
  const cache = new Map<string, CacheEntry>();
  let traceCount = 0;

  /** Splits the call's arguments into traced ones and the static parts, and builds the re-assembling call. */
  function prepare(args: unknown[]): { dynamic: unknown[]; key: string; call: (...dyn: unknown[]) => unknown } {
    for (const i of staticNums) if (!(i >= 0 && i < args.length)) throw new ArgumentError(`jit(${name}): staticArgnums entry ${i} is out of range for ${args.length} arguments`);
    const last = args.length - 1;
    const options = staticNames.size > 0 && isPlainObject(args[last]) ? (args[last] as Record<string, unknown>) : undefined;
    const staticParts: string[] = [];
    const dynamic: unknown[] = [];
    args.forEach((a, i) => {
      if (staticNums.has(i)) staticParts.push(`${i}=${staticKey(a)}`);
      else if (options && i === last) {
        const traced: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(options)) {
          if (staticNames.has(k)) staticParts.push(`${k}=${staticKey(v)}`);
          else traced[k] = v;
        }
        dynamic.push(traced);
      } else dynamic.push(a);
    });
    const call = (...dyn: unknown[]): unknown => {
      let k = 0;
      const full = args.map((a, i) => {
        if (staticNums.has(i)) return a;
        const d = dyn[k++];
        return options && i === last ? { ...options, ...(d as object) } : d;
      });
      return (f as unknown as (...a: unknown[]) => unknown)(...full);
    };
    return { dynamic, key: staticParts.join(";"), call };
  }

  function entryFor(args: unknown[]): { entry: CacheEntry; dynamic: unknown[]; leaves: Array[]; cacheable: boolean } {
    const { dynamic, key, call } = prepare(args);
    const [leaves, inTree] = flatten(dynamic);
    const arrays = leaves.map((x, i) => asArray(x, `jit(${name}): argument leaf ${i}`));
    const signature = `${inTree.toString()}|${arrays.map((a) => `${a.aval.toString()}${a.weakType ? "w" : ""}`).join(",")}|${key}`;
    const cached = cache.get(signature);
    if (cached) return { entry: cached, dynamic, leaves: arrays, cacheable: true };
    Object.defineProperty(call, "name", { value: name });
    const { closed, outTree } = traceFlat(call, dynamic, name);
    traceCount++;
    // Constants that are tracers of an enclosing transformation become explicit operands of this call.
    const cacheable = !closed.consts.some((c) => c instanceof Tracer);
    const callee = closed.consts.length === 0 ? closed : constsAsInputs(closed);
    const entry = { closed, callee, outTree };
    if (cacheable) cache.set(signature, entry);
    return { entry, dynamic, leaves: arrays, cacheable };
  }

  /** Names each leaf of the traced arguments by its argument position (and its place in a pytree argument). */
  function leafNames(args: unknown[], dynamic: unknown[]): string[] {
    const positions = [...args.keys()].filter((i) => !staticNums.has(i));
    return dynamic.flatMap((arg, d) => {
      const count = flatten(arg)[0].length;
      return globalThis.Array.from({ length: count }, (_, j) => (count === 1 ? `argument ${positions[d]}` : `argument ${positions[d]} (leaf ${j} of its pytree)`));
    });
  }

  /**
   * An executable reads the arrays on its own device, and host arrays (uploading them). An array on another
   * device can only be read asynchronously, so it is refused here, where the argument can still be named.
   */
  function checkDevices(args: unknown[], dynamic: unknown[], consts: readonly Array[], leaves: readonly Array[], device: string): void {
    const unreadable = (x: Array): x is ArrayImpl => x instanceof ArrayImpl && !x.disposed && x.device !== device && !x.buffer.readSync;
    const refusal = (x: ArrayImpl, what: string): ArgumentError =>
      new ArgumentError(
        `jit(${name}): ${what} (${x.aval.toString()}) is on device '${x.device}', but the call runs on device '${device}', which cannot read it synchronously. ` +
          `Copy it to the host first with \`x = await deviceGet(x)\` (devicePut(x, "${device}") cannot: it is synchronous and reading '${x.device}' is not), ` +
          `or jit with {device: "${x.device}"}.`,
      );
    for (const c of consts) if (unreadable(c)) throw refusal(c, `a constant captured by ${name}`);
    for (const [i, x] of leaves.entries()) if (unreadable(x)) throw refusal(x, leafNames(args, dynamic)[i]!);
  }

  const jitted = ((...args: unknown[]) => {
    const { entry, dynamic, leaves } = entryFor(args);
    const { closed, callee } = entry;
    const operands = [...closed.consts, ...leaves];
    const device = options.device ?? defaultDevice();
    if (bindsEagerly(operands)) checkDevices(args, dynamic, closed.consts, leaves, device);
    const outs = bind(jitP, operands, { name, jaxpr: callee, device });
    for (const i of donated) {
      const arg = args[i];
      if (arg instanceof ArrayImpl && !outs.includes(arg)) arg.dispose();
    }
    return unflatten(entry.outTree, outs);
  }) as unknown as Jitted<F>;

  Object.defineProperty(jitted, "traceCount", { get: () => traceCount });
  Object.defineProperty(jitted, "name", { value: name });
  Object.defineProperty(jitted, "lower", { value: (...args: unknown[]) => entryFor(args).entry.closed });
  return jitted;
}


// Eager operations run on the device their operands live on, or the default device for host operands: each
// (primitive, params, operand types) is staged once into a one-equation jaxpr and compiled for the device, as
// JAX's eager mode does. Primitives holding jaxprs (control flow, custom calls) run by their reference rule,
// whose inner operations dispatch in turn.
const eagerCache = new Map<string, ClosedJaxpr>();
/** Eager signatures kept (least recently used ones are dropped beyond this). */
const EAGER_CACHE_SIZE = 4096;
/** Params that hold a jaxpr describing the operation (scatter's update computation) rather than a program to run. */
const DESCRIPTIVE_JAXPRS = new Set(["update_jaxpr"]);
setDeviceDispatch((primitive, inputs, params, device) => {
  const target = device ?? defaultDevice();
  const programs = typeof params === "object" && params !== null ? Object.entries(params).filter(([k]) => !DESCRIPTIVE_JAXPRS.has(k)) : params;
  if (target === "interpreter" || subJaxprs(programs).length > 0) return undefined;
  let key: string;
  try {
    const text = JSON.stringify(params, (_k, v: unknown) => (v instanceof ClosedJaxpr || v instanceof Jaxpr ? v.toString() : v));
    key = `${target}|${primitive.name}|${text}|${inputs.map((x) => `${x.aval.toString()}${x.weakType ? "w" : ""}`).join(",")}`;
  } catch {
    return undefined;
  }
  let closed = eagerCache.get(key);
  if (closed) eagerCache.delete(key);
  else closed = traceToJaxpr((...xs) => bind(primitive, xs, params), inputs.map((x) => x.aval), primitive.name);
  eagerCache.set(key, closed);
  if (eagerCache.size > EAGER_CACHE_SIZE) eagerCache.delete(eagerCache.keys().next().value!);
  return executableFor(closed, target)(inputs);
});
