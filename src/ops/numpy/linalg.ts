/** Products: `matmul` (batched, numpy broadcasting), `dot`, `vdot`, `outer`, `einsum` (one or two operands). */
import type { Array, ArrayLike } from "../../core/array.js";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors.js";
import { broadcastShapes } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { broadcastTo, promoteDTypes } from "./promote.js";

/** `matmul(a, b)` with numpy semantics: 1-D operands gain and then lose a unit axis; batch axes broadcast. */
export function matmul(x: ArrayLike, y: ArrayLike): Array {
  let [a, b] = promoteDTypes("matmul", x, y) as [Array, Array];
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError("matmul: operands must not be scalars (use multiply)");
  const aVector = a.ndim === 1;
  const bVector = b.ndim === 1;
  if (aVector) a = lax.expandDims(a, [0]);
  if (bVector) b = lax.expandDims(b, [1]);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new ShapeError(`matmul: contracting dimensions differ: x ${fmtShape(a.shape)} has ${k} columns, y ${fmtShape(b.shape)} has ${k2} rows`);
  }
  const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)], ["x batch axes", "y batch axes"]);
  a = broadcastTo(a, [...batch, m, k]);
  b = broadcastTo(b, [...batch, k, n]);
  const batchAxes = batch.map((_, i) => i);
  let out = lax.dotGeneral(a, b, [[[batch.length + 1], [batch.length]], [batchAxes, batchAxes]], { preferredElementType: a.dtype });
  if (aVector) out = lax.squeeze(out, [batch.length]);
  if (bVector) out = lax.squeeze(out, [out.ndim - 1]);
  return out;
}

/** `dot(a, b)`: products of scalars, vectors and matrices; for N-D, contracts a's last axis with b's second-to-last. */
export function dot(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteDTypes("dot", x, y) as [Array, Array];
  if (a.ndim === 0 || b.ndim === 0) return lax.mul(a, b);
  const bAxis = b.ndim === 1 ? 0 : b.ndim - 2;
  if (a.shape[a.ndim - 1] !== b.shape[bAxis]) {
    throw new ShapeError(`dot: shapes x ${fmtShape(a.shape)} and y ${fmtShape(b.shape)} are not aligned: ${a.shape[a.ndim - 1]} (x axis ${a.ndim - 1}) != ${b.shape[bAxis]} (y axis ${bAxis})`);
  }
  return lax.dotGeneral(a, b, [[[a.ndim - 1], [bAxis]], [[], []]], { preferredElementType: a.dtype });
}

export function vdot(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteDTypes("vdot", x, y) as [Array, Array];
  return dot(lax.reshape(a, [a.size]), lax.reshape(b, [b.size]));
}

export function outer(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteDTypes("outer", x, y) as [Array, Array];
  return lax.mul(lax.reshape(a, [a.size, 1]), lax.reshape(b, [1, b.size]));
}

/**
 * `einsum(subscripts, a)` or `einsum(subscripts, a, b)` with explicit (`->`) or implicit output.
 * Two operands become one dot_general (batch = letters in both inputs and the output, contracting =
 * letters in both inputs only); letters in one input only and absent from the output are summed first.
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Array {
  if (operands.length < 1 || operands.length > 2) throw new ArgumentError(`einsum: one or two operands are supported, got ${operands.length}`);
  const spec = subscripts.replace(/\s+/g, "");
  const [lhs, explicit] = spec.split("->") as [string, string | undefined];
  const inputs = lhs.split(",");
  if (inputs.length !== operands.length) throw new ArgumentError(`einsum: "${subscripts}" names ${inputs.length} operands, got ${operands.length}`);
  const arrays = promoteDTypes("einsum", ...operands);
  inputs.forEach((letters, i) => {
    if (!/^[a-zA-Z]*$/.test(letters)) throw new ArgumentError(`einsum: invalid subscripts "${letters}" (letters only; ellipsis is not supported)`);
    if (letters.length !== arrays[i]!.ndim) throw new ShapeError(`einsum: operand ${i} has rank ${arrays[i]!.ndim} but subscripts "${letters}" name ${letters.length} axes`);
    if (new Set(letters).size !== letters.length) throw new ArgumentError(`einsum: repeated subscript in "${letters}" (diagonals are not supported)`);
  });
  const counts = new Map<string, number>();
  for (const c of inputs.join("")) counts.set(c, (counts.get(c) ?? 0) + 1);
  const output = explicit ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join("");
  for (const c of output) if (!counts.has(c)) throw new ArgumentError(`einsum: output subscript '${c}' does not appear in the inputs`);

  // Sum out letters that appear in one operand only and not in the output.
  const reduced = arrays.map((a, i) => {
    const letters = inputs[i]!;
    const axes = [...letters].map((c, ax) => (!output.includes(c) && counts.get(c) === 1 ? ax : -1)).filter((ax) => ax >= 0);
    inputs[i] = [...letters].filter((_, ax) => !axes.includes(ax)).join("");
    return axes.length > 0 ? lax.reduceSum(a, axes) : a;
  });
  let result: Array;
  let letters: string;
  if (reduced.length === 1) {
    result = reduced[0]!;
    letters = inputs[0]!;
  } else {
    const [la, lb] = [inputs[0]!, inputs[1]!];
    const shared = [...la].filter((c) => lb.includes(c));
    const batch = shared.filter((c) => output.includes(c));
    const contract = shared.filter((c) => !output.includes(c));
    for (const c of shared) {
      if (reduced[0]!.shape[la.indexOf(c)] !== reduced[1]!.shape[lb.indexOf(c)]) {
        throw new ShapeError(`einsum: subscript '${c}' has size ${reduced[0]!.shape[la.indexOf(c)]} in operand 0 and ${reduced[1]!.shape[lb.indexOf(c)]} in operand 1`);
      }
    }
    result = lax.dotGeneral(reduced[0]!, reduced[1]!, [
      [contract.map((c) => la.indexOf(c)), contract.map((c) => lb.indexOf(c))],
      [batch.map((c) => la.indexOf(c)), batch.map((c) => lb.indexOf(c))],
    ], { preferredElementType: reduced[0]!.dtype });
    letters = [...batch, ...[...la].filter((c) => !shared.includes(c)), ...[...lb].filter((c) => !shared.includes(c))].join("");
  }
  const perm = [...output].map((c) => letters.indexOf(c));
  return perm.every((p, i) => p === i) && perm.length === letters.length ? result : lax.transpose(result, perm);
}
