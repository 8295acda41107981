/** The kernel IR clean-ups before rendering: common subexpressions bound once, loop invariants hoisted. */
import { describe, expect, it } from "vitest";
import { hoistInvariants } from "../../src/lowering/hoist.js";
import { type Expr, type Stmt, binary, c, gid, load, select, unary, v } from "../../src/lowering/kernelIr.js";

const loads = (body: readonly Stmt[]): number => JSON.stringify(body).split('"k":"load"').length - 1;

describe("hoistInvariants", () => {
  it("loads a value a statement reads twice once", () => {
    const x = load(0, gid, "f32");
    const body = hoistInvariants([{ k: "store", buffer: 1, index: gid, value: unary("exp", binary("mul", binary("add", x, c(1)), x)) }]);
    expect(loads(body)).toBe(1);
    expect(body[0]).toEqual({ k: "let", name: "cse0", value: x });
  });

  it("does not evaluate a load only a select's arm reads unconditionally", () => {
    const guarded: Expr = load(0, binary("sub", gid, c(1, "i32")), "f32");
    const value = select(binary("gt", gid, c(0, "i32")), binary("add", guarded, guarded), c(0));
    const body = hoistInvariants([{ k: "store", buffer: 1, index: gid, value }]);
    expect(body).toHaveLength(1);
    expect(loads(body)).toBe(2);
  });

  it("binds a load a select's condition reads and an arm reads again", () => {
    const x = load(0, gid, "f32");
    const body = hoistInvariants([{ k: "store", buffer: 1, index: gid, value: select(binary("gt", x, c(0)), unary("sqrt", x), c(0)) }]);
    expect(loads(body)).toBe(1);
  });

  it("moves arithmetic that does not depend on the loop out of it", () => {
    const row = binary("mul", v("r", "i32"), c(64, "i32"));
    const body = hoistInvariants([{ k: "for", name: "k", start: c(0, "i32"), end: c(8, "i32"), body: [{ k: "assign", name: "acc", value: load(0, binary("add", row, v("k", "i32")), "f32") }] }]);
    expect(body[0]).toEqual({ k: "let", name: "inv0", value: row });
  });
});
