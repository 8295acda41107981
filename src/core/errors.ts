/** Error classes users can catch by kind. Messages name the argument and the expected and actual values. */

export class WgjaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A shape does not fit what an operation expects. */
export class ShapeError extends WgjaxError {}

/** A dtype does not fit what an operation expects, or two dtypes cannot be promoted. */
export class DTypeError extends WgjaxError {}

/** A value has the wrong kind (not an array, not a number, an unknown option, ...). */
export class ArgumentError extends WgjaxError {}

/** A traced value was used where a concrete one is needed. */
export class ConcretizationError extends WgjaxError {}

/** An array was used after `dispose()`. */
export class DisposedError extends WgjaxError {}

export const fmtShape = (shape: readonly number[]): string => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
