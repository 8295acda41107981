/** The numpy namespace (`import { numpy as np } from "wgjax"`): jnp's surface in camelCase, written only with lax. */
import { installArrayMethods } from "../../core/array.js";
import { promoteTypes as promoteDTypes, type DType } from "../../core/dtype.js";
import { transpose, reshape } from "./manipulation.js";
import { add, divide, equal, greater, greaterEqual, less, lessEqual, multiply, negative, notEqual, power, subtract } from "./math.js";
import { matmul } from "./linalg.js";
import { index } from "./indexing.js";
import { max, mean, min, sum } from "./reductions.js";
import { cast } from "./promote.js";

export * from "./creation.js";
export * from "./indexing.js";
export * from "./linalg.js";
export * from "./manipulation.js";
export * from "./math.js";
export * from "./reductions.js";
export * from "./sorting.js";
export { broadcastTo } from "./promote.js";

export const float32: DType = "float32";
export const float16: DType = "float16";
export const bfloat16: DType = "bfloat16";
export const float8_e4m3fn: DType = "float8_e4m3fn";
export const float8_e5m2: DType = "float8_e5m2";
export const int32: DType = "int32";
export const int16: DType = "int16";
export const int8: DType = "int8";
export const int4: DType = "int4";
export const uint32: DType = "uint32";
export const uint16: DType = "uint16";
export const uint8: DType = "uint8";
export const bool: DType = "bool";

/** `jnp.promote_types(a, b)`. */
export const promoteTypes = (a: DType, b: DType): DType => promoteDTypes(a, b).dtype;

installArrayMethods({
  add,
  sub: subtract,
  mul: multiply,
  div: divide,
  pow: power,
  neg: negative,
  lt: less,
  le: lessEqual,
  gt: greater,
  ge: greaterEqual,
  eq: equal,
  ne: notEqual,
  matmul,
  astype: (x, dtype) => cast(x, { dtype, weakType: false }, "astype: x"),
  reshape,
  transpose,
  sum: (x, axis, keepdims) => sum(x, { axis, keepdims }),
  mean: (x, axis, keepdims) => mean(x, { axis, keepdims }),
  max: (x, axis, keepdims) => max(x, { axis, keepdims }),
  min: (x, axis, keepdims) => min(x, { axis, keepdims }),
  index,
});
