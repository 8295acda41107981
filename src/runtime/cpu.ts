/**
 * The CPU device: kernels rendered to WebAssembly, or to JavaScript where the wasm renderer cannot render them,
 * compiled once per kernel, run on typed arrays.
 */
import type { HostData } from "../core/hostData.js";
import type { Kernel } from "../lowering/kernelIr.js";
import { compileJs, renderJs } from "../lowering/js.js";
import { WasmKernels } from "./wasmKernels.js";

type Run = (buffers: readonly HostData[]) => void;

export class CpuDevice {
  readonly #compiled = new WeakMap<Kernel, Run>();
  readonly #byText = new Map<string, Run>();
  readonly #wasm: WasmKernels | undefined;

  /** `wasm: false` runs every kernel as JavaScript. */
  constructor({ wasm = typeof WebAssembly !== "undefined" }: { wasm?: boolean } = {}) {
    this.#wasm = wasm ? new WasmKernels() : undefined;
  }

  run(kernel: Kernel, buffers: readonly HostData[]): void {
    let fn = this.#compiled.get(kernel);
    if (!fn) {
      fn = this.#wasm?.compile(kernel) ?? this.#js(kernel);
      this.#compiled.set(kernel, fn);
    }
    fn(buffers);
  }

  #js(kernel: Kernel): Run {
    const text = renderJs(kernel);
    let fn = this.#byText.get(text);
    if (!fn) {
      fn = compileJs(text);
      this.#byText.set(text, fn);
    }
    return fn;
  }
}
