/**
 * `Array`: the value users hold. It is abstract, as `jax.Array` is: a concrete `ArrayImpl` owns data on a
 * device, and a tracer (src/trace) stands for a value during a transformation. Arithmetic methods are
 * installed by the numpy namespace (as JAX installs its array methods), so core stays free of ops.
 */
import { ShapedArray } from "./aval.js";
import { type DType, dtypeInfo } from "./dtype.js";
import { ArgumentError, DisposedError } from "./errors.js";
import { type HostData, allocHost, convertScalar } from "./hostData.js";
import { formatArray } from "./format.js";

/** Anything an operation accepts as an array operand: an Array or a JS scalar (weakly typed). */
export type ArrayLike = Array | number | boolean;

/** One entry of an index expression: an integer, a slice text like `"1:5:2"` or `":"`, `null` (new axis), `"..."`, or an integer Array. */
export type IndexEntry = number | string | null | Array;

/** The methods every Array has, implemented in terms of numpy functions (installed by src/ops/numpy). */
export interface ArrayMethods {
  add(x: Array, y: ArrayLike): Array;
  sub(x: Array, y: ArrayLike): Array;
  mul(x: Array, y: ArrayLike): Array;
  div(x: Array, y: ArrayLike): Array;
  pow(x: Array, y: ArrayLike): Array;
  neg(x: Array): Array;
  lt(x: Array, y: ArrayLike): Array;
  le(x: Array, y: ArrayLike): Array;
  gt(x: Array, y: ArrayLike): Array;
  ge(x: Array, y: ArrayLike): Array;
  eq(x: Array, y: ArrayLike): Array;
  ne(x: Array, y: ArrayLike): Array;
  matmul(x: Array, y: Array): Array;
  astype(x: Array, dtype: DType): Array;
  reshape(x: Array, shape: readonly number[]): Array;
  transpose(x: Array, axes?: readonly number[]): Array;
  sum(x: Array, axis?: number | readonly number[] | null, keepdims?: boolean): Array;
  mean(x: Array, axis?: number | readonly number[] | null, keepdims?: boolean): Array;
  max(x: Array, axis?: number | readonly number[] | null, keepdims?: boolean): Array;
  min(x: Array, axis?: number | readonly number[] | null, keepdims?: boolean): Array;
  index(x: Array, indices: readonly IndexEntry[]): Array;
}

let installed: ArrayMethods | undefined;

/** Called once by the numpy namespace. */
export function installArrayMethods(methods: ArrayMethods): void {
  installed = methods;
}

function methods(): ArrayMethods {
  if (!installed) throw new Error("wgjax: array methods are not installed; import wgjax through its index");
  return installed;
}

type Axis = number | readonly number[] | null;

export abstract class Array {
  abstract get aval(): ShapedArray;

  get shape(): readonly number[] {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get weakType(): boolean {
    return this.aval.weakType;
  }
  get ndim(): number {
    return this.aval.ndim;
  }
  get size(): number {
    return this.aval.size;
  }
  /** Bytes of packed storage (int4 counts half a byte per element). */
  get nbytes(): number {
    return Math.ceil(this.size * dtypeInfo(this.dtype).itemsize);
  }

  add(other: ArrayLike): Array {
    return methods().add(this, other);
  }
  sub(other: ArrayLike): Array {
    return methods().sub(this, other);
  }
  mul(other: ArrayLike): Array {
    return methods().mul(this, other);
  }
  div(other: ArrayLike): Array {
    return methods().div(this, other);
  }
  pow(other: ArrayLike): Array {
    return methods().pow(this, other);
  }
  neg(): Array {
    return methods().neg(this);
  }
  lt(other: ArrayLike): Array {
    return methods().lt(this, other);
  }
  le(other: ArrayLike): Array {
    return methods().le(this, other);
  }
  gt(other: ArrayLike): Array {
    return methods().gt(this, other);
  }
  ge(other: ArrayLike): Array {
    return methods().ge(this, other);
  }
  eq(other: ArrayLike): Array {
    return methods().eq(this, other);
  }
  ne(other: ArrayLike): Array {
    return methods().ne(this, other);
  }
  matmul(other: Array): Array {
    return methods().matmul(this, other);
  }
  astype(dtype: DType): Array {
    return methods().astype(this, dtype);
  }
  reshape(...shape: number[] | [readonly number[]]): Array {
    const dims = Array.isArrayOfDims(shape) ? shape[0] : (shape as number[]);
    return methods().reshape(this, dims);
  }
  transpose(axes?: readonly number[]): Array {
    return methods().transpose(this, axes);
  }
  get T(): Array {
    return methods().transpose(this);
  }
  sum(axis?: Axis, keepdims = false): Array {
    return methods().sum(this, axis, keepdims);
  }
  mean(axis?: Axis, keepdims = false): Array {
    return methods().mean(this, axis, keepdims);
  }
  max(axis?: Axis, keepdims = false): Array {
    return methods().max(this, axis, keepdims);
  }
  min(axis?: Axis, keepdims = false): Array {
    return methods().min(this, axis, keepdims);
  }
  /** numpy-style indexing: `x.at(0)`, `x.at(":", "1:3")`, `x.at("...", null)`, `x.at(indexArray)`. */
  at(...indices: IndexEntry[]): Array {
    return methods().index(this, indices);
  }

  /** Iterates over the first axis (so `const [k1, k2] = random.split(key)` works, as in JAX). */
  *[Symbol.iterator](): Iterator<Array> {
    if (this.ndim === 0) throw new ArgumentError("iteration over a 0-d array");
    for (let i = 0; i < this.shape[0]!; i++) yield this.at(i);
  }

  /** `Number(x)`, `+x`, `x > 0`: the value of a one-element array (like Python's `float(x)`). */
  [Symbol.toPrimitive](hint: string): number | string {
    if (hint === "string") return this.toString();
    if (this.size !== 1) throw new ArgumentError(`only one-element arrays convert to a JS number, got shape (${this.shape.join(", ")})`);
    return this.dataSync()[0]!;
  }

  /** The data as a flat typed array (narrow floats decoded to Float32Array, int4 one value per byte). */
  abstract data(): Promise<HostData>;
  /** The data, synchronously; only for arrays whose data is on the host. */
  abstract dataSync(): HostData;

  /** Releases the array's data now (device memory goes back to its pool); a no-op for tracers. */
  dispose(): void {}

  /** The data as nested JS arrays (numbers; booleans for bool). */
  async toList(): Promise<unknown> {
    return nest(await this.data(), this.shape, this.dtype === "bool");
  }

  /** The single value of a one-element array. */
  async item(): Promise<number | boolean> {
    if (this.size !== 1) throw new ArgumentError(`item: the array has ${this.size} elements, expected 1`);
    const v = (await this.data())[0]!;
    return this.dtype === "bool" ? v !== 0 : v;
  }

  private static isArrayOfDims(shape: unknown[]): shape is [readonly number[]] {
    return shape.length === 1 && globalThis.Array.isArray(shape[0]);
  }
}

function nest(data: HostData, shape: readonly number[], asBool: boolean): unknown {
  const value = (i: number): number | boolean => (asBool ? data[i] !== 0 : data[i]!);
  if (shape.length === 0) return value(0);
  const build = (axis: number, offset: number, stride: number): unknown[] => {
    const n = shape[axis]!;
    const inner = stride / Math.max(n, 1);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      out.push(axis === shape.length - 1 ? value(offset + i) : build(axis + 1, offset + i * inner, inner));
    }
    return out;
  };
  return build(0, 0, shape.reduce((a, b) => a * b, 1));
}

/** Where an ArrayImpl's data lives. Devices other than the host implement this in src/runtime. */
export interface Buffer {
  readonly device: string;
  read(): Promise<HostData>;
  /** Synchronous read, available when the data is on the host. */
  readSync?(): HostData;
  release(): void;
}

/** The device name of host memory: arrays the CPU device and the reference interpreter make live there. */
export const HOST_DEVICE = "cpu";

export class HostBuffer implements Buffer {
  readonly device = HOST_DEVICE;
  constructor(readonly host: HostData) {}
  read(): Promise<HostData> {
    return Promise.resolve(this.host);
  }
  readSync(): HostData {
    return this.host;
  }
  release(): void {}
}

// The safety net for arrays dropped without dispose(): release their buffer when they are collected. Host buffers
// are left out: they own nothing the collector does not free, and the registry would hold their data (its held
// value) until its callback ran, a task after a collection; synchronous eager work kept every intermediate alive
// that long (an eager quantize of 16 MB held 730 MB).
const finalizer = new FinalizationRegistry<Buffer>((buffer) => buffer.release());

/** A concrete array: an abstract value plus a buffer. Immutable. */
export class ArrayImpl extends Array {
  #buffer: Buffer | undefined;
  readonly #aval: ShapedArray;

  constructor(aval: ShapedArray, buffer: Buffer) {
    super();
    this.#aval = aval;
    this.#buffer = buffer;
    if (!(buffer instanceof HostBuffer)) finalizer.register(this, buffer, this);
  }

  get aval(): ShapedArray {
    return this.#aval;
  }

  get device(): string {
    return this.buffer.device;
  }

  get buffer(): Buffer {
    if (!this.#buffer) throw new DisposedError(`this ${this.#aval.toString()} array was disposed and cannot be used`);
    return this.#buffer;
  }

  get disposed(): boolean {
    return this.#buffer === undefined;
  }

  data(): Promise<HostData> {
    return this.buffer.read();
  }

  dataSync(): HostData {
    const buffer = this.buffer;
    if (!buffer.readSync) throw new ArgumentError(`dataSync: the data is on device '${buffer.device}'; use await x.data()`);
    return buffer.readSync();
  }

  /** Releases the data now. Later use of this array raises DisposedError. */
  override dispose(): void {
    if (!this.#buffer) return;
    finalizer.unregister(this);
    this.#buffer.release();
    this.#buffer = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  override toString(): string {
    const buffer = this.buffer;
    if (!buffer.readSync) return `Array(<${this.aval.toString()} on ${buffer.device}; read it with await x.data()>)`;
    return formatArray(buffer.readSync(), this.shape, this.dtype);
  }
}

/** A concrete array on the host around `data` (not copied). */
export function arrayFromHost(data: HostData, aval: ShapedArray): ArrayImpl {
  return new ArrayImpl(aval, new HostBuffer(data));
}

/** A rank-0 array holding `value` converted to `dtype`. */
export function scalarArray(value: number | boolean, dtype: DType, weakType = false): ArrayImpl {
  const data = allocHost(dtype, 1);
  data[0] = convertScalar(Number(value), typeof value === "number" && !Number.isInteger(value) ? "float32" : "int32", dtype);
  return arrayFromHost(data, new ShapedArray([], dtype, weakType));
}
