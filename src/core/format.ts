/** numpy-like printing of array data: `Array([[1., 2.5],\n       [3., 4.]], dtype=float32)`. */
import { type DType, isFloat } from "./dtype.js";
import type { HostData } from "./hostData.js";

function formatElement(v: number, dtype: DType): string {
  if (dtype === "bool") return v ? "True" : "False";
  if (!isFloat(dtype)) return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v < 0 || Object.is(v, -0) ? "-" : ""}${Math.abs(v)}.`;
  const short = Number(v.toPrecision(8));
  return Math.abs(short) >= 1e-4 && Math.abs(short) < 1e16 ? String(short) : short.toExponential();
}

export function formatArray(data: HostData, shape: readonly number[], dtype: DType): string {
  const cells = globalThis.Array.from(data, (v) => formatElement(v, dtype));
  const width = Math.max(0, ...cells.map((c) => c.length));
  const prefix = "Array(";
  const render = (axis: number, offset: number, count: number): string => {
    if (axis === shape.length) return cells[offset]!.padStart(width);
    const n = shape[axis]!;
    const inner = n === 0 ? 0 : count / n;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(render(axis + 1, offset + i * inner, inner));
    const newlines = "\n".repeat(Math.max(1, shape.length - axis - 1));
    const separator = axis === shape.length - 1 ? ", " : `,${newlines}${" ".repeat(prefix.length + axis + 1)}`;
    return `[${parts.join(separator)}]`;
  };
  const body = render(0, 0, data.length);
  return `${prefix}${body}, dtype=${dtype})`;
}
