/**
 * The browser example page (examples/browser): built with esbuild, served on 127.0.0.1, opened in headless
 * Chromium on its WebGPU adapter. It trains the names model in the page; the test waits for the run, checks the
 * loss curve was drawn (its line's pixels on the canvas), the device, step time and sampled names shown, and
 * saves a screenshot (WGJAX_SCREENSHOT names the file; by default one in the system's temporary folder). And the
 * published ESM bundle (scripts/build.mjs), imported unchanged by a page, computes on WebGPU and on the CPU.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Page, chromium } from "playwright";
import { describe, expect, it } from "vitest";
import type { DemoState } from "../../examples/browser/main.js";
import { serveFolder } from "../../examples/browser/server.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../util/chromium.js";

const STEPS = 40;

/** Opens the built page in Chromium launched with `args`, waits for its run of `steps`, and hands the page to `check`. */
async function runPage(folder: string, args: string[], steps: number, check: (page: Page, demo: DemoState) => Promise<void>): Promise<void> {
  const server = await serveFolder(folder);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args });
  try {
    const page = await browser.newPage({ viewport: { width: 820, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}?steps=${steps}`);
    await page.waitForFunction(() => (globalThis as { demo?: DemoState }).demo?.done === true, undefined, { timeout: 280_000 });
    const demo = (await page.evaluate(() => (globalThis as { demo?: DemoState }).demo)) as DemoState;
    expect(errors).toEqual([]);
    expect(demo.error).toBeUndefined();
    expect(demo.losses).toHaveLength(steps);
    expect(demo.names).toHaveLength(20);
    expect(await page.textContent("#status")).toMatch(new RegExp(`^step ${steps}/${steps}, loss \\d+\\.\\d{3}, \\d+\\.\\d ms per step$`));
    expect(await page.locator("#names li").count()).toBe(20);
    await check(page, demo);
  } finally {
    await browser.close();
    await server.close();
  }
}

describe.runIf(existsSync(CHROMIUM))("the browser example page", () => {
  const outdir = mkdtempSync(join(tmpdir(), "wgjax-page-"));
  execFileSync("node", ["examples/browser/build.mjs", outdir], { stdio: "pipe" });

  it("trains in the page on webgpu and draws the loss curve live", async () => {
    await runPage(outdir, CHROMIUM_ARGS, STEPS, async (page, demo) => {
      expect(demo.device).toBe("webgpu");
      expect(demo.losses.at(-1)!).toBeLessThan(demo.losses[0]!);
      expect(await page.textContent("#device")).toMatch(/^webgpu \(.*\), the wgsl gmm backend$/);
      // The curve's colour (#1f6feb) on the canvas: a line across the plot, not a dot.
      const drawn = await page.evaluate(() => {
        const canvas = document.getElementById("curve") as HTMLCanvasElement;
        const { data, width } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        const columns = new Set<number>();
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 0x1f) < 40 && Math.abs(data[i + 1]! - 0x6f) < 40 && data[i + 2]! > 200) columns.add((i / 4) % width);
        return columns.size;
      });
      expect(drawn).toBeGreaterThan(300);
      const shot = process.env.WGJAX_SCREENSHOT ?? join(outdir, "example-page.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      console.log(`screenshot of the example page: ${shot}`);
    });
  }, 300_000);

  it("falls back to the cpu device where the browser gives no WebGPU adapter", async () => {
    await runPage(outdir, ["--no-sandbox"], 5, async (page, demo) => {
      expect(demo.device).toBe("cpu");
      expect(await page.textContent("#device")).toBe("cpu (no WebGPU in this browser), the cpu gmm backend");
    });
  }, 300_000);
});

describe.runIf(existsSync(CHROMIUM))("the published ESM bundle in a page", () => {
  it("imports unchanged (no Node built-ins reached) and computes on webgpu and cpu", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "wgjax-bundle-"));
    execFileSync("node", ["scripts/build.mjs", outdir], { stdio: "pipe" });
    // The page imports the bundle as any page would: a module script, no import map, no shims.
    const script = `
      import * as w from "./index.js";
      const device = await w.initWebGpu();
      const f = (x) => x.mul(x).sum();
      const x = w.numpy.array([1, 2, 3, 4]);
      const gpu = Array.from(await w.jit(w.grad(f), { device: "webgpu" })(x).data());
      const cpu = Array.from(await w.jit(w.grad(f), { device: "cpu" })(x).data());
      globalThis.result = { device, devices: w.devices(), gpu, cpu };`;
    writeFileSync(join(outdir, "index.html"), `<!doctype html><html><body><script type="module">${script}</script></body></html>`);
    const server = await serveFolder(outdir);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForFunction(() => "result" in globalThis, undefined, { timeout: 60_000 });
      const result = (await page.evaluate(() => (globalThis as { result?: unknown }).result)) as { device: unknown; devices: string[]; gpu: number[]; cpu: number[] };
      expect(errors).toEqual([]);
      expect(typeof result.device).toBe("string");
      expect(result.devices).toEqual(expect.arrayContaining(["interpreter", "cpu", "webgpu"]));
      expect(result.gpu).toEqual([2, 4, 6, 8]);
      expect(result.cpu).toEqual([2, 4, 6, 8]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 120_000);
});
