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

/** The flat row-major position of `coords` in `shape`. */
export function ravelExpr(coords: readonly Expr[], shape: readonly number[]): Expr {
  let flat: Expr = c(0, "i32");
  let stride = 1;
  let first = true;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) {
      const term = stride === 1 ? coords[d]! : binary("mul", coords[d]!, c(stride, "i32"));
      flat = first ? term : binary("add", term, flat);
      first = false;
    }
    stride *= shape[d]!;
  }
  return flat;
}
