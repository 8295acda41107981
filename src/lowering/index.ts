/** Index arithmetic on kernel IR expressions: coordinates of flat positions and back, under shapes. */
import { type Expr, binary, c } from "./kernelIr.js";

/** Coordinates of the flat row-major position `flat` in `shape`. */
export function unravelExpr(flat: Expr, shape: readonly number[]): Expr[] {
  const coords: Expr[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    coords[d] = d === 0 ? rest : n === 1 ? c(0, "i32") : binary("rem", rest, c(n, "i32"));
    if (d > 0 && n !== 1) rest = binary("div", rest, c(n, "i32"));
  }
  return coords;
}

const same = (a: Expr | undefined, b: Expr): boolean => a !== undefined && JSON.stringify(a) === JSON.stringify(b);
const byConst = (e: Expr, op: "div" | "rem"): { x: Expr; n: number } | undefined => (e.k === "binary" && e.op === op && e.b.k === "const" ? { x: e.a, n: e.b.value } : undefined);

/** `e` as x / n for constants whose product is n (as unravelling nests them), or undefined. */
function quotient(e: Expr): { x: Expr; n: number } | undefined {
  const outer = byConst(e, "div");
  if (!outer) return undefined;
  const inner = quotient(outer.x);
  return inner ? { x: inner.x, n: inner.n * outer.n } : outer;
}

/**
 * `coord * stride + inner` where that undoes an unravelling: with `inner` = x % stride, a coordinate x / stride
 * gives x, and (x / stride) % n gives x % (stride·n) (truncating division: both hold for every integer x).
 */
function merge(coord: Expr, stride: number, inner: Expr): Expr {
  const rest = byConst(inner, "rem");
  const isQuotient = (e: Expr): boolean => {
    const q = quotient(e);
    return q !== undefined && q.n === stride && same(q.x, rest!.x);
  };
  if (rest?.n === stride) {
    if (isQuotient(coord)) return rest.x;
    const wrapped = byConst(coord, "rem");
    if (wrapped && isQuotient(wrapped.x)) return binary("rem", rest.x, c(stride * wrapped.n, "i32"));
  }
  return binary("add", binary("mul", coord, c(stride, "i32")), inner);
}

/** The flat row-major position of `coords` in `shape` (an unravelled position gives back its flat expression). */
export function ravelExpr(coords: readonly Expr[], shape: readonly number[]): Expr {
  let flat: Expr = c(0, "i32");
  let stride = 1;
  let first = true;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) {
      flat = first ? coords[d]! : merge(coords[d]!, stride, flat);
      first = false;
    }
    stride *= shape[d]!;
  }
  return flat;
}
