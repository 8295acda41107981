/**
 * Renders kernel IR as a WGSL compute shader. Buffers are `array<T>` storage bindings; bool buffers are
 * stored as u32 (bool is not host-shareable in WGSL). The grid may exceed one dispatch dimension, so
 * invocations are numbered across x and y. Elementwise kernels (stores at `gid` only) run four elements per
 * invocation: the buffers read and written only at `gid` bind as `array<vec4<T>>`, each read once per
 * invocation, the body runs once per lane, and the stores write whole vec4s but in the last, partial one. (On
 * Mesa's llvmpipe every storage access costs a loop over lanes, whatever its width: a quarter of the accesses
 * is nearly twice the speed.)
 */
import { helpersFor } from "./wgslMath.js";
import { liftShapeConstants, paramDeclarations } from "./wgslParams.js";
import { narrowHelper, narrowHelpersFor, packedLoad, packedLoader } from "./wgslPacking.js";
import { type BinaryOp, type BufferDecl, type Expr, type Kernel, type ScalarType, type Stmt, type UnaryOp, boundBuffers, expandRank1 } from "./kernelIr.js";

export const WORKGROUP_SIZE = 64;
export const MAX_DISPATCH = 65535;

const storageType = (b: BufferDecl): string => (b.type === "bool" || b.packed ? "u32" : b.type);

function literal(value: number, type: ScalarType): string {
  switch (type) {
    case "bool":
      return value ? "true" : "false";
    case "i32":
      return value === -2147483648 ? "i32(-2147483647 - 1)" : `${value}i`;
    case "u32":
      return `${value >>> 0}u`;
    case "f32": {
      // Non-finite constants would be rejected by WGSL's constant evaluation: add a runtime zero.
      if (Number.isNaN(value)) return "bitcast<f32>(0x7fc00000u + runtime_zero)";
      if (value === Infinity) return "bitcast<f32>(0x7f800000u + runtime_zero)";
      if (value === -Infinity) return "bitcast<f32>(0xff800000u + runtime_zero)";
      const f = Math.fround(value);
      const text = Number.isInteger(f) && Math.abs(f) < 1e21 ? `${f}.0` : f.toExponential();
      return Object.is(f, -0) ? "-0.0" : `${text}f`;
    }
  }
}

const UNARY: Record<UnaryOp, (a: string, t: ScalarType) => string> = {
  neg: (a, t) => (t === "u32" ? `(0u - ${a})` : `(- ${a})`),
  not: (a, t) => (t === "bool" ? `(!${a})` : `(~${a})`),
  exp: (a) => `exp(${a})`,
  log: (a) => `log(${a})`,
  log1p: (a) => `wg_log1p(${a})`,
  expm1: (a) => `wg_expm1(${a})`,
  sin: (a) => `sin(${a})`,
  cos: (a) => `cos(${a})`,
  tan: (a) => `tan(${a})`,
  asin: (a) => `wg_asin(${a})`,
  acos: (a) => `wg_acos(${a})`,
  atan: (a) => `atan(${a})`,
  sinh: (a) => `sinh(${a})`,
  cosh: (a) => `cosh(${a})`,
  tanh: (a) => `tanh(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  abs: (a) => `abs(${a})`,
  floor: (a) => `floor(${a})`,
  ceil: (a) => `ceil(${a})`,
  // WGSL's round() rounds half to even.
  round_even: (a) => `round(${a})`,
  round_away: (a) => `wg_round_away(${a})`,
  erf: (a) => `wg_erf(${a})`,
  erf_inv: (a) => `wg_erf_inv(${a})`,
};

const OPERATORS: Partial<Record<BinaryOp, string>> = { add: "+", sub: "-", mul: "*", div: "/", rem: "%", lt: "<", le: "<=", gt: ">", ge: ">=", eq: "==", ne: "!=" };

function binary(op: BinaryOp, a: string, b: string, t: ScalarType): string {
  // WGSL's integer x/0 is x and x%0 is 0; the kernel IR's are -1 and x.
  if ((op === "div" || op === "rem") && (t === "i32" || t === "u32")) return `wg_${op}_${t}(${a}, ${b})`;
  const operator = OPERATORS[op];
  if (operator) return `(${a} ${operator} ${b})`;
  switch (op) {
    case "max":
    case "min":
      return t === "f32" ? `wg_f${op}(${a}, ${b})` : `${op}(${a}, ${b})`;
    case "atan2":
      return `${op}(${a}, ${b})`;
    case "dot4i8":
      return `dot4I8Packed(${a}, ${b})`;
    case "pow":
      return `wg_pow(${a}, ${b})`;
    case "xor":
      return t === "bool" ? `(${a} != ${b})` : `(${a} ^ ${b})`;
    case "shl":
    case "shr":
      return `wg_${op}_${t}(${a}, ${b})`;
    case "sar":
      return `wg_${t === "u32" ? "shr" : "sar"}_${t}(${a}, ${b})`;
    default:
      return `(${a} ${op === "and" ? "&" : "|"} ${b})`;
  }
}

function expr(e: Expr, kernel: Kernel): string {
  switch (e.k) {
    case "const":
      return literal(e.value, e.type);
    case "var":
      return e.name;
    case "load": {
      if (vec4?.loaded.has(e.buffer)) {
        const lane = `wg_l${e.buffer}.${LANES[vec4.lane]}`;
        return kernel.buffers[e.buffer]!.type === "bool" ? `(${lane} != 0u)` : lane;
      }
      if (kernel.buffers[e.buffer]!.packed) return `${packedLoad(e.buffer)}(${expr(e.index, kernel)})`;
      const raw = element(e.buffer, `u32(${expr(e.index, kernel)})`);
      return kernel.buffers[e.buffer]!.type === "bool" ? `(${raw} != 0u)` : raw;
    }
    case "unary":
      return UNARY[e.op](expr(e.a, kernel), e.type);
    case "binary":
      return binary(e.op, expr(e.a, kernel), expr(e.b, kernel), e.a.type);
    case "select":
      return `select(${expr(e.b, kernel)}, ${expr(e.a, kernel)}, ${expr(e.cond, kernel)})`;
    case "cast": {
      const inner = expr(e.a, kernel);
      if (e.type === "bool") return `(${inner} != ${literal(0, e.a.type)})`;
      if (e.a.type === "bool") return `select(${literal(0, e.type)}, ${literal(1, e.type)}, ${inner})`;
      return `${e.type}(${inner})`;
    }
    case "bitcast":
      return `bitcast<${e.type}>(${expr(e.a, kernel)})`;
    case "round":
    case "encode":
    case "decode":
      return `${narrowHelper(e.k, e.format)}(${expr(e.a, kernel)})`;
  }
}

function stmts(body: readonly Stmt[], kernel: Kernel, indent: string): string[] {
  return body.flatMap((s) => {
    switch (s.k) {
      case "let":
        return [`${indent}let ${s.name} = ${expr(s.value, kernel)};`];
      case "declare":
        return [`${indent}var ${s.name} = ${expr(s.init, kernel)};`];
      case "assign":
        return [`${indent}${s.name} = ${expr(s.value, kernel)};`];
      case "store": {
        const value = expr(s.value, kernel);
        const stored = kernel.buffers[s.buffer]!.type === "bool" ? `select(0u, 1u, ${value})` : value;
        if (vec4) return [`${indent}wg_s${s.buffer}.${LANES[vec4.lane]} = ${stored};`];
        const index = `u32(${expr(s.index, kernel)})`;
        if (chunking.counts[s.buffer]! > 1) return [`${indent}st_b${s.buffer}(${index}, ${stored});`];
        return [`${indent}b${s.buffer}[${index}] = ${stored};`];
      }
      case "for":
        return [
          `${indent}for (var ${s.name} = ${expr(s.start, kernel)}; ${s.name} < ${expr(s.end, kernel)}; ${s.name} = ${s.name} + 1i) {`,
          ...stmts(s.body, kernel, indent + "  "),
          `${indent}}`,
        ];
      case "if":
        return [
          `${indent}if (${expr(s.cond, kernel)}) {`,
          ...stmts(s.then, kernel, indent + "  "),
          ...(s.else ? [`${indent}} else {`, ...stmts(s.else, kernel, indent + "  ")] : []),
          `${indent}}`,
        ];
      case "rank1":
        return [`${indent}{`, ...stmts(expandRank1(s), kernel, indent + "  "), `${indent}}`];
      case "barrier":
        return [`${indent}workgroupBarrier();`];
    }
  });
}

/** Workgroups to dispatch in x and y for a grid of `grid` invocations in workgroups of `size`. */
export function dispatchSize(grid: number, size = WORKGROUP_SIZE): [number, number] {
  const groups = Math.max(1, Math.ceil(grid / size));
  const x = Math.min(groups, MAX_DISPATCH);
  return [x, Math.ceil(groups / x)];
}

/**
 * How the buffers bind: a buffer larger than one storage binding allows is bound as `counts[i]` consecutive
 * chunks of `words` 32-bit words each, and read and written through functions that pick the chunk.
 */
export interface Chunking {
  readonly words: number;
  readonly counts: readonly number[];
}

// Set while a kernel renders (renderWgsl is not reentrant).
let chunking: Chunking = { words: 0, counts: [] };
/** Set while a lane of a vec4 kernel renders: the buffers accessed as vec4s, and the lane. */
let vec4: (Vec4Buffers & { lane: number }) | undefined;

const LANES = ["x", "y", "z", "w"] as const;

/** The buffers of a kernel rendered four elements per invocation: those loaded as vec4s, and those stored. */
interface Vec4Buffers {
  readonly loaded: ReadonlySet<number>;
  readonly stored: ReadonlySet<number>;
}

const isGid = (e: Expr): boolean => e.k === "var" && e.name === "gid";

function loadsIn(e: Expr, into: Extract<Expr, { k: "load" }>[]): typeof into {
  if (e.k === "load") into.push(e);
  for (const key of ["a", "b", "cond", "index"] as const) {
    const child = (e as Record<string, unknown>)[key] as Expr | undefined;
    if (child) loadsIn(child, into);
  }
  return into;
}

/**
 * How a kernel renders four elements per invocation, or undefined when it does not: its body must be `let`s and
 * stores at `gid` into whole (not chunked), unpacked buffers it does not read. Buffers read only at `gid` load as
 * vec4s; others (packed, chunked, gathered) are read element by element.
 */
function vec4Buffers(kernel: Kernel, split: Chunking): Vec4Buffers | undefined {
  if (kernel.workgroupSize) return undefined;
  const stored = new Set<number>();
  const loads: Extract<Expr, { k: "load" }>[] = [];
  for (const s of kernel.body) {
    if (s.k !== "let" && (s.k !== "store" || !isGid(s.index))) return undefined;
    loadsIn(s.value, loads);
    if (s.k === "store") stored.add(s.buffer);
  }
  const whole = (i: number): boolean => !kernel.buffers[i]!.packed && split.counts[i] === 1;
  if (![...stored].every(whole) || loads.some((l) => stored.has(l.buffer))) return undefined;
  const loaded = new Set(loads.map((l) => l.buffer).filter((i) => whole(i) && loads.every((l) => l.buffer !== i || isGid(l.index))));
  return { loaded, stored };
}

/** Invocations the shader of `kernel` bound as `split` runs: a quarter of the grid when four elements each. */
export const wgslInvocations = (kernel: Kernel, split: Chunking): number => (vec4Buffers(kernel, split) ? Math.ceil(kernel.grid / 4) : kernel.grid);

/** The body of a vec4 kernel: the vec4 loads, the body once per lane, the vec4 stores (component-wise at the end). */
function vec4Body(kernel: Kernel, buffers: Vec4Buffers): string[] {
  const typeOf = (i: number): string => `vec4<${storageType(kernel.buffers[i]!)}>`;
  const lanes = LANES.flatMap((_, lane) => {
    vec4 = { ...buffers, lane };
    const body = stmts(kernel.body, kernel, "    ");
    vec4 = undefined;
    const index = /\bgid\b/.test(body.join("\n")) ? [`    let gid = i32(wg_e + ${lane}u);`] : [];
    return ["  {", ...index, ...body, "  }"];
  });
  const stores = [...buffers.stored].flatMap((i) => [
    `  if (wg_e + 4u <= wg_u[0].x) {`,
    `    b${i}[wg_v] = wg_s${i};`,
    "  } else {",
    `    b${i}[wg_v].x = wg_s${i}.x;`,
    ...[1, 2, 3].map((lane) => `    if (wg_e + ${lane}u < wg_u[0].x) { b${i}[wg_v].${LANES[lane]} = wg_s${i}.${LANES[lane]}; }`),
    "  }",
  ]);
  return [
    `  let wg_v = id.x + id.y * ${MAX_DISPATCH * WORKGROUP_SIZE}u;`,
    "  let wg_e = wg_v * 4u;",
    "  if (wg_e >= wg_u[0].x) { return; }",
    ...[...buffers.loaded].map((i) => `  let wg_l${i} = b${i}[wg_v];`),
    ...[...buffers.stored].map((i) => `  var wg_s${i}: ${typeOf(i)};`),
    ...lanes,
    ...stores,
  ];
}

/** Element `index` (a u32 expression) of buffer `buffer`, as stored. */
const element = (buffer: number, index: string): string => (chunking.counts[buffer]! > 1 ? `ld_chunk_b${buffer}(${index})` : `b${buffer}[${index}]`);

/** The bindings of a buffer split into chunks, and its load and store functions. */
function chunkedBuffer(i: number, b: BufferDecl, count: number, binding: number, words: number): string[] {
  const t = storageType(b);
  const chunks = Array.from({ length: count }, (_, c) => c);
  const select = (body: (c: number) => string): string =>
    `  switch (i / ${words}u) {\n${chunks.map((c) => `    ${c === count - 1 ? "default" : `case ${c}u`}: { ${body(c)} }`).join("\n")}\n  }`;
  return [
    ...chunks.map((c) => `@group(0) @binding(${binding + c}) var<storage, ${b.access}> b${i}_${c}: array<${t}>;`),
    `fn ld_chunk_b${i}(i: u32) -> ${t} {\n${select((c) => `return b${i}_${c}[i % ${words}u];`)}\n}`,
    ...(b.access === "read_write" ? [`fn st_b${i}(i: u32, v: ${t}) {\n${select((c) => `b${i}_${c}[i % ${words}u] = v;`)}\n}`] : []),
  ];
}

/** The start of an invocation: its index, and a return past the grid. */
const invocationEntry = (): string[] => [`  let gid = i32(id.x + id.y * ${MAX_DISPATCH * WORKGROUP_SIZE}u);`, "  if (gid >= i32(wg_u[0].x)) { return; }"];

/**
 * The start of a workgroup kernel's invocation: its indices, and a return for workgroups past the grid (which
 * depends on the workgroup only, so that the barriers stay in uniform control flow).
 */
const workgroupEntry = (size: number): string[] => [
  `  let wid = i32(wg_wid.x + wg_wid.y * ${MAX_DISPATCH}u);`,
  "  let lid = i32(wg_lid);",
  `  let gid = wid * ${size}i + lid;`,
  `  if (u32(wid) >= wg_u[0].x / ${size}u) { return; }`,
];

/** A kernel's shader and the contents of its uniform (its grid size, then its parameters). */
export interface WgslProgram {
  readonly code: string;
  readonly uniform: Uint32Array<ArrayBuffer>;
}

/**
 * The shader of a kernel. Neither its size (the grid) nor its shape constants are part of the text: they come
 * from a uniform after the buffers' bindings (see wgslParams.ts), and invocations are numbered with a fixed row
 * stride, so kernels that differ only in sizes share one text, hence one pipeline. With `split`, buffers too
 * large for one binding are bound in chunks.
 */
export function renderWgsl(source: Kernel, split: Chunking = { words: 0, counts: boundBuffers(source).map(() => 1) }): WgslProgram {
  const { kernel, values } = liftShapeConstants(source);
  // The counts are given per bound buffer; a workgroup buffer is one array.
  let bound = 0;
  chunking = { words: split.words, counts: kernel.buffers.map((b) => (b.workgroup === undefined ? split.counts[bound++]! : 1)) };
  const wide = vec4Buffers(kernel, split);
  const bindings: string[] = [];
  let binding = 0;
  kernel.buffers.forEach((b, i) => {
    if (b.workgroup !== undefined) {
      bindings.push(`var<workgroup> b${i}: array<${storageType(b)}, ${b.workgroup}>;`);
      return;
    }
    const count = chunking.counts[i]!;
    const element = wide?.loaded.has(i) || wide?.stored.has(i) ? `vec4<${storageType(b)}>` : storageType(b);
    if (count > 1) bindings.push(...chunkedBuffer(i, b, count, binding, split.words));
    else bindings.push(`@group(0) @binding(${binding}) var<storage, ${b.access}> b${i}: array<${element}>;`);
    binding += count;
  });
  const rows = 1 + Math.ceil(values.length / 4);
  bindings.push(`@group(0) @binding(${binding}) var<uniform> wg_u: array<vec4u, ${rows}>;`);
  const size = kernel.workgroupSize ?? WORKGROUP_SIZE;
  const entry = kernel.workgroupSize ? workgroupEntry(size) : invocationEntry();
  const body = [...paramDeclarations(values.length, "wg_u"), ...(wide ? vec4Body(kernel, wide) : [...entry, ...stmts(kernel.body, kernel, "  ")])];
  const loaders = kernel.buffers.flatMap((b, i) => (b.packed && b.element ? [packedLoader(i, b.element, b.type, (word) => element(i, word))] : []));
  const code = [
    ...bindings,
    "var<private> runtime_zero: u32;",
    "",
    `@compute @workgroup_size(${size})`,
    kernel.workgroupSize
      ? "fn main(@builtin(local_invocation_index) wg_lid: u32, @builtin(workgroup_id) wg_wid: vec3u) {"
      : "fn main(@builtin(global_invocation_id) id: vec3u) {",
    ...body,
    "}",
    ...loaders,
    ...helpersFor(body.join("\n")),
    ...narrowHelpersFor([...body, ...loaders].join("\n")),
    "",
  ].join("\n");
  const uniform = new Uint32Array(rows * 4);
  uniform[0] = source.grid;
  values.forEach((value, slot) => (uniform[4 + slot] = value >>> 0));
  return { code, uniform };
}
