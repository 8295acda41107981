import { defineConfig } from "vitest/config";

// Two runs: "kernels" with the default device (the cpu kernel device; WebGPU tests on an adapter), and
// "reference", where WGJAX_DEVICE=interpreter sends jit and eager operations to the reference interpreter,
// so the operation, tracing and autodiff tests check both paths.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "kernels", include: ["tests/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "reference", include: ["tests/core/**/*.test.ts", "tests/ops/**/*.test.ts", "tests/trace/**/*.test.ts", "tests/vjp/**/*.test.ts", "tests/vmap/**/*.test.ts"], env: { WGJAX_DEVICE: "interpreter" } },
      },
    ],
  },
});
