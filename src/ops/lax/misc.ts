/** Primitives that fit no family: `stop_gradient` (identity whose derivative is zero) and the threefry2x32 PRNG hash. */
import { ShapedArray } from "../../core/aval.js";
import { DTypeError } from "../../core/errors.js";
import { type Primitive, definePrimitive } from "../../core/primitive.js";
import { defNonDifferentiable } from "../../vjp/ad.js";
import { defVectorized } from "../../vmap/batching.js";
import { defSameShape } from "./batchUtil.js";
import { checkSameShapeAndDType, tabulate } from "./util.js";

type NoParams = Record<string, never>;

export const stopGradientP = definePrimitive<NoParams>({
  name: "stop_gradient",
  abstractEval([x]) {
    return [x!];
  },
  impl([x]) {
    return [x!];
  },
});

const rotl = (v: number, r: number): number => ((v << r) | (v >>> (32 - r))) >>> 0;
const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;

/** Threefry-2x32 with 20 rounds (Salmon et al.), as JAX's `threefry2x32` computes it. */
export function threefry2x32(key0: number, key1: number, x0: number, x1: number): [number, number] {
  const ks = [key0 >>> 0, key1 >>> 0, (key0 ^ key1 ^ 0x1bd11bda) >>> 0];
  let a = (x0 + ks[0]!) >>> 0;
  let b = (x1 + ks[1]!) >>> 0;
  for (let block = 0; block < 5; block++) {
    for (const r of ROTATIONS[block % 2]!) {
      a = (a + b) >>> 0;
      b = rotl(b, r) ^ a;
      b >>>= 0;
    }
    a = (a + ks[(block + 1) % 3]!) >>> 0;
    b = (b + ks[(block + 2) % 3]! + block + 1) >>> 0;
  }
  return [a, b];
}

/** `threefry2x32(key0, key1, x0, x1)`: two uint32 arrays of the counters' shape. */
export const threefry2x32P = definePrimitive<NoParams>({
  name: "threefry2x32",
  multipleResults: true,
  abstractEval(avals) {
    checkSameShapeAndDType("threefry2x32", avals);
    if (avals[0]!.dtype !== "uint32") throw new DTypeError(`threefry2x32: operands must be uint32, got ${avals[0]!.dtype}`);
    const out = new ShapedArray(avals[0]!.shape, "uint32");
    return [out, out];
  },
  impl([k0, k1, x0, x1]) {
    const pairs = Array.from(x0!.data, (_, i) => threefry2x32(k0!.data[i]!, k1!.data[i]!, x0!.data[i]!, x1!.data[i]!));
    return [tabulate(x0!.shape, "uint32", (i) => pairs[i]![0]), tabulate(x0!.shape, "uint32", (i) => pairs[i]![1])];
  },
});

defNonDifferentiable(stopGradientP);
defNonDifferentiable(threefry2x32P);

defVectorized(stopGradientP);
defSameShape(threefry2x32P as Primitive<never>);
