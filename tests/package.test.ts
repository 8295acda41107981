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
