/**
 * Host data of narrow dtypes in the packed device layout (`BufferDecl` in src/lowering/kernelIr.ts): 32/bits
 * elements per u32 word, element i at bits (i mod n)·bits of word i / n. Floats become their codes (every NaN the
 * format's positive NaN, as the kernels store it); ints their two's-complement bits.
 */
import { dtypeInfo, isSignedInt } from "../core/dtype.js";
import { decodeFloat, encodeFloat } from "../core/floatFormats.js";
import { type HostData, allocHost, floatFormatOf } from "../core/hostData.js";
import type { NarrowDType } from "../lowering/kernelIr.js";
import { packedWords } from "../lowering/packing.js";

/** Every value of a narrow float format by code (2^bits of them), built on first use. */
const decodeTables = new Map<NarrowDType, Float32Array>();

function decodeTable(element: NarrowDType): Float32Array {
  let table = decodeTables.get(element);
  if (!table) {
    const format = floatFormatOf(element)!;
    table = Float32Array.from({ length: 2 ** dtypeInfo(element).bits }, (_, code) => decodeFloat(code, format));
    decodeTables.set(element, table);
  }
  return table;
}

export function packHost(data: HostData, element: NarrowDType): Uint32Array {
  const bits = dtypeInfo(element).bits;
  const per = 32 / bits;
  const mask = 2 ** bits - 1;
  const format = floatFormatOf(element);
  const words = new Uint32Array(packedWords(element, data.length));
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    const code = !format ? x & mask : Number.isNaN(x) ? format.nanCode : encodeFloat(x, format);
    words[Math.floor(i / per)]! |= code << ((i % per) * bits);
  }
  return words;
}

export function unpackHost(words: Uint32Array, element: NarrowDType, length: number): HostData {
  const bits = dtypeInfo(element).bits;
  const per = 32 / bits;
  const mask = 2 ** bits - 1;
  const table = floatFormatOf(element) ? decodeTable(element) : undefined;
  const signed = isSignedInt(element);
  const out = allocHost(element, length);
  for (let i = 0; i < length; i++) {
    const code = (words[Math.floor(i / per)]! >>> ((i % per) * bits)) & mask;
    out[i] = table ? table[code]! : signed && code > mask >> 1 ? code - mask - 1 : code;
  }
  return out;
}
