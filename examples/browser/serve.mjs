// Serves a folder (default: the built browser example) on http://127.0.0.1:PORT/ (default 8080). WebGPU needs a
// secure context, which 127.0.0.1 and localhost are; a file:// page has none.
// Usage: node examples/browser/serve.mjs [folder] [port]
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveFolder } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { url } = await serveFolder(process.argv[2] ?? join(here, "dist"), Number(process.argv[3] ?? 8080));
console.log(`serving the example on ${url} (Ctrl-C stops)`);
