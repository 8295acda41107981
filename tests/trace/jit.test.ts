import { describe, expect, it } from "vitest";
import { ArgumentError, type Array as JaxArray, ArrayImpl, DisposedError, ShapedArray, bind, deviceGet, jit, makeJaxpr, numpy as np, reference, tree } from "../../src/index.js";
import { type Compiler, interpreterExecutable, registerCompiler, unregisterCompiler } from "../../src/trace/executable.js";
import { SAMPLES } from "../util/samples.js";

type A = JaxArray;

describe("jit equals eager evaluation", () => {
  for (const primitive of reference.listPrimitives().filter((p) => p.name !== "custom_lin")) {
    it(primitive.name, () => {
      const { inputs, params } = SAMPLES[primitive.name]!();
      const eager = bind(primitive, inputs, params);
      const jitted = jit((...xs: A[]) => bind(primitive, xs, params), { staticArgnums: [] })(...inputs) as A[];
      expect(jitted.length).toBe(eager.length);
      jitted.forEach((out, k) => {
        expect(out.shape).toEqual(eager[k]!.shape);
        expect(out.dtype).toBe(eager[k]!.dtype);
        expect(Array.from(out.dataSync())).toEqual(Array.from(eager[k]!.dataSync()));
      });
    });
  }
});

describe("jit cache", () => {
  it("traces once per signature, and side effects run only while tracing", () => {
    let sideEffects = 0;
    const f = jit((x: A, y: A) => {
      sideEffects++;
      return x.mul(y).add(1);
    });
    const a = np.array([1, 2, 3]);
    expect(Array.from(f(a, a).dataSync())).toEqual([2, 5, 10]);
    expect(Array.from(f(np.array([4, 5, 6]), a).dataSync())).toEqual([5, 11, 19]);
    expect(f.traceCount).toBe(1);
    expect(sideEffects).toBe(1);
    f(np.array([1, 2]), np.array([1, 2]));
    expect(f.traceCount).toBe(2);
    f(a.astype("int32"), a.astype("int32"));
    expect(f.traceCount).toBe(3);
    expect(sideEffects).toBe(3);
  });

  it("misses on a weak type or tree structure change", () => {
    const f = jit((x: A | number) => np.multiply(x, 2));
    f(np.array(3));
    f(3);
    expect(f.traceCount).toBe(2);
    const g = jit((t: unknown) => tree.leaves(t).length);
    g([np.array(1), np.array(2)]);
    g({ a: np.array(1), b: np.array(2) });
    expect(g.traceCount).toBe(2);
  });

  it("keys static arguments by value, and positional and named statics work", () => {
    const f = jit((x: A, power: number) => x.pow(power), { staticArgnums: [1] });
    expect(Array.from((f(np.array([2]), 3) as A).dataSync())).toEqual([8]);
    expect(Array.from((f(np.array([2]), 3) as A).dataSync())).toEqual([8]);
    expect(Array.from((f(np.array([2]), 2) as A).dataSync())).toEqual([4]);
    expect(f.traceCount).toBe(2);
    const g = jit((x: A, options: { scale: A; axis: number }) => np.sum(x.mul(options.scale), { axis: options.axis }), { staticArgnames: ["axis"] });
    const m = np.array([[1, 2], [3, 4]]);
    expect(Array.from(g(m, { scale: np.array(2), axis: 0 }).dataSync())).toEqual([8, 12]);
    expect(Array.from(g(m, { scale: np.array(3), axis: 0 }).dataSync())).toEqual([12, 18]);
    expect(Array.from(g(m, { scale: np.array(2), axis: 1 }).dataSync())).toEqual([6, 14]);
    expect(g.traceCount).toBe(2);
  });

  it("compiles a function with captured constants once per signature, and keeps the arrays captured while tracing", () => {
    let compilations = 0;
    const counting: Compiler = (closed) => {
      compilations++;
      return interpreterExecutable(closed);
    };
    registerCompiler("counting", counting);
    try {
      let w = np.array([[1, 2], [3, 4]]);
      const b = np.array([10, 20]);
      const f = jit((x: A) => x.matmul(w).add(b), { device: "counting" });
      for (let i = 0; i < 5; i++) expect(Array.from(f(np.array([[i, 1]])).dataSync())).toEqual([i + 13, 2 * i + 24]);
      expect([f.traceCount, compilations]).toEqual([1, 1]);
      expect(Array.from(f(np.array([[1, 0], [0, 1], [1, 1]])).dataSync())).toEqual([11, 22, 13, 24, 14, 26]);
      f(np.array([[1, 1]]));
      expect([f.traceCount, compilations]).toEqual([2, 2]);
      w = np.array([[0, 0], [0, 0]]);
      expect(Array.from(f(np.array([[1, 1]])).dataSync())).toEqual([14, 26]);
      const g = jit((x: A) => x.matmul(w).add(b), { device: "counting" });
      expect(Array.from(g(np.array([[1, 1]])).dataSync())).toEqual([10, 20]);
      expect([f.traceCount, g.traceCount, compilations]).toEqual([2, 1, 3]);
    } finally {
      unregisterCompiler("counting");
    }
  });

  it("passes pytrees in and out", () => {
    const f = jit((p: { w: A; b: A }, x: A) => ({ y: np.matmul(x, p.w).add(p.b), n: [x.sum()] }));
    const out = f({ w: np.eye(2), b: np.array([1, 1]) }, np.array([[1, 2]]));
    expect(Array.from(out.y.dataSync())).toEqual([2, 3]);
    expect(Array.from(out.n[0]!.dataSync())).toEqual([3]);
  });

  it("lower() gives the closed jaxpr without running", () => {
    const f = jit((x: A) => np.sin(x));
    expect(f.lower(np.zeros([2])).toString()).toBe("{ lambda ; a:f32[2]. let b:f32[2] = sin a in (b,) }");
  });

  it("disposes donated arguments after the call", () => {
    const f = jit((x: A, y: A) => x.add(y), { donateArgnums: [0] });
    const x = np.array([1, 2]) as ArrayImpl;
    const y = np.array([3, 4]) as ArrayImpl;
    expect(Array.from(f(x, y).dataSync())).toEqual([4, 6]);
    expect(() => x.dataSync()).toThrow(DisposedError);
    expect(Array.from(y.dataSync())).toEqual([3, 4]);
  });
});

describe("arrays on another device", () => {
  // An array whose data lives on a device that reads asynchronously, as WebGPU's arrays do.
  const remote = (): ArrayImpl => new ArrayImpl(new ShapedArray([3], "float32"), { device: "remote", read: () => Promise.resolve(new Float32Array([1, 2, 3])), release: () => {} });
  const refusal = (what: string, device: string) =>
    new RegExp(
      `^jit\\(double\\): ${what} \\(f32\\[3\\]\\) is on device 'remote', but the call runs on device '${device}', which cannot read it synchronously\\. ` +
        `Copy it to the host first with \`x = await deviceGet\\(x\\)\` \\(devicePut\\(x, "${device}"\\) cannot: it is synchronous and reading 'remote' is not\\), or jit with \\{device: "remote"\\}\\.$`,
    );
  const double = (x: A, y: A): A => x.add(y).mul(2);

  it("are refused at the call, naming the argument, its device and the call's device", () => {
    for (const device of ["cpu", "interpreter"]) {
      expect(() => jit(double, { device })(np.zeros([3]), remote())).toThrow(ArgumentError);
      expect(() => jit(double, { device })(np.zeros([3]), remote())).toThrow(refusal("argument 1", device));
    }
  });

  it("are named by argument position past static arguments and by leaf within a pytree", () => {
    const f = jit(function double(scale: number, p: { a: A; b: A }) {
      return p.a.add(p.b).mul(scale);
    }, { staticArgnums: [0], device: "cpu" });
    expect(() => f(2, { a: np.zeros([3]), b: remote() })).toThrow(refusal("argument 1 \\(leaf 1 of its pytree\\)", "cpu"));
  });

  it("are refused as captured constants too", () => {
    const x = remote();
    const f = jit(function double(y: A) {
      return x.add(y).mul(2);
    }, { device: "cpu" });
    expect(() => f(np.zeros([3]))).toThrow(refusal("a constant captured by double", "cpu"));
  });

  it("are accepted while staged, and once copied to the host as the message says", async () => {
    const f = jit(double, { device: "cpu" });
    expect(makeJaxpr((y: A) => f(y, remote()))(np.zeros([3])).toString()).toContain("jit[");
    const x = await deviceGet(remote());
    expect(Array.from((f(np.ones([3]), x) as A).dataSync())).toEqual([4, 6, 8]);
  });
});
