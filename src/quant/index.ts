/**
 * The `quant` namespace: qtypes, calibration, `quantize` / `dequantize` and the `QArray` they exchange (spec
 * §E). Everything is written with lax primitives, so it composes with `jit`, `grad` and every device.
 */
export { QArray, QTYPES, type QType } from "../core/qarray.js";
export { type Calibration, type CalibrationMethod, parseCalibration } from "./calibration.js";
export { type QTypeInfo, qtypeInfo } from "./qtypes.js";
export { type QuantizeOptions, dequantize, quantize } from "./quantize.js";
export { type QuantRule } from "./rule.js";
export { type Operand, type QuantizedBackend, quantized } from "./quantized.js";
export { type QuantizablePrimitive, type TransformRule, transform } from "./transform.js";
