/**
 * Headless Chromium for the browser tests: Debian's package (never a browser a tool downloads), with WebGPU on
 * its SwiftShader adapter (../shared/webgpu-linux.md). WebGPU needs a secure context: pages load from 127.0.0.1.
 */
export const CHROMIUM = process.env.WGJAX_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--use-webgpu-adapter=swiftshader",
];
