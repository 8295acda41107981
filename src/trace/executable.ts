/**
 * The seam between `jit` and the lowering: jit asks for an executable for a closed jaxpr on a device and
 * never sees kernels. The reference interpreter is always there; other devices register their compilers.
 */
import type { Array } from "../core/array.js";
import { envSetting } from "../core/env.js";
import { ArgumentError } from "../core/errors.js";
import { type ClosedJaxpr, evalClosedJaxpr } from "./jaxpr.js";
import { withReferenceEvaluation } from "./trace.js";

export type Executable = (args: readonly Array[]) => Array[];
export type Compiler = (closed: ClosedJaxpr) => Executable;

/** The reference interpreter's executable: every equation by its primitive's reference implementation. */
export const interpreterExecutable: Compiler = (closed) => (args) => withReferenceEvaluation(() => evalClosedJaxpr(closed, args));

/** How a device takes a concrete array into its memory (`devicePut`), where that is not running the identity. */
export type Put = (x: Array) => Array;

const compilers = new Map<string, Compiler>([["interpreter", interpreterExecutable]]);
const puts = new Map<string, Put>();
const cache = new Map<string, WeakMap<ClosedJaxpr, Executable>>();

/** Registers the compiler of a device (the lowering calls this), and how it takes arrays in if it says. */
export function registerCompiler(device: string, compiler: Compiler, put?: Put): void {
  compilers.set(device, compiler);
  if (put) puts.set(device, put);
  else puts.delete(device);
  cache.delete(device);
}

/** The device's own way to take arrays in, if it has one. */
export const putFor = (device: string): Put | undefined => puts.get(device);

/** Removes a device's compiler (its cached executables go with it). */
export function unregisterCompiler(device: string): void {
  compilers.delete(device);
  puts.delete(device);
  cache.delete(device);
  if (preferred === device) preferred = undefined;
  if (chosen === device) chosen = undefined;
}

/** The devices jitted functions can run on. */
export const devices = (): string[] => [...compilers.keys()];

let chosen: string | undefined;
let preferred: string | undefined;

/**
 * The device `jit` and eager operations on host arrays use: WGJAX_DEVICE if set, else the one chosen with
 * `setDefaultDevice`, else `webgpu` once `initWebGpu()` found an adapter, else the `cpu` kernel device.
 */
export function defaultDevice(): string {
  return envSetting("WGJAX_DEVICE") ?? chosen ?? preferred ?? (compilers.has("cpu") ? "cpu" : "interpreter");
}

/** Chooses the default device (undefined goes back to the automatic choice). */
export function setDefaultDevice(device: string | undefined): void {
  if (device !== undefined && !compilers.has(device)) throw new ArgumentError(`setDefaultDevice: unknown device '${device}'; available: ${devices().join(", ")}`);
  chosen = device;
}

/** The default a device proposes for itself when it becomes available (`initWebGpu`); an explicit choice wins. */
export function preferDevice(device: string | undefined): void {
  preferred = device;
}

/** The (cached) executable of a closed jaxpr on `device`. */
export function executableFor(closed: ClosedJaxpr, device: string): Executable {
  const compiler = compilers.get(device);
  if (!compiler) {
    const hint = device === "webgpu" ? " (call `await initWebGpu()` first; it registers the device when an adapter exists)" : "";
    throw new ArgumentError(`jit: unknown device '${device}'; available: ${devices().join(", ")}${hint}`);
  }
  let perDevice = cache.get(device);
  if (!perDevice) cache.set(device, (perDevice = new WeakMap()));
  let exe = perDevice.get(closed);
  if (!exe) {
    exe = compiler(closed);
    perDevice.set(closed, exe);
  }
  return exe;
}
