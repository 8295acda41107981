/** The `reference` backend: the gmm/tgmm primitives' reference implementation, on the interpreter. */
import type { GmmBackend } from "../backend.js";
import { REFERENCE_BACKEND } from "../primitives.js";
import { bindGmm, bindTgmm } from "../rules.js";

export const referenceBackend: GmmBackend = {
  name: REFERENCE_BACKEND,
  gmm: (lhs, rhs, groupSizes, call) => bindGmm(lhs, rhs, groupSizes, call, REFERENCE_BACKEND),
  tgmm: (lhs, rhs, groupSizes, call) => bindTgmm(lhs, rhs, groupSizes, call, REFERENCE_BACKEND),
};
