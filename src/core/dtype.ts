/**
 * The dtypes wgjax knows, their sizes and kinds, and JAX's type-promotion lattice
 * (`jnp.promote_types`, with 64-bit types canonicalised to 32 bits as JAX does when x64 is off).
 */
import { DTypeError } from "./errors.js";

export const DTYPES = [
  "float64",
  "float32",
  "float16",
  "bfloat16",
  "float8_e4m3fn",
  "float8_e5m2",
  "int32",
  "int16",
  "int8",
  "int4",
  "uint32",
  "uint16",
  "uint8",
  "bool",
] as const;

export type DType = (typeof DTYPES)[number];

export type DTypeKind = "float" | "int" | "uint" | "bool";

export interface DTypeInfo {
  readonly name: DType;
  /** The short name JAX prints in jaxprs (`f32`, `bf16`, `i4`, ...). */
  readonly shortName: string;
  readonly kind: DTypeKind;
  readonly bits: number;
  /** Bytes per element in packed storage; 0.5 for int4 (two per byte). */
  readonly itemsize: number;
}

const info = (name: DType, shortName: string, kind: DTypeKind, bits: number): DTypeInfo => ({
  name,
  shortName,
  kind,
  bits,
  itemsize: bits / 8,
});

const INFO: Record<DType, DTypeInfo> = {
  float64: info("float64", "f64", "float", 64),
  float32: info("float32", "f32", "float", 32),
  float16: info("float16", "f16", "float", 16),
  bfloat16: info("bfloat16", "bf16", "float", 16),
  float8_e4m3fn: info("float8_e4m3fn", "f8_e4m3fn", "float", 8),
  float8_e5m2: info("float8_e5m2", "f8_e5m2", "float", 8),
  int32: info("int32", "i32", "int", 32),
  int16: info("int16", "i16", "int", 16),
  int8: info("int8", "i8", "int", 8),
  int4: info("int4", "i4", "int", 4),
  uint32: info("uint32", "u32", "uint", 32),
  uint16: info("uint16", "u16", "uint", 16),
  uint8: info("uint8", "u8", "uint", 8),
  bool: info("bool", "bool", "bool", 8),
};

export function dtypeInfo(dtype: DType): DTypeInfo {
  return INFO[dtype];
}

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(INFO, value);
}

/** Validates a user-supplied dtype name, naming the argument in the error. */
export function checkDType(value: unknown, argument = "dtype"): DType {
  if (!isDType(value)) {
    throw new DTypeError(`${argument}: unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(", ")}`);
  }
  return value;
}

export const isFloat = (d: DType): boolean => INFO[d].kind === "float";
export const isInteger = (d: DType): boolean => INFO[d].kind === "int" || INFO[d].kind === "uint";
export const isSignedInt = (d: DType): boolean => INFO[d].kind === "int";
export const isUnsignedInt = (d: DType): boolean => INFO[d].kind === "uint";
export const isBool = (d: DType): boolean => d === "bool";

/** Inclusive range of an integer dtype. */
export function intRange(dtype: DType): [number, number] {
  const { kind, bits } = INFO[dtype];
  if (kind === "uint") return [0, 2 ** bits - 1];
  if (kind === "int") return [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  if (kind === "bool") return [0, 1];
  throw new DTypeError(`intRange: ${dtype} is not an integer dtype`);
}

// ---- type promotion -------------------------------------------------------------------------

/** Nodes of JAX's promotion lattice: the dtypes plus the weak int/float types and the 64-bit types. */
type Node = DType | "weak_int" | "weak_float" | "int64" | "uint64";

const LATTICE: Record<Node, readonly Node[]> = {
  bool: ["weak_int"],
  weak_int: ["uint8", "int8", "int4"],
  uint8: ["int16", "uint16"],
  uint16: ["int32", "uint32"],
  uint32: ["int64", "uint64"],
  uint64: ["weak_float"],
  // int4, like the float8 types, promotes with nothing but itself, bool and weak types (JAX 0.10).
  int4: [],
  int8: ["int16"],
  int16: ["int32"],
  int32: ["int64"],
  int64: ["weak_float"],
  weak_float: ["float8_e4m3fn", "float8_e5m2", "bfloat16", "float16"],
  float8_e4m3fn: [],
  float8_e5m2: [],
  bfloat16: ["float32"],
  float16: ["float32"],
  float32: ["float64"],
  float64: [],
};

const UPPER_BOUNDS: Map<Node, Set<Node>> = (() => {
  const result = new Map<Node, Set<Node>>();
  const visit = (node: Node): Set<Node> => {
    const cached = result.get(node);
    if (cached) return cached;
    const bounds = new Set<Node>([node]);
    for (const next of LATTICE[node]) for (const b of visit(next)) bounds.add(b);
    result.set(node, bounds);
    return bounds;
  };
  for (const node of Object.keys(LATTICE) as Node[]) visit(node);
  return result;
})();

function join(a: Node, b: Node): Node | undefined {
  const ua = UPPER_BOUNDS.get(a)!;
  const ub = UPPER_BOUNDS.get(b)!;
  const common = [...ua].filter((n) => ub.has(n));
  // The least upper bound is the common bound that every other common bound lies above.
  return common.find((candidate) => common.every((other) => UPPER_BOUNDS.get(candidate)!.has(other)));
}

// 64-bit integers only arise from promotion and are canonicalised as JAX does with x64 off. float64 is a real
// dtype here (host only: the reference interpreter and checkGrads use it), so it is kept.
const CANONICAL: Partial<Record<Node, DType>> = { int64: "int32", uint64: "uint32" };

function toNode(dtype: DType, weakType: boolean): Node {
  if (!weakType || dtype === "bool") return dtype;
  if (isFloat(dtype)) return "weak_float";
  return "weak_int";
}

export interface PromotedType {
  readonly dtype: DType;
  readonly weakType: boolean;
}

/**
 * The dtype of a binary operation's result, as `jnp.result_type` gives it with x64 disabled.
 * A weakly typed operand (a JS number) takes the other operand's dtype where the lattice allows.
 */
export function promoteTypes(a: DType, b: DType, aWeak = false, bWeak = false): PromotedType {
  const joined = join(toNode(a, aWeak), toNode(b, bWeak));
  if (joined === undefined) {
    throw new DTypeError(
      `Input dtypes ('${a}', '${b}') have no available implicit dtype promotion path. ` +
        `Convert one operand explicitly with astype.`,
    );
  }
  if (joined === "weak_int") return { dtype: "int32", weakType: true };
  if (joined === "weak_float") return { dtype: "float32", weakType: true };
  const canonical = CANONICAL[joined];
  return { dtype: canonical ?? (joined as DType), weakType: false };
}

/** `promoteTypes` over any number of operands (left fold, which is exact for a lattice join). */
export function resultType(...operands: PromotedType[]): PromotedType {
  if (operands.length === 0) throw new DTypeError("resultType: at least one operand is required");
  return operands.slice(1).reduce((acc, o) => promoteTypes(acc.dtype, o.dtype, acc.weakType, o.weakType), operands[0]!);
}
