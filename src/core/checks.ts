/**
 * Runtime checks of data, for the conditions wgjax checks on request (gmm's `checkGroupSizes`), in the spirit of
 * JAX's checkify. A `check` equation passes its first operand through and checks the values of its second with
 * a registered checker, which throws. Eagerly and on the interpreter the check runs with the equation; on the
 * kernel devices the plan returns the checked values beside the results and the executable checks them once
 * the call has run (on WebGPU asynchronously: the next read raises the error).
 */
import { ArgumentError } from "./errors.js";
import type { HostData } from "./hostData.js";

/** A checker's arguments (printable params of the equation: sizes, the name of the checking function). */
export type CheckArgs = readonly (string | number)[];

/** Throws when `data` fails the check. */
export type Checker = (data: HostData, args: CheckArgs) => void;

/** The params of a `check` equation. */
export interface CheckParams {
  readonly check: string;
  readonly args: CheckArgs;
  /** Under vmap: the data holds this many examples one after another, each checked on its own. */
  readonly batch?: number;
}

const checkers = new Map<string, Checker>();

export function registerChecker(name: string, checker: Checker): void {
  checkers.set(name, checker);
}

/** Runs the checker `check` on `data`: throws its error when the data fails it. */
export function runCheck({ check, args, batch = 1 }: CheckParams, data: HostData): void {
  const checker = checkers.get(check);
  if (!checker) throw new ArgumentError(`check: no checker named '${check}' is registered`);
  const length = data.length / batch;
  for (let b = 0; b < batch; b++) checker(data.subarray(b * length, (b + 1) * length), args);
}
