/**
 * The `ragged-dot` backend: gmm and tgmm written with generic lax operations only (the way
 * `jax.lax.ragged_dot` falls back), so it runs wherever lax runs — the interpreter and both kernel devices.
 */
import type { GmmBackend } from "../backend.js";
import { gmmByGroups, tgmmByGroups } from "../decomposition.js";

export const raggedDotBackend: GmmBackend = {
  name: "ragged-dot",
  gmm: gmmByGroups,
  tgmm: tgmmByGroups,
};
