// Builds the package: ESM and CJS bundles with esbuild, then .d.ts types with tsc.
// Usage: node scripts/build.mjs [outdir]   (default: dist)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";

const outdir = process.argv[2] ?? "dist";
rmSync(outdir, { recursive: true, force: true });

// `webgpu` (Dawn for Node) is loaded on demand in Node only; browsers use navigator.gpu. The package's
// `"sideEffects": false` is for bundlers of the published files; our modules register primitives and rules when
// imported, so this build keeps every module it imports (ignoreAnnotations).
const common = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  external: ["webgpu"],
  ignoreAnnotations: true,
};
await build({ ...common, format: "esm", outfile: join(outdir, "index.js") });
await build({ ...common, format: "cjs", outfile: join(outdir, "index.cjs") });
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", join(outdir, "types")], { stdio: "inherit" });
