/**
 * A primitive is one object: its name, its abstract evaluation (shape/dtype rule with clear errors) and its
 * reference implementation on host data. Transformation and lowering rules are registered against the
 * object by the layers that own them (src/vjp, src/lowering), never through a central switch.
 */
import type { Array } from "./array.js";
import { ShapedArray } from "./aval.js";
import type { DType } from "./dtype.js";
import { ArgumentError } from "./errors.js";
import type { HostData } from "./hostData.js";
import { type Shape, sizeOf } from "./shape.js";

/** A value on the host as the reference interpreter sees it. */
export interface HostTensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: HostData;
}

export interface PrimitiveSpec<P> {
  readonly name: string;
  /** Results are a list (`sort`, `top_k`, `threefry2x32`, control flow) rather than one value. */
  readonly multipleResults?: boolean;
  /** Shape/dtype rule: checks the operands and params and returns the result avals. */
  abstractEval(inputs: readonly ShapedArray[], params: P): ShapedArray[];
  /** Reference implementation: exact and deterministic, on host data. */
  impl(inputs: readonly HostTensor[], params: P): HostTensor[];
  /**
   * How params print in a jaxpr (`name[key=value ...]`), in order; a value may be a jaxpr or a list of
   * jaxprs (printed nested). By default every param prints, sorted by name.
   */
  formatParams?(params: P): Record<string, unknown>;
  /**
   * Eager evaluation on Arrays, for primitives that must not go through host data (jit runs an executable on
   * its device, whose results may stay there). Without it the eval trace uses `impl` on host tensors.
   */
  evalArrays?(inputs: readonly Array[], params: P): Array[];
  /** For call-like primitives (jit): the inner jaxpr's variables print with the names of the operands and results. */
  readonly namesFollowOperands?: boolean;
}

export interface Primitive<P = unknown> extends PrimitiveSpec<P> {
  readonly multipleResults: boolean;
}

/** Params of a primitive, for typing rule functions. */
export type ParamsOf<T> = T extends Primitive<infer P> ? P : never;

const registry = new Map<string, Primitive<never>>();

export function definePrimitive<P>(spec: PrimitiveSpec<P>): Primitive<P> {
  if (registry.has(spec.name)) throw new ArgumentError(`definePrimitive: a primitive named '${spec.name}' already exists`);
  const primitive: Primitive<P> = { multipleResults: false, ...spec };
  registry.set(spec.name, primitive as Primitive<never>);
  return primitive;
}

export function getPrimitive(name: string): Primitive<unknown> | undefined {
  return registry.get(name) as Primitive<unknown> | undefined;
}

/** Every registered primitive, in registration order. */
export function listPrimitives(): Primitive<unknown>[] {
  return [...registry.values()] as Primitive<unknown>[];
}

/** Convenience for implementations: a host tensor of the given shape/dtype around data. */
export const hostTensor = (shape: Shape, dtype: DType, data: HostData): HostTensor => ({ shape, dtype, data });

/** The abstract value of a host tensor (strong type; weak types live on Arrays). */
export const avalOf = (t: HostTensor): ShapedArray => new ShapedArray(t.shape, t.dtype);

export const hostSize = (t: HostTensor): number => sizeOf(t.shape);
