// Gradients of the attention layers in float64 against central finite differences (gradcheck from
// @lockstep/autograd): scaledDotProductAttention with bool, additive and causal masks and
// broadcasting, MultiheadAttention with separate kdim/vdim projections and padding, a pre-norm
// TransformerEncoderLayer with gelu, RMSNorm, softplus and leakyRelu. Independent of PyTorch.
import "@lockstep/backend-cpu";
import { gradcheck } from "@lockstep/autograd";
import { tensor, type Tensor } from "@lockstep/core";
import { manualSeed, randn } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import { MultiheadAttention, TransformerEncoderLayer, functional as F } from "../src/index.js";
import type { AnyModule } from "../src/module.js";

const leaf64 = (shape: number[]): Tensor => randn(shape, { dtype: "float64" }).requiresGrad_();

/**
 * gradcheck perturbs copies of its inputs, so a module's parameters are checked by swapping the
 * copies into the module's fields for the call (forward reads the fields each time).
 */
function withParameters(module: AnyModule, run: (inputs: Tensor[]) => Tensor | Tensor[], inputCount: number): [(...t: Tensor[]) => Tensor | Tensor[], Tensor[]] {
  const named = [...module.namedParameters()];
  const fn = (...t: Tensor[]): Tensor | Tensor[] => {
    const saved = named.map(([name, p], i) => {
      const path = name.split(".");
      const owner = path.slice(0, -1).reduce((m, key) => (m as unknown as Record<string, AnyModule>)[key]!, module) as unknown as Record<string, Tensor>;
      owner[path[path.length - 1]!] = t[inputCount + i]!;
      return () => (owner[path[path.length - 1]!] = p);
    });
    try {
      return run(t.slice(0, inputCount));
    } finally {
      saved.forEach((restore) => restore());
    }
  };
  return [fn, named.map(([, p]) => p)];
}

describe("float64 gradients equal finite differences", () => {
  it("scaledDotProductAttention: bool mask with broadcasting, additive mask, causal", () => {
    manualSeed(1);
    const [q, k, v] = [leaf64([2, 2, 3, 4]), leaf64([2, 1, 5, 4]), leaf64([1, 2, 5, 3])];
    const keep = tensor([[true, false, true, true, false], [true, true, false, true, true], [false, true, true, true, true]], { dtype: "bool" });
    expect(gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { attnMask: keep }), [q, k, v])).toBe(true);
    const additive = randn([2, 1, 3, 5], { dtype: "float64" });
    expect(gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { attnMask: additive, scale: 0.7 }), [q, k, v])).toBe(true);
    const [qs, ks, vs] = [leaf64([2, 4, 3]), leaf64([2, 4, 3]), leaf64([2, 4, 2])];
    expect(gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { isCausal: true }), [qs, ks, vs])).toBe(true);
  });

  it("MultiheadAttention with kdim/vdim, bias_k/v, padding and per-head weights: inputs and parameters", () => {
    manualSeed(2);
    const mha = new MultiheadAttention(4, 2, { kdim: 3, vdim: 5, dtype: "float64", batchFirst: true });
    const [query, key, value] = [leaf64([2, 3, 4]), leaf64([2, 4, 3]), leaf64([2, 4, 5])];
    const padding = tensor([[false, false, true, false], [false, true, true, false]], { dtype: "bool" });
    const [fn, params] = withParameters(mha, ([q, k, v]) => {
      const [out, weights] = mha.forward(q!, k!, v!, { keyPaddingMask: padding, averageAttnWeights: false });
      return [out, weights!];
    }, 3);
    expect(gradcheck(fn, [query, key, value, ...params])).toBe(true);
    const withBias = new MultiheadAttention(4, 2, { addBiasKv: true, dtype: "float64" });
    const x = leaf64([3, 2, 4]);
    const causal = tensor([[false, true, true], [false, false, true], [false, false, false]], { dtype: "bool" });
    const [selfFn, biasParams] = withParameters(withBias, ([t]) => withBias.forward(t!, t!, t!, { attnMask: causal })[0], 1);
    expect(gradcheck(selfFn, [x, ...biasParams])).toBe(true);
  });

  it("TransformerEncoderLayer (pre-norm, gelu, padding): input and every parameter", () => {
    manualSeed(3);
    const layer = new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, normFirst: true, activation: "gelu", dtype: "float64" });
    const x = leaf64([3, 2, 4]);
    const padding = tensor([[false, false, true], [false, false, false]], { dtype: "bool" });
    const [fn, params] = withParameters(layer, ([t]) => layer.forward(t!, { srcKeyPaddingMask: padding }), 1);
    expect(gradcheck(fn, [x, ...params])).toBe(true);
  });

  it("rmsNorm, softplus (both branches and the threshold region) and leakyRelu", () => {
    manualSeed(4);
    const x = leaf64([3, 4]);
    const w = leaf64([4]);
    expect(gradcheck((a, b) => F.rmsNorm(a!, [4], b), [x, w])).toBe(true);
    const wide = tensor([-30, -3, -0.5, 0.3, 2, 4.5, 30], { dtype: "float64" }).requiresGrad_();
    expect(gradcheck((a) => F.softplus(a!, { beta: 2, threshold: 5 }), [wide])).toBe(true);
    expect(gradcheck((a) => F.leakyRelu(a!, 0.2), [wide])).toBe(true);
  });
});
