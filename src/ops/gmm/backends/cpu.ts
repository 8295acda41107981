/**
 * The `cpu` backend: gmm and tgmm as grouped tiled kernels on the cpu device (wasm SIMD, or JavaScript); see
 * ../groupedBackend.ts. On the webgpu device it takes the portable path — the `wgsl` backend is the one with a
 * grouped kernel there.
 */
import { groupedKernelBackend } from "../groupedBackend.js";

export const cpuBackend = groupedKernelBackend("cpu", "cpu");
