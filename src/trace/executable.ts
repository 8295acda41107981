/**
 * The seam between `jit` and the lowering: jit asks for an executable for a closed jaxpr and never sees
 * kernels. Until a lowering registers a compiler, executables run the jaxpr on the reference interpreter.
 */
import type { Array } from "../core/array.js";
import { type ClosedJaxpr, evalClosedJaxpr } from "./jaxpr.js";

export type Executable = (args: readonly Array[]) => Array[];
export type Compiler = (closed: ClosedJaxpr) => Executable;

const interpret: Compiler = (closed) => (args) => evalClosedJaxpr(closed, args);
let compiler: Compiler = interpret;
const cache = new WeakMap<ClosedJaxpr, Executable>();

/** Installs the compiler used for jitted functions (the lowering calls this). */
export function setCompiler(next: Compiler): void {
  compiler = next;
}

/** The (cached) executable of a closed jaxpr. */
export function executableFor(closed: ClosedJaxpr): Executable {
  let exe = cache.get(closed);
  if (!exe) {
    exe = compiler(closed);
    cache.set(closed, exe);
  }
  return exe;
}
