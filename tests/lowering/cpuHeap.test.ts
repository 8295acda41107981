/**
 * Arrays put on the CPU device live in its wasm heap (src/runtime/cpuHeap.ts): kernels read them in place, the
 * packed layout a program derives from them is kept with them and used instead of packing again, and the heap
 * holds them within a budget, least recently used out first.
 */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, ArrayImpl, devicePut, gmm, jit, numpy as np } from "../../src/index.js";
import { type Kernel, binary, c, gid, load } from "../../src/lowering/kernelIr.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { CpuHeapBuffer, type HeapRegion } from "../../src/runtime/cpuHeap.js";
import { WasmKernels } from "../../src/runtime/wasmKernels.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(29);

const regionOf = (x: A): HeapRegion => {
  const buffer = (x as ArrayImpl).buffer;
  if (!(buffer instanceof CpuHeapBuffer) || !buffer.placed) throw new Error("not an array in the cpu heap");
  return buffer.placed;
};

describe("devicePut(x, 'cpu')", () => {
  it("copies host data into the heap; reads are copies, and putting again returns the same array", () => {
    const host = randomArray(next, [5, 7]);
    const x = devicePut(host, "cpu");
    expect(x === host).toBe(false);
    expect((x as ArrayImpl).device).toBe("cpu");
    expect(Array.from(x.dataSync())).toEqual(Array.from(host.dataSync()));
    x.dataSync().fill(0);
    expect(Array.from(x.dataSync())).toEqual(Array.from(host.dataSync()));
    expect(devicePut(x, "cpu") === x).toBe(true);
    expect(Array.from(x.mul(2).dataSync())).toEqual(Array.from(host.mul(2).dataSync()));
  });

  it("keeps every dtype's values", () => {
    for (const [dtype, scale] of [["int32", 1000], ["bfloat16", 3], ["bool", 1], ["float64", 1]] as const) {
      const host = randomArray(next, [11], dtype, scale);
      expect(Array.from(devicePut(host, "cpu").dataSync())).toEqual(Array.from(host.dataSync()));
    }
  });

  it("frees the region on dispose, for the next array to take", () => {
    const a = devicePut(randomArray(next, [64, 64]), "cpu");
    const offset = regionOf(a).offset;
    a.dispose();
    const b = devicePut(randomArray(next, [64, 64]), "cpu");
    expect(regionOf(b).offset).toBe(offset);
    b.dispose();
  });
});

describe("a packed rhs derived from an array in the heap", () => {
  // 300 rows and a 300×300 rhs: dot_general packs its rhs on the cpu.
  const x = randomArray(next, [300, 300]);
  const wHost = randomArray(next, [300, 300]);
  const expected = np.matmul(x, wHost).dataSync();

  it("is kept after the first run and used by later ones instead of packing again", () => {
    const w = devicePut(wHost, "cpu");
    const product = jit((a: A, b: A) => np.matmul(a, b), { device: "cpu" });
    expectClose(product(x, w).dataSync(), expected, 1e-5, 1e-5);
    const kept = regionOf(w).keptLayouts();
    expect(kept).toHaveLength(1);
    expectClose(product(x, w).dataSync(), expected, 1e-5, 1e-5);
    // The second run read the kept layout: zeroing it zeroes the product.
    kept[0]!.view().fill(0);
    expect(product(x, w).dataSync().every((value) => value === 0)).toBe(true);
    // A host rhs, or the same data put again, packs afresh.
    expectClose(product(x, wHost).dataSync(), expected, 1e-5, 1e-5);
    expectClose(product(x, devicePut(wHost, "cpu")).dataSync(), expected, 1e-5, 1e-5);
    w.dispose();
    expect(() => kept[0]!.view()).toThrow(/a freed heap region/);
  });

  it("of another program's rhs (the transpose) is kept apart, and both stay right", () => {
    const w = devicePut(wHost, "cpu");
    const product = jit((a: A, b: A) => np.matmul(a, b), { device: "cpu" });
    const transposed = jit((a: A, b: A) => np.matmul(a, b.T), { device: "cpu" });
    const expectedT = np.matmul(x, wHost.T).dataSync();
    for (let i = 0; i < 2; i++) {
      expectClose(product(x, w).dataSync(), expected, 1e-5, 1e-5);
      expectClose(transposed(x, w).dataSync(), expectedT, 1e-5, 1e-5);
    }
    expect(regionOf(w).keptLayouts()).toHaveLength(2);
    w.dispose();
  });

  it("serves gmm's grouped kernel with the weights in the heap", () => {
    const m = 512;
    const lhs = randomArray(next, [m, 96]);
    const rhsHost = randomArray(next, [3, 96, 700]);
    const sizes = np.array([300, 0, 150], { dtype: "int32" });
    const grouped = jit((a: A, b: A, s: A) => gmm(a, b, s, { backend: "cpu" }), { device: "cpu" });
    const reference = gmm(lhs, rhsHost, sizes, { backend: "reference" }).dataSync();
    const rhs = devicePut(rhsHost, "cpu");
    for (let i = 0; i < 2; i++) expectClose(grouped(lhs, rhs, sizes).dataSync(), reference, 1e-5, 1e-5);
    expect(regionOf(rhs).keptLayouts()).toHaveLength(1);
    rhs.dispose();
  });
});

describe("the cpu device's kept layouts", () => {
  const n = 37;
  /** out[i] = in[i] + shift, marked as a re-layout or not. */
  const shifted = (shift: number, relayout: boolean): Kernel => ({
    name: "shift",
    grid: n,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: [{ k: "store", buffer: 1, index: gid, value: binary("add", load(0, gid, "f32"), c(shift)) }],
    ...(relayout ? { relayout: true as const } : {}),
  });
  const data = Float32Array.from({ length: n }, () => next() * 10);
  const plus = (shift: number): number[] => Array.from(data, (value) => Math.fround(value + shift));

  it("are at most four to an array, the oldest dropped first, and every run stays right", () => {
    const cpu = new CpuDevice();
    const put = cpu.put(data)!;
    const region = put.placed!;
    const run = (shift: number, relayout = true): number[] => Array.from(cpu.runSteps([{ kernel: shifted(shift, relayout), buffers: [0, 1] }], [put, { dtype: "float32", length: n }], [1])[0]!);
    for (const shift of [1, 2, 3, 4, 5]) expect(run(shift)).toEqual(plus(shift));
    expect(region.keptLayouts().map((r) => Array.from(r.view()))).toEqual([2, 3, 4, 5].map(plus));
    expect(run(1)).toEqual(plus(1));
    expect(run(7, false)).toEqual(plus(7));
    expect(region.keptLayouts().map((r) => Array.from(r.view()))).toEqual([3, 4, 5, 1].map(plus));
    region.free();
    expect(region.keptLayouts()).toHaveLength(0);
  });

  it("are not kept when a re-layout also reads host data", () => {
    const cpu = new CpuDevice();
    const put = cpu.put(data)!;
    const kernel: Kernel = { ...shifted(0, true), buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read" }, { type: "f32", access: "read_write" }], body: [{ k: "store", buffer: 2, index: gid, value: binary("add", load(0, gid, "f32"), load(1, gid, "f32")) }] };
    const out = cpu.runSteps([{ kernel, buffers: [0, 1, 2] }], [put, data, { dtype: "float32", length: n }], [2])[0]!;
    expect(Array.from(out)).toEqual(Array.from(data, (value) => Math.fround(2 * value)));
    expect(put.placed!.keptLayouts()).toHaveLength(0);
  });

  it("refuse a kernel that would write an array's data", () => {
    const cpu = new CpuDevice();
    expect(() => cpu.runSteps([{ kernel: shifted(1, false), buffers: [0, 1] }], [{ dtype: "float32", length: n }, cpu.put(data)!], [0])).toThrow(/kernel 'shift' writes the data of an array put on the device/);
  });

  it("count toward the device's budget", () => {
    const cpu = new CpuDevice();
    const put = cpu.put(data)!;
    expect(cpu.residentBytes).toBe(4 * n);
    cpu.runSteps([{ kernel: shifted(1, true), buffers: [0, 1] }], [put, { dtype: "float32", length: n }], [1]);
    expect(cpu.residentBytes).toBe(8 * n);
    put.release();
    expect(cpu.residentBytes).toBe(0);
  });
});

describe("the cpu device's budget for arrays put on it", () => {
  const n = 37;
  const copy: Kernel = {
    name: "copy",
    grid: n,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: [{ k: "store", buffer: 1, index: gid, value: load(0, gid, "f32") }],
  };
  const values = (): Float32Array => Float32Array.from({ length: n }, () => next());

  it("frees the least recently used when full; an array whose region went is copied in again at its next use", () => {
    const cpu = new CpuDevice({ residentBytes: 3 * 4 * n });
    const data = [values(), values(), values(), values()];
    const [a, b, c] = data.slice(0, 3).map((d) => cpu.put(d)!) as [CpuHeapBuffer, CpuHeapBuffer, CpuHeapBuffer];
    const read = (x: CpuHeapBuffer): number[] => Array.from(cpu.runSteps([{ kernel: copy, buffers: [0, 1] }], [x, { dtype: "float32", length: n }], [1])[0]!);
    expect(read(a)).toEqual(Array.from(data[0]!));
    const d = cpu.put(data[3]!)!;
    expect([a, b, c, d].map((x) => x.placed !== undefined)).toEqual([true, false, true, true]);
    expect(cpu.residentBytes).toBe(3 * 4 * n);
    expect(read(b)).toEqual(Array.from(data[1]!));
    expect([a, b, c, d].map((x) => x.placed !== undefined)).toEqual([true, true, false, true]);
    expect(Array.from(c.readSync())).toEqual(Array.from(data[2]!));
    expect(cpu.residentBytes).toBe(3 * 4 * n);
  });

  it("keeps the heap within it when put arrays are dropped in synchronous work", () => {
    const cpu = new CpuDevice({ residentBytes: 8 * 4 * n });
    let checksum = 0;
    for (let i = 0; i < 100; i++) {
      const x = cpu.put(Float32Array.from({ length: n }, (_, j) => i + j))!;
      checksum += cpu.runSteps([{ kernel: copy, buffers: [0, 1] }], [x, { dtype: "float32", length: n }], [1])[0]![5]!;
      expect(cpu.residentBytes).toBeLessThanOrEqual(8 * 4 * n);
    }
    expect(checksum).toBe((99 * 100) / 2 + 5 * 100);
  });
});

describe("the wasm heap's regions", () => {
  it("fill the first gap that fits, and scratch space starts above them all", () => {
    const heap = new WasmKernels();
    const [a, b, c] = [1000, 5000, 1000].map((bytes) => heap.allocate(bytes));
    expect([a, b, c]).toEqual([0, 1024, 6048]);
    heap.free(b!);
    expect(heap.allocate(2000)).toBe(1024);
    expect(heap.allocate(2000)).toBe(3040);
    expect(heap.allocate(2000)).toBe(7072);
    expect(heap.scratch(1 << 20)).toBe(9088);
    expect(heap.heap.byteLength).toBeGreaterThanOrEqual(9088 + (1 << 20));
  });
});
