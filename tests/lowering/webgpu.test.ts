/** jit on the WebGPU device (the software adapter in CI) against the reference interpreter, and device-resident arrays. */
import { beforeAll, describe, expect, it } from "vitest";
import { type Array as JaxArray, ArrayImpl, grad, initWebGpu, jit, lax, nn, numpy as np } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(11);
let available = false;

beforeAll(async () => {
  const description = await initWebGpu();
  if (!description && process.env.WGJAX_REQUIRE_WEBGPU) throw new Error("no WebGPU adapter found, and WGJAX_REQUIRE_WEBGPU is set");
  if (!description) console.warn("skipping WebGPU tests: no WebGPU adapter on this machine");
  available = description !== undefined;
});

const programs: [string, (...args: A[]) => unknown, A[]][] = [
  ["elementwise chain with broadcasting", (a: A, b: A) => np.maximum(np.exp(a.mul(b).neg()).mul(3).sub(0.5), 0), [randomArray(next, [3, 4]), randomArray(next, [4])]],
  ["integers and bools", (a: A, b: A) => [a.astype("int32").mul(3).add(7), a.gt(b)], [randomArray(next, [5], "float32", 10), randomArray(next, [5], "float32", 10)]],
  ["reductions", (a: A) => [np.sum(a, { axis: 1 }), np.max(a, { axis: 0 })], [randomArray(next, [4, 6])]],
  ["matmul with a fused epilogue", (a: A, w: A, b: A) => nn.relu(np.matmul(a, w).add(b)), [randomArray(next, [5, 7]), randomArray(next, [7, 3]), randomArray(next, [3])]],
  ["softmax", (a: A) => nn.softmax(a), [randomArray(next, [3, 5])]],
  ["batched dot_general", (a: A, b: A) => lax.dotGeneral(a, b, [[[2], [1]], [[0], [0]]]), [randomArray(next, [2, 3, 4]), randomArray(next, [2, 4, 5])]],
];

describe("jit on the webgpu device matches the reference interpreter", () => {
  for (const [name, f, args] of programs) {
    it(name, async (ctx) => {
      if (!available) return ctx.skip("no WebGPU adapter");
      const expected = [jit(f)(...args) as A | A[]].flat();
      const actual = [jit(f, { device: "webgpu" })(...args) as A | A[]].flat();
      for (const [i, a] of actual.entries()) {
        expect(a.shape).toEqual(expected[i]!.shape);
        expect(a.dtype).toBe(expected[i]!.dtype);
        expectClose(await a.data(), expected[i]!.dataSync(), 1e-5, 1e-6);
      }
    });
  }

  it("forward and backward of an MLP", async (ctx) => {
    if (!available) return ctx.skip("no WebGPU adapter");
    const loss = (w1: A, w2: A, data: A) => np.mean(nn.logsumexp(np.matmul(np.tanh(np.matmul(data, w1)), w2), { axis: 1 }));
    const args = [randomArray(next, [4, 8], "float32", 0.5), randomArray(next, [8, 3], "float32", 0.5), randomArray(next, [6, 4])];
    const g = grad(loss, { argnums: [0, 1] });
    const expected = jit(g)(...args) as A[];
    const actual = jit(g, { device: "webgpu" })(...args) as A[];
    for (const [i, a] of actual.entries()) expectClose(await a.data(), expected[i]!.dataSync(), 1e-4, 1e-6);
  });
});

describe("arrays on the webgpu device", () => {
  it("stay on the device, feed later calls, run eager operations there, and read back asynchronously", async (ctx) => {
    if (!available) return ctx.skip("no WebGPU adapter");
    const x = np.array([1, 2, 3]);
    const y = jit((v: A) => v.mul(2), { device: "webgpu" })(x) as ArrayImpl;
    expect(y.device).toBe("webgpu");
    expect(() => y.dataSync()).toThrow(/use await x.data\(\)/);
    expect(y.toString()).toBe("Array(<f32[3] on webgpu; read it with await x.data()>)");
    const z = jit((v: A) => v.add(1), { device: "webgpu" })(y) as ArrayImpl;
    expect(Array.from(await z.data())).toEqual([3, 5, 7]);
    const eager = z.mul(z) as ArrayImpl;
    expect(eager.device).toBe("webgpu");
    expect(Array.from(await eager.data())).toEqual([9, 25, 49]);
    z.dispose();
    expect(() => z.mul(2)).toThrow(/disposed/);
  });
});
