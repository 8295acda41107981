/**
 * The trace stack (JAX's Autodidax): every transformation is a Trace with its Tracer, stacked by level.
 * `bind` finds the top trace among the operands and lets it process the primitive; the eval trace at the
 * bottom runs the primitive's reference implementation.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, ArrayImpl, HOST_DEVICE, arrayFromHost } from "../core/array.js";
import { ArgumentError, ConcretizationError, WgjaxError } from "../core/errors.js";
import type { HostData } from "../core/hostData.js";
import type { HostTensor, Primitive } from "../core/primitive.js";

export class MainTrace {
  /** Set when the transformation that pushed this trace has returned; its tracers must not be used after. */
  ended = false;
  constructor(
    readonly level: number,
    readonly traceType: new (main: MainTrace) => Trace,
    readonly globalData: unknown,
    /** The transformed function's name, for error messages. */
    readonly name = "",
  ) {}
}

export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Brings a concrete array into this trace. */
  abstract pure(value: Array): Tracer | Array;
  /** Brings a tracer of a lower trace into this trace. */
  lift(value: Tracer | Array): Tracer | Array {
    return this.pure(value);
  }
  abstract processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): (Tracer | Array)[];
}

/** A value standing for an array during a transformation. */
export abstract class Tracer extends Array {
  abstract readonly trace: Trace;

  /** The value to hand back when this tracer's trace has ended: itself unless the trace can unwrap it. */
  fullLower(): Tracer | Array {
    return this;
  }

  data(): Promise<HostData> {
    throw this.concretizationError("await x.data()");
  }

  dataSync(): HostData {
    throw this.concretizationError("x.dataSync()");
  }

  /** JS cannot intercept `if (tracer)` (objects are always truthy), but it can intercept `Number(x)` and `x > 0`. */
  override [Symbol.toPrimitive](hint: string): string {
    if (hint === "string") return this.toString();
    throw this.concretizationError("converting to a JS number (Number(x), +x, x > 0, x == 1)");
  }

  protected concretizationError(use: string): ConcretizationError {
    return new ConcretizationError(
      `${use} needs a concrete value, but got a traced ${this.aval.toString()} inside a transformation. ` +
        `Use lax.cond / lax.whileLoop for control flow on traced values, or mark the argument static ` +
        `(jit's staticArgnums).`,
    );
  }

  override toString(): string {
    return `Traced<${this.aval.toString()}>`;
  }
}

/** The eval trace: operations run now, on the reference interpreter. */
class EvalTrace extends Trace {
  pure(value: Array): Array {
    return value;
  }
  processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): Array[] {
    return evalPrimitive(primitive, inputs as readonly Array[], params);
  }
}

const traceStack: MainTrace[] = [new MainTrace(0, EvalTrace, null)];
/** The staging trace that captures every operation, even those on constants only (`makeJaxpr`, `jit`). */
let dynamicTrace: MainTrace = traceStack[0]!;

/** Runs `fn` with a new trace of `traceType` on top of the stack. */
export function newMain<T>(traceType: new (main: MainTrace) => Trace, globalData: unknown, name: string, fn: (main: MainTrace) => T): T {
  const main = new MainTrace(traceStack.length, traceType, globalData, name);
  traceStack.push(main);
  try {
    return fn(main);
  } finally {
    traceStack.pop();
    main.ended = true;
  }
}

/** Runs `fn` with `main` as the dynamic trace, so operations on constants are staged into it too. */
export function newDynamic<T>(main: MainTrace, fn: () => T): T {
  const previous = dynamicTrace;
  dynamicTrace = main;
  try {
    return fn();
  } finally {
    dynamicTrace = previous;
  }
}

/** The error for a tracer used after the transformation that made it has returned. */
export class LeakedTracerError extends WgjaxError {}

function checkNotLeaked(x: Tracer): void {
  const main = x.trace.main;
  if (main.ended) {
    throw new LeakedTracerError(
      `a traced ${x.aval.toString()} from the transformation of '${main.name || "<anonymous>"}' is used after that ` +
        `transformation returned (a leaked tracer). Return values out of the function instead of storing them outside it.`,
    );
  }
}

function topMain(inputs: readonly Array[]): MainTrace {
  let top = dynamicTrace;
  for (const x of inputs) {
    if (!(x instanceof Tracer)) continue;
    checkNotLeaked(x);
    if (x.trace.main.level > top.level) top = x.trace.main;
  }
  return top;
}

function findTopTrace(inputs: readonly Array[]): Trace {
  const top = topMain(inputs);
  return new top.traceType(top);
}

/** Whether `bind` on `inputs` evaluates at once on concrete arrays (no transformation or staging takes it). */
export function bindsEagerly(inputs: readonly Array[]): boolean {
  return topMain(inputs) === traceStack[0];
}

function fullRaise(trace: Trace, value: Array): Tracer | Array {
  if (!(value instanceof Tracer)) return trace.pure(value);
  const level = value.trace.main.level;
  if (value.trace.main === trace.main) return value;
  if (level < trace.main.level) return trace.lift(value);
  throw new ArgumentError(`a tracer of level ${level} cannot be used in a trace of level ${trace.main.level}`);
}

const fullLower = (value: Tracer | Array): Array => (value instanceof Tracer ? value.fullLower() : value);

/** Applies a primitive to operands in the current trace stack. */
export function bind<P>(primitive: Primitive<P>, inputs: readonly Array[], params: P): Array[] {
  for (const [i, x] of inputs.entries()) {
    if (!(x instanceof Array)) throw new ArgumentError(`${primitive.name}: operand ${i} is not an Array (got ${typeof x})`);
  }
  const trace = findTopTrace(inputs);
  const raised = inputs.map((x) => fullRaise(trace, x));
  return trace.processPrimitive(primitive, raised, params).map(fullLower);
}

/** `bind` for a primitive with one result. */
export function bind1<P>(primitive: Primitive<P>, inputs: readonly Array[], params: P): Array {
  return bind(primitive, inputs, params)[0]!;
}

// ---- the reference interpreter on concrete arrays -------------------------------------------

function hostOf(x: Array, primitive: string, i: number): HostTensor {
  if (!(x instanceof ArrayImpl)) throw new ArgumentError(`${primitive}: operand ${i} is not a concrete array`);
  return { shape: x.shape, dtype: x.dtype, data: x.dataSync() };
}

/**
 * How a primitive runs eagerly on a kernel device (installed by jit: one cached kernel program per primitive,
 * params and operand types). `device` is where an operand lives, or undefined for host operands, which go to
 * the default device. It returns undefined where the reference implementation should run instead.
 */
type DeviceDispatch = <P>(primitive: Primitive<P>, inputs: readonly Array[], params: P, device: string | undefined) => Array[] | undefined;
let deviceDispatch: DeviceDispatch | undefined;

export function setDeviceDispatch(dispatch: DeviceDispatch): void {
  deviceDispatch = dispatch;
}

/** While positive, eager evaluation uses the reference implementations (the interpreter device is running). */
let referenceDepth = 0;

/** Runs `fn` with every eager primitive evaluated by its reference implementation on the host. */
export function withReferenceEvaluation<T>(fn: () => T): T {
  referenceDepth++;
  try {
    return fn();
  } finally {
    referenceDepth--;
  }
}

/**
 * Evaluates one primitive on concrete arrays: on the device its operands live on or the default device, else
 * with its reference implementation (after the abstract evaluation, so bad operands fail with the shape/dtype
 * rule's message, and results keep its weak types).
 */
export function evalPrimitive<P>(primitive: Primitive<P>, inputs: readonly Array[], params: P): ArrayImpl[] {
  if (primitive.evalArrays) return primitive.evalArrays(inputs, params) as ArrayImpl[];
  if (referenceDepth === 0 && deviceDispatch) {
    const device = inputs.find((x): x is ArrayImpl => x instanceof ArrayImpl && !x.disposed && x.device !== HOST_DEVICE)?.device;
    const outs = deviceDispatch(primitive, inputs, params, device);
    if (outs) return outs as ArrayImpl[];
  }
  const avals = primitive.abstractEval(
    inputs.map((x) => x.aval),
    params,
  );
  const outs = primitive.impl(
    inputs.map((x, i) => hostOf(x, primitive.name, i)),
    params,
  );
  return outs.map((t, i) => arrayFromHost(t.data, avals[i] ?? new ShapedArray(t.shape, t.dtype)));
}
