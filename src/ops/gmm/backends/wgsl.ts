/**
 * The `wgsl` backend: gmm and tgmm as grouped tiled WGSL kernels on the webgpu device; see ../groupedBackend.ts.
 * On the cpu device it takes the portable path — the `cpu` backend is the one with a grouped kernel there.
 * int8, int4 and float8 codes it contracts natively, a packed word at a time (int8 with dot4I8Packed; see
 * src/lowering/groupedMatmul.ts).
 */
import { groupedKernelBackend } from "../groupedBackend.js";

export const wgslBackend = groupedKernelBackend("wgsl", "webgpu", ["int8", "int4", "float8_e4m3fn", "float8_e5m2"]);
