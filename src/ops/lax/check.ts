/**
 * `check`: its first operand, unchanged, once the second operand's values have passed a registered checker
 * (src/core/checks.ts). Its JVP passes the first operand's tangent through (the check stays on the primal side,
 * so it is never transposed); the checked values take no part in the derivative.
 */
import type { Array } from "../../core/array.js";
import { type CheckArgs, type CheckParams, runCheck } from "../../core/checks.js";
import { definePrimitive } from "../../core/primitive.js";
import { bind1 } from "../../trace/trace.js";
import { defJvp } from "../../vjp/ad.js";

export const checkP = definePrimitive<CheckParams>({
  name: "check",
  abstractEval([x]) {
    return [x!];
  },
  impl([x, subject], params) {
    runCheck(params, subject!.data);
    return [x!];
  },
});

defJvp(checkP, ([x, subject], [t], params) => [[bind1(checkP, [x!, subject!], params)], [t!]]);

/** `x`, once `subject`'s values pass the registered checker `check` (called with `args`). */
export const check = (x: Array, subject: Array, check: string, args: CheckArgs): Array => bind1(checkP, [x, subject], { check, args });
