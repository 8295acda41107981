/** The published package: ESM and CJS bundles and .d.ts types build, load, and give the same results. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

describe("package build", () => {
  const outdir = mkdtempSync(join(tmpdir(), "wgjax-build-"));
  beforeAll(() => {
    execFileSync("node", ["scripts/build.mjs", outdir], { stdio: "pipe" });
  }, 120_000);

  it("the CJS bundle loads with require and computes", () => {
    const wgjax = createRequire(import.meta.url)(join(outdir, "index.cjs"));
    const x = wgjax.numpy.array([1, 2, 3]);
    expect(Array.from(x.mul(2).dataSync())).toEqual([2, 4, 6]);
  });

  it("the ESM bundle loads with import and agrees with the sources", async () => {
    const wgjax = await import(pathToFileURL(join(outdir, "index.js")).href);
    const bits = wgjax.random.bits(wgjax.random.key(42), [3]);
    expect(Array.from(bits.dataSync())).toEqual([2098992034, 2919706841, 2646866425]);
  });

  it("the bundles keep the modules that register rules: grad through scan and jit, jit on the cpu device, vmap of grad and gmm", async () => {
    const esm = await import(pathToFileURL(join(outdir, "index.js")).href);
    const cjs = createRequire(import.meta.url)(join(outdir, "index.cjs"));
    for (const w of [esm, cjs]) {
      const f = (x: unknown) => w.lax.scan((c: { mul(v: unknown): unknown }, v: unknown) => [c.mul(v), c], w.numpy.array(1), x)[0];
      expect(Array.from(w.grad(f)(w.numpy.array([0.5, 2, 3])).dataSync())).toEqual([6, 1.5, 1]);
      const g = w.jit((x: { mul(v: unknown): { sum(): unknown } }) => x.mul(x).sum(), { device: "cpu" });
      expect(Array.from(w.grad(g)(w.numpy.array([1, 2])).dataSync())).toEqual([2, 4]);
      const perExample = w.vmap(w.grad(f));
      expect(Array.from(perExample(w.numpy.array([[0.5, 2, 3], [1, 1, 2]])).dataSync())).toEqual([6, 1.5, 1, 2, 2, 1]);
      const rows = w.vmap((x: unknown, s: unknown) => w.gmm(x, w.numpy.ones([2, 1, 1]), s))(w.numpy.ones([2, 3, 1]), w.numpy.array([[1, 2], [3, 0]], { dtype: "int32" }));
      expect(Array.from(rows.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    }
  });

  it("emits type declarations for the public API", () => {
    const types = readFileSync(join(outdir, "types", "index.d.ts"), "utf8");
    expect(types).toMatch(/export \* as numpy/);
    expect(existsSync(join(outdir, "types", "core", "array.d.ts"))).toBe(true);
  });

  it("the ESM bundle reaches no Node built-ins (it must run in browsers)", () => {
    const source = readFileSync(join(outdir, "index.js"), "utf8");
    expect(source).not.toMatch(/from\s+["']node:|require\(["'](fs|path|os|child_process)["']\)/);
  });
});
