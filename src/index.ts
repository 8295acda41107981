/** wgjax: a JAX-compatible tracing/jit compiler in TypeScript. The public API. */
export * as numpy from "./ops/numpy/index.js";
export * as lax from "./lax.js";
import "./vjp/calls.js";
import "./vjp/customBatch.js";
import "./vmap/calls.js";
export { vmap, type AxisSpec, type VmapOptions } from "./vmap/api.js";
export { grad, hessian, jacfwd, jacrev, jvp, linearize, valueAndGrad, vjp, type GradOptions } from "./vjp/api.js";
export { stopGradient } from "./ops/lax/api.js";
export { customJvp, customVjp, type CustomJvpFunction, type CustomVjpFunction } from "./vjp/custom.js";
export { GradientCheckError, checkGrads, type CheckGradsOptions } from "./vjp/checkGrads.js";
export * as nn from "./ops/nn/index.js";
export {
  type GmmBackend,
  type GmmCall,
  type GmmOptions,
  type GmmRequest,
  GroupSizesError,
  type TgmmCall,
  type TgmmOptions,
  type Tiles,
  type Tiling,
  type TilingFunction,
  getGmmBackend,
  gmm,
  gmmBackends,
  registerGmmBackend,
  tgmm,
} from "./ops/gmm/index.js";
export * as random from "./ops/random/index.js";
export * as quant from "./quant/index.js";
export * as moe from "./ops/moe/index.js";
export * as optim from "./optim/index.js";
export * as reference from "./reference.js";
export * as tree from "./core/tree.js";
export { makeJaxpr } from "./trace/stage.js";
export { jit, type JitOptions, type Jitted } from "./trace/jit.js";
export { defaultDevice, devices, setDefaultDevice } from "./trace/executable.js";
export { deviceGet, devicePut } from "./trace/devicePut.js";
import { interpreterExecutable, registerCompiler } from "./trace/executable.js";
import { LoweringError } from "./lowering/lower.js";
import { planJaxpr } from "./lowering/plan.js";
import { cpuPlanExecutable, cpuPut } from "./runtime/cpuPlan.js";
// The CPU device runs kernels; a jaxpr the kernel lowering cannot take (float64 and the other host-only dtypes)
// runs on the reference interpreter, in the same host memory.
registerCompiler(
  "cpu",
  (closed) => {
    try {
      return cpuPlanExecutable(planJaxpr(closed, { target: "cpu" }));
    } catch (error) {
      if (error instanceof LoweringError) return interpreterExecutable(closed);
      throw error;
    }
  },
  cpuPut,
);
export { closeWebGpu, initWebGpu } from "./webgpuInit.js";
export { bind } from "./trace/trace.js";
export { cse, dce, foldConstants, inlineCalls } from "./trace/passes.js";
export { ClosedJaxpr, Jaxpr, Literal, Var, checkJaxpr, evalJaxpr } from "./trace/jaxpr.js";
export { LeakedTracerError, Tracer } from "./trace/trace.js";

export { Array, ArrayImpl, type ArrayLike, type IndexEntry } from "./core/array.js";
export { ShapedArray } from "./core/aval.js";
export type { Primitive } from "./core/primitive.js";
export { DTYPES, type DType, type DTypeInfo, dtypeInfo, promoteTypes, resultType } from "./core/dtype.js";
export { ArgumentError, ConcretizationError, DTypeError, DisposedError, ShapeError, WgjaxError } from "./core/errors.js";
export { packInt4, unpackInt4 } from "./core/hostData.js";
