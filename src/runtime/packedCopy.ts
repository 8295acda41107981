/**
 * Word-level kernels the WebGPU executable records itself. Copies of packed narrow elements (2, 4 or 8 to a u32 word) between buffers at element offsets that
 * need not fall on word boundaries: a row of a scan's xs or ys. Each invocation assembles one whole word, so no
 * two invocations write the same word. The offsets come from a small i32 buffer, so one pipeline serves every
 * row of a scan. Bindings: 0 the source words, 1 the offsets [source, destination], 2 the destination words.
 */
import { type Expr, type Kernel, type Stmt, binary, c, cast, gid, load, select } from "../lowering/kernelIr.js";

const i32 = (value: number): Expr => c(value, "i32");
const u32 = (value: number): Expr => c(value, "u32");

/** Element `element` (an i32 expression) of the packed words in `buffer`, in the low bits of a u32. */
function field(buffer: number, element: Expr, bits: number): Expr {
  const per = 32 / bits;
  const word = load(buffer, binary("div", element, i32(per)), "u32");
  const shift = cast(binary("mul", binary("rem", element, i32(per)), i32(bits)), "u32");
  return binary("and", binary("shr", word, shift), u32(2 ** bits - 1));
}

/** A word from `per` fields (the j-th shifted to bits j·bits). */
function assemble(fields: (j: number) => Expr, bits: number): Expr {
  let word: Expr = u32(0);
  for (let j = 0; j < 32 / bits; j++) word = binary("or", word, binary("shl", fields(j), u32(j * bits)));
  return word;
}

const BUFFERS: Kernel["buffers"] = [
  { type: "u32", access: "read" },
  { type: "i32", access: "read" },
  { type: "u32", access: "read_write" },
];

const slices = new Map<string, Kernel>();

/** Copies `length` elements of `bits` bits starting at the source offset into a fresh buffer (from its start). */
export function packedSliceKernel(bits: number, length: number): Kernel {
  const key = `${bits}:${length}`;
  let kernel = slices.get(key);
  if (!kernel) {
    const per = 32 / bits;
    const from = load(1, i32(0), "i32");
    const element = (j: number): Expr => binary("add", binary("mul", gid, i32(per)), i32(j));
    const value = assemble((j) => select(binary("lt", element(j), i32(length)), field(0, binary("add", from, element(j)), bits), u32(0)), bits);
    kernel = { name: `packed_slice_${bits}`, grid: Math.ceil(length / per), buffers: BUFFERS, body: [{ k: "store", buffer: 2, index: gid, value }] };
    slices.set(key, kernel);
  }
  return kernel;
}

const writes = new Map<string, Kernel>();

/**
 * Writes `length` elements of `bits` bits from the start of the source into the destination (of `words`
 * words) at the destination offset, keeping the other elements of the words it touches.
 */
export function packedWriteKernel(bits: number, length: number, words: number): Kernel {
  const key = `${bits}:${length}:${words}`;
  let kernel = writes.get(key);
  if (!kernel) {
    const per = 32 / bits;
    const to = load(1, i32(1), "i32");
    const word = binary("add", binary("div", to, i32(per)), gid);
    const element = (j: number): Expr => binary("add", binary("mul", word, i32(per)), i32(j));
    const inside = (e: Expr): Expr => binary("and", binary("ge", e, to), binary("lt", e, binary("add", to, i32(length))));
    const fromSource = (j: number): Expr => field(0, binary("max", binary("sub", element(j), to), i32(0)), bits);
    const value = assemble((j) => select(inside(element(j)), fromSource(j), field(2, element(j), bits)), bits);
    const body: Stmt[] = [{ k: "if", cond: binary("lt", word, i32(words)), then: [{ k: "store", buffer: 2, index: word, value }] }];
    kernel = { name: `packed_write_${bits}`, grid: Math.ceil(length / per) + 1, buffers: BUFFERS, body };
    writes.set(key, kernel);
  }
  return kernel;
}

const choosers = new Map<number, Kernel>();

/**
 * Word by word, `a` where the scalar predicate is nonzero, else `b` (a while loop's speculative iterations).
 * Bindings: 0 the predicate, 1 `a`, 2 `b`, 3 the result; any element type, as raw 32-bit words.
 */
export function chooseKernel(words: number): Kernel {
  let kernel = choosers.get(words);
  if (!kernel) {
    const word = (buffer: number): Expr => load(buffer, gid, "u32");
    const value = select(binary("ne", load(0, i32(0), "u32"), u32(0)), word(1), word(2));
    kernel = {
      name: "choose",
      grid: words,
      buffers: [{ type: "u32", access: "read" }, { type: "u32", access: "read" }, { type: "u32", access: "read" }, { type: "u32", access: "read_write" }],
      body: [{ k: "store", buffer: 3, index: gid, value }],
    };
    choosers.set(words, kernel);
  }
  return kernel;
}
