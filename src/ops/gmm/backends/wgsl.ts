/**
 * The `wgsl` backend: gmm and tgmm as grouped tiled WGSL kernels on the webgpu device; see ../groupedBackend.ts.
 * On the cpu device it takes the portable path — the `cpu` backend is the one with a grouped kernel there.
 */
import { groupedKernelBackend } from "../groupedBackend.js";

export const wgslBackend = groupedKernelBackend("wgsl", "webgpu");
