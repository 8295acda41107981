import { describe, expect, it } from "vitest";
import { type Array as JaxArray, GradientCheckError, checkGrads, customJvp, grad, jit, nn, numpy as np } from "../../src/index.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(7);

describe("gradients of compositions", () => {
  const params = { w1: randomArray(next, [4, 5], "float32", 0.5), b1: randomArray(next, [5]), w2: randomArray(next, [5, 3], "float32", 0.5) };
  const x = randomArray(next, [6, 4]);
  const labels = nn.oneHot(np.array([0, 2, 1, 1, 0, 2], { dtype: "int32" }), 3);
  const mlpLoss = (p: { w1: A; b1: A; w2: A }, data: A, y: A) => {
    const h = np.tanh(np.matmul(data, p.w1).add(p.b1));
    return np.mean(np.sum(nn.logSoftmax(np.matmul(h, p.w2)).mul(y), { axis: 1 }).neg());
  };

  it("an MLP loss with softmax cross-entropy", () => {
    checkGrads((p: { w1: A; b1: A; w2: A }) => mlpLoss(p, x.astype("float64"), labels.astype("float64")), [params], { order: 2 });
  });

  it("softmax and logsumexp", () => {
    checkGrads((v: A) => nn.softmax(v), [randomArray(next, [2, 4])], { order: 2 });
    checkGrads((v: A) => nn.logsumexp(v, { axis: 1 }), [randomArray(next, [3, 4])], { order: 2 });
  });

  it("through jit", () => {
    checkGrads(jit((v: A) => np.sum(nn.gelu(v).mul(v))), [randomArray(next, [5])], { order: 2 });
    const g = jit(grad(mlpLoss));
    const eager = grad(mlpLoss)(params, x, labels) as { w1: A };
    expect(Array.from((g(params, x, labels) as { w1: A }).w1.dataSync())).toEqual(Array.from(eager.w1.dataSync()));
  });

  it("reports the worst element, both values and the tolerance when a gradient is wrong", () => {
    const wrongSin = customJvp((v: A) => np.sin(v)).defjvp(([v]: A[], [t]: A[]) => [np.sin(v!), t!]);
    expect(() => checkGrads(wrongSin, [np.array([0.123, 1.456])], { order: 1, modes: ["fwd"] })).toThrow(GradientCheckError);
    expect(() => checkGrads(wrongSin, [np.array([0.123, 1.456])], { order: 1, modes: ["fwd"] })).toThrow(
      /the JVP differs from finite differences at output leaf 0, element \d: got .*, expected .* \(\|difference\| .*, tolerance atol 0.00001 \+ rtol 0.00001·\|expected\|\)/,
    );
  });
});
