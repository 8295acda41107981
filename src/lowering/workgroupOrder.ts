/**
 * The order in which a WebGPU kernel's workgroups take their tiles, for kernels whose tiles do unequal work (the
 * grouped products: a row tile across many small groups is visited once per group; a large group's tgmm blocks
 * contract many rows). Software adapters split a dispatch into one contiguous run of workgroups per CPU thread
 * (Mesa's llvmpipe gives each thread `count / threads` of them), so work clustered in neighbouring tiles lands on
 * one thread while the others wait. Taking the tiles in bit-reversed workgroup order spreads every neighbourhood
 * evenly over the runs, for any power-of-two number of threads; hardware schedulers hand out workgroups as they
 * free up and lose nothing by it (invocations of one workgroup keep neighbouring tiles). Measured on llvmpipe here
 * (2 threads), gmm 1024×512×1024 with g = 64: 63 one-row groups at the start ran in 1494 ms, the same groups in
 * the middle in 1161 ms, balanced groups in 786 ms.
 */
import { type Expr, type Stmt, binary, c, gid, v } from "./kernelIr.js";
import { WORKGROUP_SIZE } from "./wgsl.js";

export interface WorkgroupOrder {
  /** The grid to dispatch: the workgroup count rounded up to a power of two. */
  readonly grid: number;
  /** Statements binding the invocation's index in tile order. */
  readonly stmts: Stmt[];
  /** The invocation's index in [0, grid of the tiles), in place of `gid`; past it for the padding invocations. */
  readonly index: Expr;
  /** Whether the invocation has a tile (false for the padding); undefined when all have one. */
  readonly valid?: Expr;
}

const i32 = (x: number): Expr => c(x, "i32");

/** Invocations of a grid of `grid` taking their tiles in bit-reversed workgroup order (names prefixed by `name`). */
export function spreadWorkgroups(name: string, grid: number): WorkgroupOrder {
  const workgroups = Math.ceil(grid / WORKGROUP_SIZE);
  const bits = Math.ceil(Math.log2(Math.max(1, workgroups)));
  if (bits === 0) return { grid, stmts: [], index: gid };
  const [w, rev, bit, at] = [`${name}w`, `${name}rev`, `${name}bit`, `${name}at`];
  const [wV, revV, bitV] = [v(w, "i32"), v(rev, "i32"), v(bit, "i32")];
  const index = v(at, "i32");
  return {
    grid: 2 ** bits * WORKGROUP_SIZE,
    stmts: [
      { k: "let", name: w, value: binary("div", gid, i32(WORKGROUP_SIZE)) },
      { k: "declare", name: rev, init: i32(0) },
      { k: "for", name: bit, start: i32(0), end: i32(bits), body: [{ k: "assign", name: rev, value: binary("or", binary("shl", revV, i32(1)), binary("and", binary("shr", wV, bitV), i32(1))) }] },
      { k: "let", name: at, value: binary("add", binary("mul", revV, i32(WORKGROUP_SIZE)), binary("rem", gid, i32(WORKGROUP_SIZE))) },
    ],
    index,
    valid: binary("lt", index, i32(grid)),
  };
}
