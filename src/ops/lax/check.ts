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
import { defBatch, moveBatchAxis } from "../../vmap/batching.js";

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

/** Under vmap, each example's values are checked on their own. */
defBatch(checkP, ([x, subject], [dx, ds], params, size) => {
  if (ds === null) return [[bind1(checkP, [x!, subject!], params)], [dx!]];
  const examples = moveBatchAxis(subject!, ds, 0, size);
  return [[bind1(checkP, [x!, examples], { ...params, batch: (params.batch ?? 1) * size })], [dx!]];
});
