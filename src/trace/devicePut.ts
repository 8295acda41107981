/**
 * Moving arrays between devices, as `jax.device_put` / `jax.device_get` do. Putting runs the identity on the
 * target device, so each device decides how data arrives (WebGPU uploads), or the device's own put: the CPU
 * device copies host data into its wasm heap, where its kernels read it without a copy per call.
 * Getting data back from a GPU is asynchronous in every WebGPU implementation, hence `await deviceGet(x)`.
 */
import type { ShapedArray } from "../core/aval.js";
import { type Array, ArrayImpl, arrayFromHost } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";
import { map } from "../core/tree.js";
import { asArray } from "./args.js";
import type { ClosedJaxpr } from "./jaxpr.js";
import { executableFor, putFor } from "./executable.js";
import { traceToJaxpr } from "./stage.js";
import { Tracer } from "./trace.js";

const identities = new Map<string, ClosedJaxpr>();

function identity(aval: ShapedArray): ClosedJaxpr {
  const key = `${aval.toString()}${aval.weakType ? "w" : ""}`;
  let closed = identities.get(key);
  if (!closed) identities.set(key, (closed = traceToJaxpr((x) => [x], [aval], "device_put")));
  return closed;
}

/** Each array leaf of `tree` on `device` (leaves already there are returned as they are). */
export function devicePut<T>(tree: T, device: string): T {
  return map((leaf: unknown) => {
    if (leaf instanceof Tracer) throw new ArgumentError("devicePut: the argument is a traced value; devicePut moves concrete arrays (call it outside jit and grad)");
    const x = asArray(leaf, "devicePut: x");
    const put = putFor(device);
    if (x instanceof ArrayImpl && x.device === device && !put) return x;
    if (x instanceof ArrayImpl && !x.disposed && !x.buffer.readSync) {
      throw new ArgumentError(`devicePut: x (${x.aval.toString()}) is on device '${x.device}', which is read asynchronously; bring it to the host with \`x = await deviceGet(x)\` first`);
    }
    return put ? put(x) : executableFor(identity(x.aval), device)([x])[0]!;
  }, tree) as T;
}

/** Each array leaf of `tree` as a host array (read back from its device). */
export async function deviceGet<T>(tree: T): Promise<T> {
  const leaves: Promise<Array>[] = [];
  const order = map((leaf: unknown) => {
    const x = asArray(leaf, "deviceGet: x");
    leaves.push(x.data().then((data) => arrayFromHost(data, x.aval)));
    return leaves.length - 1;
  }, tree);
  const fetched = await Promise.all(leaves);
  return map((i: number) => fetched[i]!, order) as T;
}
