/**
 * Data-movement primitives: broadcast_in_dim, reshape, transpose, squeeze, rev, concatenate, pad, slice,
 * dynamic_slice, dynamic_update_slice, iota. Their reference implementations copy values, never round.
 */
import { ShapedArray } from "../../core/aval.js";
import { type DType, isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { allocHost } from "../../core/hostData.js";
import { type Array, arrayFromHost } from "../../core/array.js";
import { type HostTensor, definePrimitive } from "../../core/primitive.js";
import { bind1 } from "../../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defLinear, defNonDifferentiable, defTranspose, instantiate } from "../../vjp/ad.js";
import { zeros } from "./adUtil.js";
import { defBatch, moveBatchAxis } from "../../vmap/batching.js";
import { allAtFront, atFront, batchedAxis, range } from "./batchUtil.js";
import * as lax from "./api.js";
import { type Shape, checkPermutation, sizeOf } from "../../core/shape.js";
import { checkAxes, ravel, tuple, stridesOf, tabulate, unravel } from "./util.js";

/** A tensor of `outShape` whose element at a multi-index is the input's element at `source(index)` (-1: `fill`). */
function remap(input: HostTensor, outShape: Shape, source: (index: number[]) => number, fill = 0): HostTensor {
  const index = new globalThis.Array<number>(outShape.length);
  return tabulate(outShape, input.dtype, (i) => {
    const from = source(unravel(i, outShape, index));
    return from < 0 ? fill : input.data[from]!;
  });
}


export interface BroadcastInDimParams {
  readonly shape: Shape;
  readonly broadcast_dimensions: readonly number[];
}
export const broadcastInDimP = definePrimitive<BroadcastInDimParams>({
  name: "broadcast_in_dim",
  abstractEval([x], { shape, broadcast_dimensions: dims }) {
    if (dims.length !== x!.ndim) {
      throw new ShapeError(`broadcast_in_dim: broadcast_dimensions ${tuple(dims)} must have one entry per operand axis, operand shape ${fmtShape(x!.shape)}`);
    }
    dims.forEach((d, i) => {
      const size = x!.shape[i]!;
      if (!(d >= 0 && d < shape.length) || (size !== 1 && size !== shape[d]) || (i > 0 && d <= dims[i - 1]!)) {
        throw new ShapeError(`broadcast_in_dim: cannot broadcast operand ${fmtShape(x!.shape)} to ${fmtShape(shape)} with broadcast_dimensions ${tuple(dims)}`);
      }
    });
    return [new ShapedArray(shape, x!.dtype, x!.weakType)];
  },
  impl([x], { shape, broadcast_dimensions: dims }) {
    const strides = stridesOf(x!.shape);
    return [remap(x!, shape, (idx) => dims.reduce((flat, d, i) => flat + (x!.shape[i] === 1 ? 0 : idx[d]! * strides[i]!), 0))];
  },
  formatParams: ({ broadcast_dimensions }) => (broadcast_dimensions.length > 0 ? { broadcast_dimensions: tuple(broadcast_dimensions) } : {}),
});

export interface ReshapeParams {
  readonly new_sizes: Shape;
}
export const reshapeP = definePrimitive<ReshapeParams>({
  name: "reshape",
  abstractEval([x], { new_sizes }) {
    if (sizeOf(new_sizes) !== x!.size) {
      throw new ShapeError(`reshape: cannot reshape an array of shape ${fmtShape(x!.shape)} (size ${x!.size}) into shape ${fmtShape(new_sizes)} (size ${sizeOf(new_sizes)})`);
    }
    return [new ShapedArray(new_sizes, x!.dtype, x!.weakType)];
  },
  impl([x], { new_sizes }) {
    return [{ shape: new_sizes, dtype: x!.dtype, data: x!.data }];
  },
  formatParams: ({ new_sizes }) => ({ dimensions: "None", new_sizes: tuple(new_sizes), sharding: "None" }),
});

export interface TransposeParams {
  readonly permutation: readonly number[];
}
export const transposeP = definePrimitive<TransposeParams>({
  name: "transpose",
  abstractEval([x], { permutation }) {
    checkPermutation(permutation, x!.ndim, "transpose: permutation");
    return [new ShapedArray(permutation.map((p) => x!.shape[p]!), x!.dtype, x!.weakType)];
  },
  impl([x], { permutation }) {
    const strides = stridesOf(x!.shape);
    const outShape = permutation.map((p) => x!.shape[p]!);
    return [remap(x!, outShape, (idx) => idx.reduce((flat, v, i) => flat + v * strides[permutation[i]!]!, 0))];
  },
  formatParams: ({ permutation }) => ({ permutation: tuple(permutation) }),
});

export interface SqueezeParams {
  readonly dimensions: readonly number[];
}
export const squeezeP = definePrimitive<SqueezeParams>({
  name: "squeeze",
  abstractEval([x], { dimensions }) {
    checkAxes("squeeze", dimensions, x!.ndim, "dimensions");
    for (const d of dimensions) {
      if (x!.shape[d] !== 1) throw new ShapeError(`squeeze: cannot squeeze axis ${d} of size ${x!.shape[d]} (shape ${fmtShape(x!.shape)})`);
    }
    return [new ShapedArray(x!.shape.filter((_, i) => !dimensions.includes(i)), x!.dtype, x!.weakType)];
  },
  impl([x], { dimensions }) {
    return [{ shape: x!.shape.filter((_, i) => !dimensions.includes(i)), dtype: x!.dtype, data: x!.data }];
  },
  formatParams: ({ dimensions }) => ({ dimensions: tuple(dimensions) }),
});

export interface RevParams {
  readonly dimensions: readonly number[];
}
export const revP = definePrimitive<RevParams>({
  name: "rev",
  abstractEval([x], { dimensions }) {
    checkAxes("rev", dimensions, x!.ndim, "dimensions");
    return [x!];
  },
  impl([x], { dimensions }) {
    const strides = stridesOf(x!.shape);
    const shape = x!.shape;
    return [remap(x!, shape, (idx) => idx.reduce((flat, v, i) => flat + (dimensions.includes(i) ? shape[i]! - 1 - v : v) * strides[i]!, 0))];
  },
  formatParams: ({ dimensions }) => ({ dimensions: tuple(dimensions) }),
});

export interface ConcatenateParams {
  readonly dimension: number;
}
export const concatenateP = definePrimitive<ConcatenateParams>({
  name: "concatenate",
  abstractEval(avals, { dimension }) {
    if (avals.length === 0) throw new ShapeError("concatenate: at least one operand is required");
    const first = avals[0]!;
    if (!(dimension >= 0 && dimension < first.ndim)) throw new ShapeError(`concatenate: dimension ${dimension} is out of range for rank ${first.ndim}`);
    for (const [i, a] of avals.entries()) {
      const same = a.ndim === first.ndim && a.shape.every((d, k) => k === dimension || d === first.shape[k]);
      if (!same) throw new ShapeError(`concatenate: operand ${i} has shape ${fmtShape(a.shape)}, incompatible with operand 0 ${fmtShape(first.shape)} along axes other than ${dimension}`);
      if (a.dtype !== first.dtype) throw new DTypeError(`concatenate: operands must have equal dtypes, got operand 0 ${first.dtype} and operand ${i} ${a.dtype}`);
    }
    const shape = [...first.shape];
    shape[dimension] = avals.reduce((s, a) => s + a.shape[dimension]!, 0);
    return [new ShapedArray(shape, first.dtype, avals.every((a) => a.weakType))];
  },
  impl(inputs, { dimension }) {
    const shape = [...inputs[0]!.shape];
    shape[dimension] = inputs.reduce((s, t) => s + t.shape[dimension]!, 0);
    const out = allocHost(inputs[0]!.dtype, sizeOf(shape));
    const outer = sizeOf(shape.slice(0, dimension));
    const inner = sizeOf(shape.slice(dimension + 1));
    let offset = 0;
    for (const t of inputs) {
      const block = t.shape[dimension]! * inner;
      for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * block, (o + 1) * block), o * shape[dimension]! * inner + offset);
      offset += block;
    }
    return [{ shape, dtype: inputs[0]!.dtype, data: out }];
  },
  formatParams: ({ dimension }) => ({ dimension: String(dimension) }),
});

/** Per axis: (low, high, interior) padding; low/high may be negative (cropping). */
export interface PadParams {
  readonly padding_config: readonly (readonly [number, number, number])[];
}
const paddedSize = (n: number, [lo, hi, interior]: readonly [number, number, number]): number =>
  lo + hi + n + Math.max(0, n - 1) * interior;
export const padP = definePrimitive<PadParams>({
  name: "pad",
  abstractEval([x, padValue], { padding_config }) {
    if (padValue!.ndim !== 0) throw new ShapeError(`pad: padding_value must be a scalar, got shape ${fmtShape(padValue!.shape)}`);
    if (padValue!.dtype !== x!.dtype) throw new DTypeError(`pad: padding_value dtype ${padValue!.dtype} must equal the operand's ${x!.dtype}`);
    if (padding_config.length !== x!.ndim) throw new ShapeError(`pad: padding_config has ${padding_config.length} entries for an operand of rank ${x!.ndim}`);
    const shape = x!.shape.map((n, i) => paddedSize(n, padding_config[i]!));
    padding_config.forEach(([, , interior], i) => {
      if (interior < 0 || shape[i]! < 0) throw new ShapeError(`pad: padding_config entry ${i} ${JSON.stringify(padding_config[i])} is invalid for size ${x!.shape[i]}`);
    });
    return [new ShapedArray(shape, x!.dtype, x!.weakType)];
  },
  impl([x, padValue], { padding_config }) {
    const shape = x!.shape.map((n, i) => paddedSize(n, padding_config[i]!));
    const strides = stridesOf(x!.shape);
    return [
      remap(
        x!,
        shape,
        (idx) => {
          let flat = 0;
          for (let d = 0; d < idx.length; d++) {
            const [lo, , interior] = padding_config[d]!;
            const rel = idx[d]! - lo;
            if (rel < 0 || rel % (interior + 1) !== 0) return -1;
            const src = rel / (interior + 1);
            if (src >= x!.shape[d]!) return -1;
            flat += src * strides[d]!;
          }
          return flat;
        },
        padValue!.data[0]!,
      ),
    ];
  },
  formatParams: ({ padding_config }) => ({ padding_config: tuple(padding_config.map((c) => tuple(c))) }),
});

export interface SliceParams {
  readonly start_indices: readonly number[];
  readonly limit_indices: readonly number[];
  readonly strides: readonly number[] | null;
}
const slicedShape = ({ start_indices, limit_indices, strides }: SliceParams): number[] =>
  start_indices.map((s, i) => Math.max(0, Math.ceil((limit_indices[i]! - s) / (strides?.[i] ?? 1))));
export const sliceP = definePrimitive<SliceParams>({
  name: "slice",
  abstractEval([x], params) {
    const { start_indices, limit_indices, strides } = params;
    const ok =
      start_indices.length === x!.ndim &&
      limit_indices.length === x!.ndim &&
      (strides === null || strides.length === x!.ndim) &&
      x!.shape.every((n, i) => start_indices[i]! >= 0 && start_indices[i]! <= limit_indices[i]! && limit_indices[i]! <= n && (strides?.[i] ?? 1) >= 1);
    if (!ok) {
      throw new ShapeError(`slice: start_indices ${tuple(start_indices)}, limit_indices ${tuple(limit_indices)} and strides ${strides ? tuple(strides) : "None"} do not fit operand shape ${fmtShape(x!.shape)}`);
    }
    return [new ShapedArray(slicedShape(params), x!.dtype, x!.weakType)];
  },
  impl([x], params) {
    const strides = stridesOf(x!.shape);
    const step = params.strides ?? params.start_indices.map(() => 1);
    return [remap(x!, slicedShape(params), (idx) => idx.reduce((flat, v, i) => flat + (params.start_indices[i]! + v * step[i]!) * strides[i]!, 0))];
  },
  formatParams: ({ start_indices, limit_indices, strides }) => ({
    limit_indices: tuple(limit_indices),
    start_indices: tuple(start_indices),
    strides: strides ? tuple(strides) : "None",
  }),
});

function checkIndexScalars(name: string, indices: readonly ShapedArray[], rank: number): void {
  if (indices.length !== rank) throw new ShapeError(`${name}: expected ${rank} start indices (one per operand axis), got ${indices.length}`);
  for (const [i, a] of indices.entries()) {
    if (a.ndim !== 0 || !isInteger(a.dtype)) throw new DTypeError(`${name}: start index ${i} must be an integer scalar, got ${a.toString()}`);
  }
}

/** Start indices clamped so the window fits, as XLA's dynamic_slice does. */
const clampedStarts = (starts: readonly HostTensor[], shape: Shape, window: Shape): number[] =>
  starts.map((s, i) => Math.min(Math.max(s.data[0]!, 0), shape[i]! - window[i]!));

export interface DynamicSliceParams {
  readonly slice_sizes: Shape;
}
export const dynamicSliceP = definePrimitive<DynamicSliceParams>({
  name: "dynamic_slice",
  abstractEval([x, ...starts], { slice_sizes }) {
    checkIndexScalars("dynamic_slice", starts, x!.ndim);
    if (slice_sizes.length !== x!.ndim || slice_sizes.some((s, i) => s < 0 || s > x!.shape[i]!)) {
      throw new ShapeError(`dynamic_slice: slice_sizes ${tuple(slice_sizes)} do not fit operand shape ${fmtShape(x!.shape)}`);
    }
    return [new ShapedArray(slice_sizes, x!.dtype, x!.weakType)];
  },
  impl([x, ...starts], { slice_sizes }) {
    const begin = clampedStarts(starts, x!.shape, slice_sizes);
    const strides = stridesOf(x!.shape);
    return [remap(x!, slice_sizes, (idx) => idx.reduce((flat, v, i) => flat + (begin[i]! + v) * strides[i]!, 0))];
  },
  formatParams: ({ slice_sizes }) => ({ slice_sizes: tuple(slice_sizes) }),
});

export const dynamicUpdateSliceP = definePrimitive<Record<string, never>>({
  name: "dynamic_update_slice",
  abstractEval([x, update, ...starts]) {
    checkIndexScalars("dynamic_update_slice", starts, x!.ndim);
    if (update!.ndim !== x!.ndim || update!.shape.some((s, i) => s > x!.shape[i]!)) {
      throw new ShapeError(`dynamic_update_slice: update shape ${fmtShape(update!.shape)} does not fit operand shape ${fmtShape(x!.shape)}`);
    }
    if (update!.dtype !== x!.dtype) throw new DTypeError(`dynamic_update_slice: update dtype ${update!.dtype} must equal the operand's ${x!.dtype}`);
    return [new ShapedArray(x!.shape, x!.dtype, x!.weakType)];
  },
  impl([x, update, ...starts]) {
    const begin = clampedStarts(starts, x!.shape, update!.shape);
    const data = x!.data.slice();
    const strides = stridesOf(x!.shape);
    const index = new globalThis.Array<number>(update!.shape.length);
    for (let i = 0; i < update!.data.length; i++) {
      unravel(i, update!.shape, index);
      data[ravel(index.map((v, d) => v + begin[d]!), strides)] = update!.data[i]!;
    }
    return [{ shape: x!.shape, dtype: x!.dtype, data }];
  },
});

export interface IotaParams {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly dimension: number;
}
export const iotaP = definePrimitive<IotaParams>({
  name: "iota",
  abstractEval(_, { dtype, shape, dimension }) {
    if (!(dimension >= 0 && dimension < shape.length)) throw new ShapeError(`iota: dimension ${dimension} is out of range for shape ${fmtShape(shape)}`);
    if (dtype === "bool") throw new DTypeError("iota: dtype must be numeric, got bool");
    return [new ShapedArray(shape, dtype)];
  },
  impl(_, { dtype, shape, dimension }) {
    const index = new globalThis.Array<number>(shape.length);
    return [tabulate(shape, dtype, (i) => unravel(i, shape, index)[dimension]!)];
  },
  formatParams: ({ dtype, shape, dimension }) => ({ dimension: String(dimension), dtype, shape: tuple(shape), sharding: "None" }),
});


// ---- differentiation rules (every movement primitive is linear) -------------------------------

const ctOf = (cts: Tangent[]): Array => instantiate(cts[0]!);
const avalOfIn = (x: Array | UndefPrimal): ShapedArray => x.aval;

defLinear(broadcastInDimP, (cts, [x], { shape, broadcast_dimensions: dims }) => {
  const operand = avalOfIn(x!);
  const ct = ctOf(cts);
  const newAxes = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const expanded = dims.filter((d, i) => operand.shape[i] === 1 && shape[d] !== 1);
  const summed = lax.reduceSum(ct, [...newAxes, ...expanded].sort((a, b) => a - b));
  return [lax.reshape(summed, operand.shape)];
});
defLinear(reshapeP, (cts, [x]) => [lax.reshape(ctOf(cts), avalOfIn(x!).shape)]);
defLinear(transposeP, (cts, _inputs, { permutation }) => {
  const inverse = permutation.map((_, i) => permutation.indexOf(i));
  return [lax.transpose(ctOf(cts), inverse)];
});
defLinear(squeezeP, (cts, [x]) => [lax.reshape(ctOf(cts), avalOfIn(x!).shape)]);
defLinear(revP, (cts, _inputs, { dimensions }) => [lax.rev(ctOf(cts), dimensions)]);
defLinear(concatenateP, (cts, inputs, { dimension }) => {
  const ct = ctOf(cts);
  let offset = 0;
  return inputs.map((x) => {
    const n = avalOfIn(x).shape[dimension]!;
    const start = offset;
    offset += n;
    return x instanceof UndefPrimal ? lax.sliceInDim(ct, start, start + n, 1, dimension) : null;
  });
});
defLinear(padP, (cts, [x, padValue], { padding_config }) => {
  const ct = ctOf(cts);
  const unpadConfig = padding_config.map(([lo, hi]) => [-lo, -hi, 0] as const);
  const unpadded = lax.pad(ct, 0, unpadConfig);
  const operandCt = lax.slice(unpadded, unpadded.shape.map(() => 0), unpadded.shape, padding_config.map(([, , interior]) => interior + 1));
  const total = (a: Array): Array => lax.reduceSum(a, a.shape.map((_, i) => i));
  return [
    x instanceof UndefPrimal ? operandCt : null,
    padValue instanceof UndefPrimal ? lax.sub(total(ct), total(operandCt)) : null,
  ];
});
defLinear(sliceP, (cts, [x], { start_indices, strides }) => {
  const ct = ctOf(cts);
  const operand = avalOfIn(x!);
  const step = strides ?? start_indices.map(() => 1);
  const realLimits = start_indices.map((s, i) => (ct.shape[i] === 0 ? s : s + (ct.shape[i]! - 1) * step[i]! + 1));
  const config = start_indices.map((s, i) => [s, operand.shape[i]! - realLimits[i]!, step[i]! - 1] as const);
  return [lax.pad(ct, 0, config)];
});

defJvp(dynamicSliceP, ([x, ...starts], [t], params) => {
  const out = bind1(dynamicSliceP, [x!, ...starts], params);
  return [[out], [t instanceof Zero ? new Zero(out.aval.strongly()) : bind1(dynamicSliceP, [t!, ...starts], params)]];
});
defTranspose(dynamicSliceP, (cts, [x, ...starts]) => {
  if (starts.some((s) => s instanceof UndefPrimal)) throw new ArgumentError("dynamic_slice: start indices are not differentiable");
  const operand = avalOfIn(x!);
  return [lax.dynamicUpdateSlice(zeros(operand.strongly()), ctOf(cts), starts as Array[]), ...starts.map(() => null)];
});
defJvp(dynamicUpdateSliceP, ([x, update, ...starts], [tx, tu]) => {
  const out = bind1(dynamicUpdateSliceP, [x!, update!, ...starts], {});
  if (tx instanceof Zero && tu instanceof Zero) return [[out], [new Zero(out.aval.strongly())]];
  return [[out], [bind1(dynamicUpdateSliceP, [instantiate(tx!), instantiate(tu!), ...starts], {})]];
});
defTranspose(dynamicUpdateSliceP, (cts, [x, update, ...starts]) => {
  if (starts.some((s) => s instanceof UndefPrimal)) throw new ArgumentError("dynamic_update_slice: start indices are not differentiable");
  const ct = ctOf(cts);
  const updateAval = avalOfIn(update!);
  return [
    x instanceof UndefPrimal ? lax.dynamicUpdateSlice(ct, zeros(updateAval.strongly()), starts as Array[]) : null,
    update instanceof UndefPrimal ? lax.dynamicSlice(ct, starts as Array[], updateAval.shape) : null,
    ...starts.map(() => null),
  ];
});
defNonDifferentiable(iotaP);

// ---- batching rules (vmap) ------------------------------------------------------------------------

defBatch(broadcastInDimP, ([x], [d], { shape, broadcast_dimensions }, size) => {
  const front = moveBatchAxis(x!, d!, 0, size);
  return atFront([lax.broadcastInDim(front, [size, ...shape], [0, ...broadcast_dimensions.map((a) => a + 1)])]);
});
defBatch(reshapeP, ([x], [d], { new_sizes }, size) => atFront([lax.reshape(moveBatchAxis(x!, d!, 0, size), [size, ...new_sizes])]));
defBatch(transposeP, ([x], [d], { permutation }, size) => atFront([lax.transpose(moveBatchAxis(x!, d!, 0, size), [0, ...permutation.map((a) => a + 1)])]));
defBatch(squeezeP, ([x], [d], { dimensions }, size) => atFront([lax.squeeze(moveBatchAxis(x!, d!, 0, size), dimensions.map((a) => a + 1))]));
defBatch(revP, ([x], [d], { dimensions }) => [[lax.rev(x!, dimensions.map((a) => batchedAxis(a, d!)))], [d!]]);
defBatch(concatenateP, (args, dims, { dimension }, size) => atFront([lax.concatenate(allAtFront(args, dims, size), dimension + 1)]));
defBatch(sliceP, ([x], [d], { start_indices, limit_indices, strides }) => {
  const at = (xs: readonly number[], v: number): number[] => [...xs.slice(0, d!), v, ...xs.slice(d!)];
  return [[lax.slice(x!, at(start_indices, 0), at(limit_indices, x!.shape[d!]!), strides && at(strides, 1))], [d!]];
});

/** With a batched padding value, the padded positions are selected from it (JAX's rule). */
defBatch(padP, ([x, value], [dx, dv], { padding_config }, size) => {
  const config = [[0, 0, 0] as const, ...padding_config];
  const operand = moveBatchAxis(x!, dx!, 0, size);
  if (dv === null) return atFront([lax.pad(operand, value!, config)]);
  const padded = lax.pad(operand, lax.convertElementType(0, x!.dtype), config);
  const inside = lax.pad(lax.broadcastInDim(lax.convertElementType(true, "bool"), operand.shape, []), lax.convertElementType(false, "bool"), config);
  const fill = lax.broadcastInDim(moveBatchAxis(value!, dv!, 0, size), padded.shape, [0]);
  return atFront([lax.select(inside, padded, fill)]);
});

/** Start indices batched at the front as one int32 index array [batch, numIndices]. */
function startIndices(starts: readonly Array[], dims: readonly (number | null)[], size: number): Array {
  const columns = starts.map((s, i) => lax.reshape(moveBatchAxis(lax.convertElementType(s, "int32"), dims[i]!, 0, size), [size, 1]));
  return lax.concatenate(columns, 1);
}

/** Batched starts make a dynamic slice a gather (clip mode: the starts are clamped so the window fits). */
defBatch(dynamicSliceP, ([x, ...starts], [dx, ...dStarts], { slice_sizes }, size) => {
  if (dStarts.every((d) => d === null)) {
    const zero = lax.convertElementType(0, starts[0]?.dtype ?? "int32");
    return atFront([bind1(dynamicSliceP, [moveBatchAxis(x!, dx!, 0, size), zero, ...starts], { slice_sizes: [size, ...slice_sizes] })]);
  }
  const rank = slice_sizes.length;
  const batched = dx !== null;
  const numbers = {
    offset_dims: range(rank, 1),
    collapsed_slice_dims: [],
    start_index_map: range(rank, batched ? 1 : 0),
    operand_batching_dims: batched ? [0] : [],
    start_indices_batching_dims: batched ? [0] : [],
  };
  const operand = batched ? moveBatchAxis(x!, dx, 0, size) : x!;
  return atFront([lax.gather(operand, startIndices(starts, dStarts, size), numbers, batched ? [1, ...slice_sizes] : slice_sizes, { mode: "clip" })]);
});

/** Batched starts make a dynamic update a scatter: starts clamped as dynamic_update_slice does, the window's positions select the update. */
defBatch(dynamicUpdateSliceP, ([x, update, ...starts], [dx, du, ...dStarts], _params, size) => {
  const operand = moveBatchAxis(x!, dx!, 0, size);
  const upd = moveBatchAxis(update!, du!, 0, size);
  if (dStarts.every((d) => d === null)) {
    const zero = lax.convertElementType(0, starts[0]?.dtype ?? "int32");
    return atFront([bind1(dynamicUpdateSliceP, [operand, upd, zero, ...starts], {})]);
  }
  const rank = operand.ndim - 1;
  const limits = upd.shape.slice(1).map((u, a) => operand.shape[a + 1]! - u);
  const highest = lax.broadcastInDim(arrayFromHost(Int32Array.from(limits), new ShapedArray([rank], "int32")), [size, rank], [1]);
  const idx = lax.clamp(lax.convertElementType(0, "int32"), startIndices(starts, dStarts, size), highest);
  const numbers = { update_window_dims: range(rank, 1), inserted_window_dims: [], scatter_dims_to_operand_dims: range(rank, 1), operand_batching_dims: [0], scatter_indices_batching_dims: [0] };
  const zerosOf = (dtype: DType): Array => lax.broadcastInDim(lax.convertElementType(0, dtype), operand.shape, []);
  const scatterDtype = upd.dtype === "bool" ? "int32" : upd.dtype;
  const placed = lax.scatterAdd(zerosOf(scatterDtype), idx, lax.convertElementType(upd, scatterDtype), numbers, { mode: "clip" });
  const ones = lax.broadcastInDim(lax.convertElementType(1, "int32"), upd.shape, []);
  const inside = lax.gt(lax.scatterAdd(zerosOf("int32"), idx, ones, numbers, { mode: "clip" }), 0);
  return atFront([lax.select(inside, lax.convertElementType(placed, upd.dtype), operand)]);
});
