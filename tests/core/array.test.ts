import { describe, expect, it } from "vitest";
import { ArrayImpl, DisposedError, numpy as np, packInt4, unpackInt4 } from "../../src/index.js";

describe("Array", () => {
  it("exposes shape, dtype, ndim, size and nbytes", () => {
    const x = np.zeros([2, 3], { dtype: "bfloat16" });
    expect([x.shape, x.dtype, x.ndim, x.size, x.nbytes]).toEqual([[2, 3], "bfloat16", 2, 6, 12]);
    expect(np.zeros([5], { dtype: "int4" }).nbytes).toBe(3);
  });

  it("data() decodes narrow floats to Float32Array and toList() nests", async () => {
    const x = np.array([[1.5, 2], [3, 4.25]], { dtype: "float16" });
    const data = await x.data();
    expect(data).toBeInstanceOf(Float32Array);
    expect(Array.from(data)).toEqual([1.5, 2, 3, 4.25]);
    expect(await x.toList()).toEqual([[1.5, 2], [3, 4.25]]);
    expect(await np.array([true, false]).toList()).toEqual([true, false]);
    expect(await np.array(7, { dtype: "int32" }).item()).toBe(7);
    expect(await np.zeros([2, 0]).toList()).toEqual([[], []]);
    await expect(np.zeros([2]).item()).rejects.toThrow(/item: the array has 2 elements, expected 1/);
  });

  it("prints like numpy", () => {
    expect(np.array([[1, 2.5], [-3, 4]]).toString()).toBe("Array([[ 1., 2.5],\n       [-3.,  4.]], dtype=float32)");
    expect(np.array([1, 2, 3], { dtype: "int32" }).toString()).toBe("Array([1, 2, 3], dtype=int32)");
    expect(np.array([[1, 2], [3, 4]], { dtype: "int32" }).toString()).toBe("Array([[1, 2],\n       [3, 4]], dtype=int32)");
    expect(np.array([true, false]).toString()).toBe("Array([ True, False], dtype=bool)");
    expect(np.array([NaN, -Infinity, 0.5]).toString()).toBe("Array([ nan, -inf,  0.5], dtype=float32)");
    expect(np.array(3).toString()).toBe("Array(3., dtype=float32)");
  });

  it("is immutable: operations return new arrays", () => {
    const x = np.array([1, 2]);
    const y = x.add(1);
    expect(Array.from(x.dataSync())).toEqual([1, 2]);
    expect(Array.from(y.dataSync())).toEqual([2, 3]);
  });

  it("dispose() releases the data and later use raises DisposedError", () => {
    const x = np.array([1, 2]) as ArrayImpl;
    x.dispose();
    expect(x.disposed).toBe(true);
    expect(() => x.dataSync()).toThrow(DisposedError);
    expect(() => x.add(1)).toThrow(/disposed/);
    x.dispose();
  });

  it("supports `using` through Symbol.dispose", () => {
    let escaped: ArrayImpl | undefined;
    {
      using x = np.array([1]) as ArrayImpl;
      escaped = x;
    }
    expect(escaped.disposed).toBe(true);
  });

  it("astype, reshape, T and comparison methods", () => {
    const x = np.array([[1.7, -2.2]]);
    expect(Array.from(x.astype("int32").dataSync())).toEqual([1, -2]);
    expect(x.reshape([2, 1]).shape).toEqual([2, 1]);
    expect(x.T.shape).toEqual([2, 1]);
    expect(Array.from(x.gt(0).dataSync())).toEqual([1, 0]);
    expect(Array.from(x.neg().dataSync())).toEqual([-Math.fround(1.7), Math.fround(2.2)]);
    expect(Array.from(x.pow(2).sub(x.mul(x)).dataSync())).toEqual([0, 0]);
  });
});

describe("int4 packing", () => {
  it("packs two values per byte, low nibble first, and unpacks them", () => {
    const values = [-8, 7, -1, 0, 3];
    const packed = packInt4(values);
    expect(Array.from(packed)).toEqual([0x78, 0x0f, 0x03]);
    expect(Array.from(unpackInt4(packed, values.length))).toEqual(values);
  });
});
