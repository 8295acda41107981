/**
 * In Node, @jax-js/jax finds WebGPU only through `globalThis.navigator.gpu` and the `GPUBufferUsage`-style
 * globals. The benchmark (not the library, which sets no globals) installs them from the `webgpu` package,
 * with the same adapter choice as wgjax (the default backend, else Dawn's OpenGL ES backend in compatibility
 * mode), so that both libraries run on one adapter and wgjax picks up the same GPU object.
 */
export async function shareWebGpuWithJaxJs(): Promise<void> {
  const g = globalThis as { navigator?: unknown };
  if (g.navigator && (g.navigator as { gpu?: unknown }).gpu) return;
  let module: { create(options: string[]): GPU; globals: object };
  try {
    module = (await import("webgpu")) as unknown as typeof module;
  } catch {
    return;
  }
  Object.assign(globalThis, module.globals);
  let gpu = module.create([]);
  const options: GPURequestAdapterOptions = {};
  if (!(await gpu.requestAdapter().catch(() => null))) {
    process.env.EGL_PLATFORM ??= "surfaceless";
    gpu = module.create(["backend=opengles"]);
    (options as { featureLevel?: string }).featureLevel = "compatibility";
  }
  const shared = {
    requestAdapter: (o?: GPURequestAdapterOptions) => gpu.requestAdapter({ ...options, ...o }),
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    getPreferredCanvasFormat: () => "rgba8unorm",
  };
  Object.defineProperty(globalThis, "navigator", { value: { gpu: shared, userAgent: `Node.js ${process.version}` }, configurable: true });
}
