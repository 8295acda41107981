/**
 * The seam between `jit` and the lowering: jit asks for an executable for a closed jaxpr on a device and
 * never sees kernels. The reference interpreter is always there; other devices register their compilers.
 */
import type { Array } from "../core/array.js";
import { envSetting } from "../core/env.js";
import { ArgumentError } from "../core/errors.js";
import { type ClosedJaxpr, evalClosedJaxpr } from "./jaxpr.js";

export type Executable = (args: readonly Array[]) => Array[];
export type Compiler = (closed: ClosedJaxpr) => Executable;

const compilers = new Map<string, Compiler>([["interpreter", (closed) => (args) => evalClosedJaxpr(closed, args)]]);
const cache = new Map<string, WeakMap<ClosedJaxpr, Executable>>();

/** Registers the compiler of a device (the lowering calls this). */
export function registerCompiler(device: string, compiler: Compiler): void {
  compilers.set(device, compiler);
  cache.delete(device);
}

/** Removes a device's compiler (its cached executables go with it). */
export function unregisterCompiler(device: string): void {
  compilers.delete(device);
  cache.delete(device);
}

/** The devices jitted functions can run on. */
export const devices = (): string[] => [...compilers.keys()];

/** The device `jit` uses when none is given: WGJAX_DEVICE if set, else the reference interpreter. */
export function defaultDevice(): string {
  return envSetting("WGJAX_DEVICE") ?? "interpreter";
}

/** The (cached) executable of a closed jaxpr on `device`. */
export function executableFor(closed: ClosedJaxpr, device: string): Executable {
  const compiler = compilers.get(device);
  if (!compiler) throw new ArgumentError(`jit: unknown device '${device}'; available: ${devices().join(", ")}`);
  let perDevice = cache.get(device);
  if (!perDevice) cache.set(device, (perDevice = new WeakMap()));
  let exe = perDevice.get(closed);
  if (!exe) {
    exe = compiler(closed);
    perDevice.set(closed, exe);
  }
  return exe;
}
