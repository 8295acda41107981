/** Abstract values: what tracing knows about an array (shape, dtype, weak type), not its data. */
import { type DType, dtypeInfo } from "./dtype.js";
import { type Shape, shapesEqual, sizeOf } from "./shape.js";

export class ShapedArray {
  readonly shape: Shape;
  constructor(
    shape: Shape,
    readonly dtype: DType,
    /** True for values that came from JS numbers: they take the other operand's dtype in promotion. */
    readonly weakType = false,
  ) {
    this.shape = Object.freeze([...shape]);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** Same shape and dtype (weak type is a promotion hint, not part of the type's identity). */
  equals(other: ShapedArray): boolean {
    return this.dtype === other.dtype && shapesEqual(this.shape, other.shape);
  }

  strongly(): ShapedArray {
    return this.weakType ? new ShapedArray(this.shape, this.dtype, false) : this;
  }

  /** JAX's short form: `f32[3,4]`. */
  toString(): string {
    return `${dtypeInfo(this.dtype).shortName}[${this.shape.join(",")}]`;
  }
}
