/**
 * The `GmmBackend` interface and the registry of backends by name. A backend computes the forward values of
 * gmm and tgmm; the `gmm`/`tgmm` primitives (what a jaxpr shows, with `backend=<name>`) call it when they are
 * evaluated and when the kernel lowering expands them, and differentiate it (megablox's VJP, in terms of
 * gmm/tgmm on the same backend), so a backend never deals with autodiff. Backends know nothing of each other.
 */
import type { Array } from "../../core/array.js";
import type { ShapedArray } from "../../core/aval.js";
import type { DType } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import type { QType } from "../../core/qarray.js";

/** Tile sizes (tm, tk, tn) of one kernel. */
export type Tiles = readonly [number, number, number];

/** What a backend's `gmm` is asked: `lhs [m,k]`, `rhs [G,k,n]` (`[G,n,k]` with `transposeRhs`) → `[m,n]`. */
export interface GmmCall {
  /** int32 scalar: the first group this call computes. */
  readonly groupOffset: Array;
  /** `[m,n]` of `preferredElementType`: the values of rows outside the call's groups (else zero). */
  readonly existingOut?: Array;
  readonly transposeRhs: boolean;
  readonly preferredElementType: DType;
  readonly tiling: Tiles;
  /** The tiles of the VJP's products, dlhs (a gmm) and drhs (a tgmm); the forward tiles when not given. */
  readonly dlhsTiling?: Tiles;
  readonly drhsTiling?: Tiles;
  /** Check the group sizes when the call runs (see GmmOptions.checkGroupSizes). */
  readonly checkGroupSizes?: boolean;
}

/** What a backend's `tgmm` is asked: `lhs [k,m]`, `rhs [m,n]` → `[numActualGroups,k,n]`. */
export interface TgmmCall {
  readonly groupOffset: Array;
  /** `[numActualGroups,k,n]`, added to the result. */
  readonly existingOut?: Array;
  readonly numActualGroups: number;
  readonly preferredElementType: DType;
  readonly tiling: Tiles;
  readonly checkGroupSizes?: boolean;
}

/** A request as `supports` sees it: operand types and the call's static options. */
export interface GmmRequest {
  readonly op: "gmm" | "tgmm";
  readonly lhs: ShapedArray;
  readonly rhs: ShapedArray;
  readonly groupSizes: ShapedArray;
  readonly preferredElementType: DType;
  readonly tiling: Tiles;
  readonly transposeRhs: boolean;
  readonly hasExistingOut: boolean;
}

export interface GmmBackend {
  readonly name: string;
  /** The forward value of gmm, on concrete arrays (the interpreter) or tracers (the lowering stages it). */
  gmm(lhs: Array, rhs: Array, groupSizes: Array, call: GmmCall): Array;
  tgmm(lhs: Array, rhs: Array, groupSizes: Array, call: TgmmCall): Array;
  /**
   * The backend's gmm/tgmm bind the primitives under its own name and a kernel rule serves them on the devices it
   * targets: the interpreter evaluates them as the reference does, and a kernel device it does not target
   * expands them into generic lax operations (the portable path the kernel lowering takes for `reference`).
   */
  readonly bindsOwnPrimitive?: boolean;
  /**
   * The backend's gmm/tgmm are programs of other operations (other backends' gmm calls, lax) that define their
   * own derivatives, as `quant.quantized` does: the public `gmm`/`tgmm` call them directly instead of binding
   * the primitive under the backend's name (whose derivative would be megablox's VJP on this backend).
   */
  readonly composite?: boolean;
  /**
   * Quantized types whose codes the backend's gmm computes on natively: given lhs and rhs of that dtype and a
   * float preferredElementType, it contracts the codes themselves (the wgsl backend: int8 words with
   * dot4I8Packed). `quant.quantized` then passes it the codes and applies the scales to the result (per row and
   * column); for other backends it passes dequantized operands.
   */
  readonly quantizedOperands?: readonly QType[];
  /** `true`, or why the backend cannot serve the request (the error names the backend and says this). */
  supports?(request: GmmRequest): true | string;
}

const backends = new Map<string, GmmBackend>();

/** Registers (or replaces) a backend under its name. */
export function registerGmmBackend(backend: GmmBackend): void {
  if (typeof backend?.name !== "string" || backend.name === "" || typeof backend.gmm !== "function" || typeof backend.tgmm !== "function") {
    throw new ArgumentError("registerGmmBackend: a backend needs a non-empty name and gmm and tgmm functions");
  }
  backends.set(backend.name, backend);
}

/** The names of the registered backends, in registration order. */
export const gmmBackends = (): string[] => [...backends.keys()];

export function getGmmBackend(name: string): GmmBackend {
  const backend = backends.get(name);
  if (!backend) throw new ArgumentError(`getGmmBackend: no gmm backend named '${name}'; registered: ${gmmBackends().join(", ")}`);
  return backend;
}

/** A backend given by name (looked up) or as an object (a composite one, or the one registered under its name). */
export function resolveGmmBackend(backend: string | GmmBackend, op: string): GmmBackend {
  if (typeof backend === "string") return getGmmBackend(backend);
  if (typeof backend !== "object" || backend === null || typeof backend.gmm !== "function" || typeof backend.tgmm !== "function") {
    throw new ArgumentError(`${op}: backend must be a registered backend's name or a GmmBackend object, got ${backend === null ? "null" : typeof backend}`);
  }
  if (!backend.composite && backends.get(backend.name) !== backend) {
    throw new ArgumentError(`${op}: backend '${backend.name}' is not registered; call registerGmmBackend(backend) first (only composite backends, such as quant.quantized's, run unregistered)`);
  }
  return backend;
}

/** Throws when the backend says it cannot serve the request. */
export function checkSupported(backend: GmmBackend, request: GmmRequest): void {
  const answer = backend.supports?.(request) ?? true;
  if (answer !== true) throw new ArgumentError(`${request.op}: backend '${backend.name}' cannot serve this call: ${answer}`);
}

/** Whether calls on backend `name` evaluate with the reference implementation and lower generically (see `bindsOwnPrimitive`). */
export const bindsOwnPrimitive = (name: string): boolean => getGmmBackend(name).bindsOwnPrimitive === true;
