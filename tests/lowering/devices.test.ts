/**
 * jit on every kernel device — the CPU renderer always, WebGPU when an adapter exists (always in CI) — against
 * the reference interpreter on the same programs; device-resident arrays and eager operations on the GPU.
 */
import { describe, expect, it, vi } from "vitest";
import { type Array as JaxArray, ArrayImpl, defaultDevice, deviceGet, devicePut, devices, grad, jit, lax, makeJaxpr, nn, numpy as np, setDefaultDevice } from "../../src/index.js";
import { type Kernel, gid, v } from "../../src/lowering/kernelIr.js";
import { planJaxpr } from "../../src/lowering/plan.js";
import { webgpuPlanExecutable } from "../../src/runtime/webgpuExecutable.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

type A = JaxArray;
const next = rng(5);

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const kernelDevices = ["cpu", ...(gpu ? ["webgpu"] : [])];

const mlpLoss = (w1: A, w2: A, data: A, y: A) => np.mean(np.sum(nn.logSoftmax(np.matmul(nn.relu(np.matmul(data, w1)), w2)).mul(y), { axis: 1 }).neg());

const programs: [string, (...args: A[]) => unknown, () => A[], number][] = [
  ["elementwise with broadcasting and ints", (a, b) => [a.mul(b).add(np.arange(4)).astype("int32").mul(3), a.gt(b)], () => [randomArray(next, [3, 4], "float32", 5), randomArray(next, [4], "float32", 5)], 2e-6],
  ["reductions over several axes", (a) => [np.sum(a, { axis: [0, 2] }), np.max(a, { axis: 1, keepdims: true }), np.min(a)], () => [randomArray(next, [2, 3, 4])], 2e-6],
  ["dot_general with batch and contracting dims", (a, b) => lax.dotGeneral(a, b, [[[2, 1], [0, 2]], [[0], [1]]]), () => [randomArray(next, [2, 3, 4]), randomArray(next, [4, 2, 3])], 1e-5],
  ["matmul with a fused epilogue", (a, w, b) => nn.relu(np.matmul(a, w).add(b)), () => [randomArray(next, [5, 7]), randomArray(next, [7, 3]), randomArray(next, [3])], 1e-5],
  ["transpose, reshape, slice, rev", (a) => a.T.reshape([4, 6]).at("1:3", "::-2"), () => [randomArray(next, [2, 3, 4])], 0],
  ["softmax", (a) => nn.softmax(a), () => [randomArray(next, [3, 5])], 1e-5],
  ["forward and backward of an MLP", (w1, w2, data, y) => [mlpLoss(w1, w2, data, y), ...(grad(mlpLoss, { argnums: [0, 1] })(w1, w2, data, y) as A[])],
    () => [randomArray(next, [4, 8], "float32", 0.5), randomArray(next, [8, 3], "float32", 0.5), randomArray(next, [5, 4]), nn.oneHot(np.array([0, 1, 2, 1, 0], { dtype: "int32" }), 3)], 1e-5],
  ["cond with a traced predicate (both branches, selected on the device)", (p, x) => lax.cond(p.gt(0), (v: A) => np.sin(v).mul(2), (v: A) => v.mul(v).sub(1), x), () => [randomArray(next, []), randomArray(next, [6])], 1e-6],
  ["switch with an out-of-range index (clamped)", (x) => [0, 1, 2, 7, -3].map((i) => lax.switch(np.array(i, { dtype: "int32" }), [(v: A) => v.add(1), (v: A) => v.mul(3), (v: A) => np.exp(v)], x)), () => [randomArray(next, [4])], 1e-6],
  ["while loop with a data-dependent trip count", (x) => lax.whileLoop(([i, v]: [A, A]) => np.logicalAnd(np.sum(v).lt(50), i.lt(100)), ([i, v]: [A, A]) => [i.add(1), v.mul(1.5).add(0.25)] as [A, A], [np.array(0, { dtype: "int32" }), np.abs(x)]), () => [randomArray(next, [5])], 1e-5],
  ["fori loop", (x) => lax.foriLoop(0, 4, (i: A, c: A) => np.sin(c).mul(x).add(i.astype("float32")), x), () => [randomArray(next, [3])], 1e-5],
  ["scan RNN forward and backward", (w, u, xs) => {
    const rnn = (w_: A, u_: A) => {
      const [h, ys] = lax.scan((c: A, x: A): [A, A] => {
        const hn = np.tanh(np.matmul(c, w_).add(x.mul(u_)));
        return [hn, hn.sum()];
      }, np.zeros([3]), xs);
      return h.sum().add(ys.mul(0.5).sum());
    };
    return [rnn(w, u), ...(grad(rnn, { argnums: [0, 1] })(w, u) as A[])];
  }, () => [randomArray(next, [3, 3], "float32", 0.5), randomArray(next, [3]), randomArray(next, [6, 1])], 1e-5],
  ["reverse scan with several xs and ys", (a, b) => lax.scan((c: A, [x, y]: A[]): [A, A[]] => [c.mul(x).add(y), [c, x.add(y)]], np.array(1), [a, b], { reverse: true }), () => [randomArray(next, [5]), randomArray(next, [5])], 1e-5],
];

it("lists the devices", () => {
  expect(devices()).toEqual(expect.arrayContaining(["interpreter", ...kernelDevices]));
});

describe.each(kernelDevices)("jit on %s matches the reference interpreter", (device) => {
  for (const [name, f, makeArgs, rtol] of programs) {
    it(name, async () => {
      const args = makeArgs();
      const expected = [jit(f, { device: "interpreter" })(...args) as A | A[]].flat(3) as A[];
      const actual = [jit(f, { device })(...args) as A | A[]].flat(3) as A[];
      expect(actual.length).toBe(expected.length);
      for (const [i, a] of actual.entries()) {
        expect(a.shape).toEqual(expected[i]!.shape);
        expect(a.dtype).toBe(expected[i]!.dtype);
        expectClose(await a.data(), expected[i]!.dataSync(), rtol, 1e-6);
      }
    });
  }
});

describe.runIf(gpu)("arrays on the webgpu device", () => {
  it("stay on the device, feed later calls, run eager operations there, and read back asynchronously", async () => {
    const x = np.array([1, 2, 3]);
    const y = jit((v: A) => v.mul(2), { device: "webgpu" })(x) as ArrayImpl;
    expect(y.device).toBe("webgpu");
    expect(() => y.dataSync()).toThrow(/use await x.data\(\)/);
    expect(y.toString()).toBe("Array(<f32[3] on webgpu; read it with await x.data()>)");
    const z = jit((v: A) => v.add(1), { device: "webgpu" })(y) as ArrayImpl;
    expect(globalThis.Array.from(await z.data())).toEqual([3, 5, 7]);
    const eager = z.mul(z) as ArrayImpl;
    expect(eager.device).toBe("webgpu");
    expect(globalThis.Array.from(await eager.data())).toEqual([9, 25, 49]);
    z.dispose();
    expect(() => z.mul(2)).toThrow(/disposed/);
  });

  it("run eager scatter-adds there too (bincount, argsort and take: what MoE routing does)", async () => {
    const experts = devicePut(np.array([3, 0, 1, 1, 3, 3], { dtype: "int32" }), "webgpu");
    const counts = np.bincount(experts, { length: 4 }) as ArrayImpl;
    expect(counts.device).toBe("webgpu");
    expect(globalThis.Array.from(await counts.data())).toEqual([1, 2, 0, 3]);
    const order = np.argsort(experts);
    expect(globalThis.Array.from(await np.take(experts, order).data())).toEqual([0, 1, 1, 3, 3, 3]);
  });

  it("a while loop runs queued: later calls, eager operations, reads and disposals wait for it in order", async () => {
    const grow = jit((v: A) => lax.whileLoop((c: A) => np.sum(c).lt(1000), (c: A) => c.mul(2), v), { device: "webgpu" });
    const x = np.array([1, 2, 3]);
    const onGpu = jit((v: A) => v.add(0), { device: "webgpu" })(x) as ArrayImpl;
    const y = grow(onGpu) as ArrayImpl;
    expect(gpu!.busy).toBe(true);
    onGpu.dispose();
    const z = jit((v: A) => v.add(1), { device: "webgpu" })(y) as ArrayImpl;
    const w = z.mul(y) as ArrayImpl;
    const expected = [256, 512, 768];
    expect(globalThis.Array.from(await y.data())).toEqual(expected);
    expect(globalThis.Array.from(await z.data())).toEqual(expected.map((e) => e + 1));
    expect(globalThis.Array.from(await w.data())).toEqual(expected.map((e) => (e + 1) * e));
    expect(gpu!.busy).toBe(false);
  });

  it("a while loop reads its predicate back about log2(n) times, running iterations speculatively in between", async () => {
    const loop = (limit: A, x: A, h: A) =>
      lax.whileLoop(
        ([i, , , flag]: A[]) => np.logicalAnd(i.lt(limit), flag!),
        ([i, v, b, flag]: A[]) => [i!.add(1), np.sin(v!).mul(1.5), b!.add(0.5).astype("bfloat16"), flag!] as A[],
        [np.array(0, { dtype: "int32" }), x, h, np.array(true)],
      );
    const x = randomArray(next, [4]);
    const h = randomArray(next, [3]).astype("bfloat16");
    const reads = vi.spyOn(gpu!, "readNow");
    try {
      for (const n of [0, 1, 3, 100]) {
        reads.mockClear();
        const limit = np.array(n, { dtype: "int32" });
        const expected = jit(loop, { device: "interpreter" })(limit, x, h) as A[];
        const actual = jit(loop, { device: "webgpu" })(limit, x, h) as A[];
        for (const [k, a] of actual.entries()) expectClose(await a.data(), expected[k]!.dataSync(), 1e-5, 1e-6);
        expect((await actual[0]!.data())[0]).toBe(n);
        const predicateReads = reads.mock.calls.length - actual.length - 1;
        expect(predicateReads).toBeLessThanOrEqual(n === 100 ? 8 : 3);
      }
    } finally {
      reads.mockRestore();
    }
  });

  it("a kernel WebGPU rejects fails the next read with WebGPU's message, and the device keeps working", async () => {
    const out = gpu!.allocate(4, "f32");
    const bad: Kernel = { name: "bad", grid: 4, buffers: [{ type: "f32", access: "read_write" }], body: [{ k: "store", buffer: 0, index: gid, value: v("no_such_value", "f32") }] };
    gpu!.run([{ kernel: bad, buffers: [out] }]);
    await expect(gpu!.read(out)).rejects.toThrow(/WebGPU rejected a kernel: .*unresolved value/s);
    gpu!.release(out);
    const y = jit((t: A) => t.mul(3), { device: "webgpu" })(np.array([1, 2])) as A;
    expect(globalThis.Array.from(await y.data())).toEqual([3, 6]);
  });

  it("a call with a disposed argument fails at the call, not in the queued run", async () => {
    const count = jit((v: A) => lax.whileLoop((c: A) => np.sum(c).lt(10), (c: A) => c.add(1), v), { device: "webgpu" });
    const x = jit((v: A) => v.add(0), { device: "webgpu" })(np.array([1, 2])) as ArrayImpl;
    x.dispose();
    expect(() => count(x)).toThrow(/disposed/);
    expect(globalThis.Array.from(await (count(np.array([1, 2])) as A).data())).toEqual([5, 6]);
  });

  it("an array larger than one storage binding is bound in chunks (elementwise and a reduction across the boundary)", async () => {
    const words = gpu!.device.limits.maxStorageBufferBindingSize / 4;
    const n = words + 3;
    const x = devicePut(np.arange(n, undefined, undefined, { dtype: "float32" }), "webgpu");
    const [y, top] = jit((v: A) => [v.mul(0.5).add(1), np.max(v.mul(-1).add(n))], { device: "webgpu" })(x) as A[];
    const data = await y!.data();
    expect(data.length).toBe(n);
    for (const i of [0, 1, words - 2, words - 1, words, words + 1, n - 1]) expect(data[i]).toBe(Math.fround(Math.fround(i) * 0.5 + 1));
    expect(globalThis.Array.from(await top!.data())).toEqual([Math.fround(n)]);
  });

  it("one pipeline serves an elementwise kernel of every size (the size is a uniform, not shader text)", async () => {
    const f = jit((v: A) => np.exp(v).mul(2.5).sub(v), { device: "webgpu" });
    const before = gpu!.pipelineCount;
    for (const n of [5, 300, 70_000]) {
      const x = randomArray(next, [n]);
      expectClose(await (f(x) as A).data(), np.exp(x).mul(2.5).sub(x).dataSync(), 1e-5, 1e-6);
    }
    expect(gpu!.pipelineCount - before).toBe(1);
  });

  it("one set of pipelines serves a program at every row count (sizes, strides and loop bounds are uniforms, not shader text)", async () => {
    const program = (a: A, w: A): A[] => [a.matmul(w).max(0), np.tanh(np.transpose(a, [1, 0]).sum(1))];
    const f = jit(program, { device: "webgpu" });
    const run = async (m: number): Promise<number> => {
      const a = randomArray(next, [m, 64]);
      const w = randomArray(next, [64, 48]);
      const expected = program(a, w).map((e) => e.dataSync());
      const before = gpu!.pipelineCount;
      const actual = f(a, w) as A[];
      for (const [i, e] of expected.entries()) expectClose(await actual[i]!.data(), e, 1e-4, 1e-4);
      return gpu!.pipelineCount - before;
    };
    expect(await run(37)).toBeGreaterThan(0);
    for (const m of [45, 61, 100]) expect(await run(m)).toBe(0);
  });

  it("reductions longer than the adapter's loop limit are split and sum every element", async () => {
    const f = jit((x: A) => np.exp(x).sum(1), { device: "webgpu" });
    for (const shape of [[1, 65_535], [1, 70_001], [3, 1 << 18]]) {
      const x = randomArray(next, shape);
      const host = x.dataSync();
      const expected = globalThis.Array.from({ length: shape[0]! }, (_, r) => {
        let total = 0;
        for (let i = r * shape[1]!; i < (r + 1) * shape[1]!; i++) total += Math.exp(host[i]!);
        return total;
      });
      expectClose(await (f(x) as A).data(), expected, 1e-5, 0);
    }
  });

  it.runIf(gpu?.software)("on a software adapter, a kernel that would loop past its limit is refused, not cut short", async () => {
    const x = randomArray(next, [70_000]);
    expect(() => jit((t: A) => lax.cumsum(t, 0), { device: "webgpu" })(x)).toThrow(/would loop 70000 times per invocation; this adapter stops loops after 65535 iterations/);
    const short = randomArray(next, [5_000]);
    expectClose(await (jit((t: A) => lax.cumsum(t, 0), { device: "webgpu" })(short) as A).data(), lax.cumsum(short, 0).dataSync(), 1e-4, 1e-3);
  });

  it("reuses pooled buffers across calls instead of allocating new ones", async () => {
    const f = jit((v: A) => np.tanh(v).mul(2).sum(), { device: "webgpu" });
    const x = randomArray(next, [1000]);
    const expected = np.tanh(x).mul(2).sum().dataSync()[0]!;
    // Calls recorded in one stretch share a command buffer; reading a result submits it.
    const cycle = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) (f(x) as A).dispose();
      const last = f(x) as A;
      expectClose(await last.data(), [expected], 1e-5, 1e-6);
      last.dispose();
    };
    await cycle();
    const pooled = gpu!.pooledBytes;
    expect(pooled).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) await cycle();
    expect(gpu!.pooledBytes).toBe(pooled);
  });

  it("keeps at most poolLimit bytes of free buffers (the largest destroyed first), and computes on", async () => {
    const saved = gpu!.poolLimit;
    gpu!.poolLimit = 64 * 1024;
    try {
      const f = jit((v: A) => np.tanh(v).mul(2), { device: "webgpu" });
      for (const n of [1 << 10, 1 << 16, 1 << 12, 1 << 15, 1 << 10]) {
        const host = randomArray(next, [n]);
        const x = devicePut(host, "webgpu");
        const y = f(x) as A;
        expectClose(await y.data(), np.tanh(host).mul(2).dataSync(), 1e-5, 1e-6);
        x.dispose();
        y.dispose();
        // Small buffers stay pooled; a 256 KiB or 128 KiB one does not fit and is destroyed.
        expect(gpu!.pooledBytes).toBeGreaterThan(0);
        expect(gpu!.pooledBytes).toBeLessThanOrEqual(64 * 1024);
      }
    } finally {
      gpu!.poolLimit = saved;
    }
  });
});

describe("memory of dropped arrays on the cpu device", () => {
  it("is reclaimed by the collector during synchronous work (no registry holds host data until a later task)", () => {
    // 48 dropped eager results of 16 MiB each, computed in one synchronous stretch: 768 MiB if they were kept.
    const x = devicePut(np.ones([1 << 22]), "cpu");
    const before = process.memoryUsage().arrayBuffers;
    let checksum = 0;
    for (let i = 0; i < 48; i++) checksum += (x.mul(i) as A).dataSync()[7]!;
    expect(checksum).toBe((47 * 48) / 2);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(384 * 2 ** 20);
  });
});

describe("devicePut and deviceGet", () => {
  it("put host arrays on a kernel device and get them back, leaf by leaf in a tree", async () => {
    const tree = { a: randomArray(next, [3, 2]), b: [np.array([1, 2, 3], { dtype: "int32" }), np.array([true, false])] };
    for (const device of kernelDevices) {
      const put = devicePut(tree, device);
      const host = await deviceGet(put);
      expect((host.a as ArrayImpl).device).toBe("cpu");
      expect(globalThis.Array.from(host.a.dataSync())).toEqual(globalThis.Array.from(tree.a.dataSync()));
      expect(globalThis.Array.from(host.b[0]!.dataSync())).toEqual([1, 2, 3]);
      expect(globalThis.Array.from(host.b[1]!.dataSync())).toEqual([1, 0]);
      expect(host.b[1]!.dtype).toBe("bool");
    }
  });

  it.runIf(gpu)("an array put on webgpu lives there, and a second put is the same array", async () => {
    const x = randomArray(next, [4]);
    const y = devicePut(x, "webgpu") as ArrayImpl;
    expect(y.device).toBe("webgpu");
    expect(devicePut(y, "webgpu")).toBe(y);
    expect(() => devicePut(y, "cpu")).toThrow(/devicePut: x \(f32\[4\]\) is on device 'webgpu', which is read asynchronously; bring it to the host with `x = await deviceGet\(x\)` first/);
    expect(globalThis.Array.from(await y.data())).toEqual(globalThis.Array.from(x.dataSync()));
  });

  it("refuses unknown devices and traced values by name", () => {
    expect(() => devicePut(np.array([1]), "tpu")).toThrow(/unknown device 'tpu'/);
    expect(() => jit((v: A) => devicePut(v, "cpu"))(np.array([1]))).toThrow(/devicePut: the argument is a traced value/);
  });
});

describe("WGJAX_DUMP", () => {
  it("plan prints each plan as it is made (loops with their bodies), wgsl each new shader", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((text: string) => void lines.push(text));
    process.env.WGJAX_DUMP = "plan,wgsl";
    try {
      const f = (x: A) => lax.foriLoop(0, 3, (_i: A, c: A) => np.sin(c).add(x), x);
      const x = randomArray(next, [5]);
      jit(f, { device: "cpu" })(x);
      if (gpu) await (jit((v: A) => np.cos(v).mul(7.25), { device: "webgpu" })(x) as A).data();
    } finally {
      delete process.env.WGJAX_DUMP;
      spy.mockRestore();
    }
    const text = lines.join("\n");
    expect(text).toMatch(/scan length 3 -> \(%\d+ %\d+\)\n  kernels/);
    expect(text).toMatch(/k\d+: grid 5, buffers/);
    if (gpu) expect(text).toMatch(/@compute @workgroup_size\([\s\S]*cos\([\s\S]*7\.25/);
  });
});

describe("the default device", () => {
  it("is the cpu kernel device unless WGJAX_DEVICE or setDefaultDevice chooses; eager operations run there too", () => {
    const saved = process.env.WGJAX_DEVICE;
    delete process.env.WGJAX_DEVICE;
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((text: string) => void lines.push(text));
    try {
      expect(defaultDevice()).toBe("cpu");
      const x = randomArray(next, [7]);
      process.env.WGJAX_DUMP = "plan";
      const y = np.tanh(x.mul(1.25));
      expect(lines.join("\n")).toMatch(/kernels \(%0\) -> \(%1\)\n {2}k0: grid 7/);
      expect((y as ArrayImpl).device).toBe("cpu");
      lines.length = 0;
      setDefaultDevice("interpreter");
      expect(defaultDevice()).toBe("interpreter");
      const z = np.tanh(x.mul(1.25));
      expect(lines).toEqual([]);
      expectClose(z.dataSync(), y.dataSync(), 1e-6, 1e-7);
      process.env.WGJAX_DEVICE = "cpu";
      expect(defaultDevice()).toBe("cpu");
      expect(() => setDefaultDevice("tpu")).toThrow(/setDefaultDevice: unknown device 'tpu'/);
    } finally {
      delete process.env.WGJAX_DUMP;
      setDefaultDevice(undefined);
      if (saved === undefined) delete process.env.WGJAX_DEVICE;
      else process.env.WGJAX_DEVICE = saved;
      spy.mockRestore();
    }
  });

  it("runs what the kernel lowering refuses (float64) on the reference interpreter, eagerly and under jit", () => {
    const x = np.array([0.1, 0.2, 0.3], { dtype: "float64" });
    const f = (v: A) => np.exp(v).sum();
    const eager = f(x);
    const jitted = jit(f, { device: "cpu" })(x) as A;
    expect(eager.dtype).toBe("float64");
    expect(jitted.dataSync()[0]).toBe(Math.exp(0.1) + Math.exp(0.2) + Math.exp(0.3));
    expect(eager.dataSync()[0]).toBe(jitted.dataSync()[0]);
  });
});

describe.runIf(gpu)("large reductions on webgpu", () => {
  it("with few outputs, reduce by workgroups (workgroup memory and barriers) and match the interpreter", async () => {
    const x = randomArray(next, [3, 5_003]);
    const k = np.arange(-4_000, 4_000, undefined, { dtype: "int32" }).reshape([2, 4_000]);
    const f = (v: A, n: A) => [np.tanh(np.sum(np.exp(v), { axis: 1 })), np.max(v, { axis: 1 }), np.min(v.T, { axis: 0 }), np.sum(n, { axis: 1 }), np.max(n), np.all(v.gt(-3), { axis: 1 }), np.sum(v, { axis: 0 })];
    const closed = makeJaxpr(f)(x, k);
    const plan = planJaxpr(closed, { target: "webgpu", splitReductions: false, workgroupReductions: true });
    const steps = plan.nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : []));
    // Six of the seven reduce long rows into few outputs; the epilogue (tanh) fuses; the column sums keep their loop.
    expect(steps.map((s) => s.kernel.workgroupSize ?? 0)).toEqual([64, 64, 64, 64, 64, 64, 0]);
    const expected = jit(f, { device: "interpreter" })(x, k) as A[];
    const actual = webgpuPlanExecutable(gpu!, plan)([x, k]);
    for (const [i, a] of actual.entries()) expectClose(await a.data(), expected[i]!.dataSync(), 1e-5, 1e-4);
  });

  it("run in two passes (many invocations, then the lanes) and match the interpreter", async () => {
    const x = randomArray(next, [3, 50_003]);
    const i = np.arange(120_007, undefined, undefined, { dtype: "int32" }).reshape([1, 120_007]);
    const b = randomArray(next, [40_000]).gt(-2);
    const f = (v: A, k: A, m: A) => [np.sum(v, { axis: 1 }), np.max(v), np.min(v.T, { axis: 0 }), np.prod(v.mul(1e-4).add(1), { axis: 1 }), np.sum(k), np.max(k, { axis: 1 }), np.all(m), np.any(np.logicalNot(m))];
    const closed = makeJaxpr(f)(x, i, b);
    const split = planJaxpr(closed, { target: "webgpu", splitReductions: true });
    const kernels = (plan: typeof split) => plan.nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : [])).length;
    expect(kernels(split)).toBeGreaterThanOrEqual(kernels(planJaxpr(closed, { target: "webgpu", splitReductions: false })) + 8);
    // The software adapter does not split by default (a single invocation's loop is faster there): run the split plan.
    const expected = jit(f, { device: "interpreter" })(x, i, b) as A[];
    const actual = webgpuPlanExecutable(gpu!, split)([x, i, b]);
    // float32 over 50k terms: a sum may differ by about n·u·Σ|v| from the float64 reference, a product by n·u.
    const tolerances: [number, number][] = [[1e-4, 1e-2], [0, 0], [0, 0], [2e-3, 0], [0, 0], [0, 0], [0, 0], [0, 0]];
    for (const [k, a] of actual.entries()) {
      expect([a.shape, a.dtype]).toEqual([expected[k]!.shape, expected[k]!.dtype]);
      expectClose(await a.data(), expected[k]!.dataSync(), ...tolerances[k]!);
    }
  });
});

describe("the two-pass reduction rewrite", () => {
  it("leaves equations without operands, small reductions and narrow dtypes alone", () => {
    const f = (v: A) => [np.arange(8).add(np.sum(v.astype("bfloat16").astype("float32"))), np.sum(v.astype("bfloat16")), np.sum(v.at(":10"))];
    const closed = makeJaxpr(f)(randomArray(next, [20_000]));
    const count = (split: boolean) => planJaxpr(closed, { target: "webgpu", splitReductions: split }).nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : [])).length;
    expect(count(true) - count(false)).toBe(1);
  });
});
