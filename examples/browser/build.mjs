// Builds the browser example: examples/browser/main.ts bundled with esbuild (the library from source, the names
// lists bundled through their packages' "browser" entries) beside index.html, into the output folder.
// Usage: node examples/browser/build.mjs [outdir]   (default: examples/browser/dist)
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2] ?? join(here, "dist");
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [join(here, "main.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  // Dawn for Node: imported only where `process.versions.node` exists, never in a page.
  external: ["webgpu"],
  ignoreAnnotations: true,
  logLevel: "warning",
  outfile: join(outdir, "main.js"),
});
copyFileSync(join(here, "index.html"), join(outdir, "index.html"));
console.log(`built ${outdir}`);
