/**
 * The WebAssembly binary format, as much as the wasm renderer needs: LEB128 numbers, opcodes, a function body
 * builder, and a module of one memory import, function imports and exported functions.
 */

export const VAL = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof VAL)[keyof typeof VAL];

/** Appends `bytes` to `out` (without spreading: bodies can exceed an engine's argument limit). */
function append(out: number[], bytes: ArrayLike<number>): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

export const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Load8s: 0x2c, i32Load8u: 0x2d, i32Load16s: 0x2e, i32Load16u: 0x2f, i32Store: 0x36, f32Store: 0x38, i32Store8: 0x3a, i32Store16: 0x3b,
  i32Const: 0x41, i64Const: 0x42, f32Const: 0x43, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b, i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  f32Eq: 0x5b, f32Ne: 0x5c, f32Lt: 0x5d, f32Gt: 0x5e, f32Le: 0x5f, f32Ge: 0x60,
  f64Ne: 0x62, f64Lt: 0x63, f64Gt: 0x64,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivS: 0x6d, i32DivU: 0x6e, i32RemS: 0x6f, i32RemU: 0x70,
  i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76,
  i64Add: 0x7c, i64Shl: 0x86, i64ShrU: 0x88,
  f32Abs: 0x8b, f32Neg: 0x8c, f32Ceil: 0x8d, f32Floor: 0x8e, f32Nearest: 0x90, f32Sqrt: 0x91,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Div: 0x95, f32Min: 0x96, f32Max: 0x97,
  f64Abs: 0x99, f64Nearest: 0x9e, f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, f64Min: 0xa4, f64Max: 0xa5, f64Copysign: 0xa6,
  i32WrapI64: 0xa7, i64ExtendI32S: 0xac,
  i64TruncF64S: 0xb0, f32ConvertI32S: 0xb2, f32ConvertI32U: 0xb3, f32DemoteF64: 0xb6, f64ConvertI32S: 0xb7, f64ConvertI32U: 0xb8, f64PromoteF32: 0xbb,
  i32ReinterpretF32: 0xbc, i64ReinterpretF64: 0xbd, f32ReinterpretI32: 0xbe, f64ReinterpretI64: 0xbf,
} as const;

/** Saturating truncations (prefix 0xfc). */
export const SAT = { i32TruncSatF32S: 0, i32TruncSatF32U: 1, i64TruncSatF64S: 6 } as const;

/** SIMD opcodes (prefix 0xfd). */
export const SIMD = {
  v128Load: 0x00, v128Load32Splat: 0x09, v128Store: 0x0b, v128Const: 0x0c, i8x16Shuffle: 0x0d, i32x4Splat: 0x11, i64x2Splat: 0x12, f32x4Splat: 0x13, f64x2Splat: 0x14,
  i32x4ExtractLane: 0x1b, i32x4ReplaceLane: 0x1c, f32x4ExtractLane: 0x1f, f32x4ReplaceLane: 0x20,
  i32x4Eq: 0x37, i32x4Ne: 0x38, i32x4LtS: 0x39, i32x4LtU: 0x3a, i32x4GtS: 0x3b, i32x4GtU: 0x3c, i32x4LeS: 0x3d, i32x4LeU: 0x3e, i32x4GeS: 0x3f, i32x4GeU: 0x40,
  f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4Ge: 0x46,
  v128Not: 0x4d, v128And: 0x4e, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52,
  f32x4DemoteF64x2Zero: 0x5e, f64x2PromoteLowF32x4: 0x5f,
  f32x4Ceil: 0x67, f32x4Floor: 0x68, f32x4Nearest: 0x6a, f64x2Nearest: 0x94,
  i32x4Abs: 0xa0, i32x4Neg: 0xa1, i32x4Add: 0xae, i32x4Sub: 0xb1, i32x4Mul: 0xb5, i32x4MinS: 0xb6, i32x4MinU: 0xb7, i32x4MaxS: 0xb8, i32x4MaxU: 0xb9,
  i64x2ExtendLowI32x4S: 0xc7, i64x2Shl: 0xcb, i64x2Add: 0xce,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7, f32x4Min: 0xe8, f32x4Max: 0xe9,
  f64x2Add: 0xf0, f64x2Mul: 0xf2, f64x2Min: 0xf4, f64x2Max: 0xf5,
  i32x4TruncSatF32x4S: 0xf8, i32x4TruncSatF32x4U: 0xf9, f32x4ConvertI32x4S: 0xfa, f32x4ConvertI32x4U: 0xfb, i32x4TruncSatF64x2SZero: 0xfc,
} as const;

export function unsignedLeb(value: number, out: number[]): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

export function signedLeb(value: number | bigint, out: number[]): void {
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** Instructions of one function body, with its locals beyond the parameters. */
export class FunctionBody {
  readonly code: number[] = [];
  readonly locals: ValType[] = [];

  constructor(readonly params: readonly ValType[]) {}

  /** A new local of `type`; its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  /** An opcode with a local, function or label index. */
  index(op: number, i: number): this {
    this.code.push(op);
    unsignedLeb(i, this.code);
    return this;
  }
  i32(value: number): this {
    this.code.push(OP.i32Const);
    signedLeb(value | 0, this.code);
    return this;
  }
  i64(value: bigint): this {
    this.code.push(OP.i64Const);
    signedLeb(value, this.code);
    return this;
  }
  f32(value: number): this {
    this.code.push(OP.f32Const);
    append(this.code, new Uint8Array(new Float32Array([value]).buffer));
    return this;
  }
  f64(value: number): this {
    this.code.push(OP.f64Const);
    append(this.code, new Uint8Array(new Float64Array([value]).buffer));
    return this;
  }
  /** A load or store with its alignment (log2 bytes) and offset. */
  memory(op: number, align: number, offset = 0): this {
    this.code.push(op, align);
    unsignedLeb(offset, this.code);
    return this;
  }
  sat(op: number): this {
    this.code.push(0xfc);
    unsignedLeb(op, this.code);
    return this;
  }
  /** A SIMD load or store with its alignment (log2 bytes) and offset. */
  simdMemory(op: number, align: number, offset: number): this {
    this.simd(op, align);
    unsignedLeb(offset, this.code);
    return this;
  }
  simd(op: number, ...immediates: number[]): this {
    this.code.push(0xfd);
    unsignedLeb(op, this.code);
    this.code.push(...immediates);
    return this;
  }

  encode(): number[] {
    const runs: [ValType, number][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[0] === t) last[1]++;
      else runs.push([t, 1]);
    }
    const out: number[] = [];
    unsignedLeb(runs.length, out);
    for (const [t, n] of runs) {
      unsignedLeb(n, out);
      out.push(t);
    }
    append(out, this.code);
    out.push(OP.end);
    const sized: number[] = [];
    unsignedLeb(out.length, sized);
    append(sized, out);
    return sized;
  }
}

export interface FunctionType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

const name = (s: string, out: number[]): void => {
  const bytes = new TextEncoder().encode(s);
  unsignedLeb(bytes.length, out);
  append(out, bytes);
};

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  unsignedLeb(content.length, out);
  append(out, content);
}

/**
 * A module importing `env.memory` and the functions `imports` (module "m"), defining `functions` (indices after
 * the imports), exporting each under its name.
 */
export function encodeModule(
  imports: readonly { name: string; type: FunctionType }[],
  functions: readonly { name: string; type: FunctionType; body: FunctionBody; exported: boolean }[],
): Uint8Array {
  const types: string[] = [];
  const typeIndex = (t: FunctionType): number => {
    const key = `${t.params.join(",")}>${t.results.join(",")}`;
    const i = types.indexOf(key);
    return i >= 0 ? i : types.push(key) - 1;
  };
  const importIdx = imports.map((f) => typeIndex(f.type));
  const funcIdx = functions.map((f) => typeIndex(f.type));
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const typeSec: number[] = [];
  unsignedLeb(types.length, typeSec);
  for (const key of types) {
    const [params, results] = key.split(">").map((s) => (s ? s.split(",").map(Number) : []));
    typeSec.push(0x60);
    unsignedLeb(params!.length, typeSec);
    append(typeSec, params!);
    unsignedLeb(results!.length, typeSec);
    append(typeSec, results!);
  }
  section(1, typeSec, out);
  const importSec: number[] = [];
  unsignedLeb(imports.length + 1, importSec);
  name("env", importSec);
  name("memory", importSec);
  importSec.push(0x02, 0x00, 0x01);
  imports.forEach((f, i) => {
    name("m", importSec);
    name(f.name, importSec);
    importSec.push(0x00);
    unsignedLeb(importIdx[i]!, importSec);
  });
  section(2, importSec, out);
  const funcSec: number[] = [];
  unsignedLeb(functions.length, funcSec);
  for (const i of funcIdx) unsignedLeb(i, funcSec);
  section(3, funcSec, out);
  const exported = functions.map((f, i) => ({ f, index: imports.length + i })).filter(({ f }) => f.exported);
  const exportSec: number[] = [];
  unsignedLeb(exported.length, exportSec);
  for (const { f, index } of exported) {
    name(f.name, exportSec);
    exportSec.push(0x00);
    unsignedLeb(index, exportSec);
  }
  section(7, exportSec, out);
  const codeSec: number[] = [];
  unsignedLeb(functions.length, codeSec);
  for (const f of functions) append(codeSec, f.body.encode());
  section(10, codeSec, out);
  return new Uint8Array(out);
}
