// Forward values and gradients against PyTorch (fixtures from fixtures/nn/attention.py):
// scaledDotProductAttention (composed 2.x reference: bool/additive masks, causal, broadcasting,
// custom scale), MultiheadAttention (1.13's module, weights loaded from its state dict: masks,
// keyPaddingMask, batchFirst both ways, kdim/vdim, unbatched, bias_k/v, no bias), RMSNorm (composed
// 2.4 reference) and the activations. Tolerance 1e-5 relative plus a small absolute term, as our
// float32 kernels may sum in another order than PyTorch's; with the flag off and on.
import "@lockstep/backend-cpu";
import { areDeterministicAlgorithmsEnabled, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { MultiheadAttention, RMSNorm, functional as F } from "../src/index.js";
import { expectTensorClose, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

interface SdpaCase {
  name: string;
  q: Encoded;
  k: Encoded;
  v: Encoded;
  attnMask?: Encoded;
  isCausal: boolean;
  scale: number | null;
  upstream: Encoded;
  out: Encoded;
  grads: Record<"q" | "k" | "v", Encoded>;
}

interface MhaCase {
  name: string;
  ctor: { embedDim: number; numHeads: number; batchFirst: boolean; kdim: number | null; vdim: number | null; bias: boolean; addBiasKv: boolean };
  shared: "qkv" | "kv" | null;
  state: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  forward: { needWeights: boolean; averageAttnWeights: boolean; keyPaddingMask: Encoded | null; attnMask: Encoded | null; isCausal: boolean };
  upstream: Encoded[];
  out: Encoded;
  weights: Encoded | null;
  inputGrads: Record<string, Encoded>;
  paramGrads: Record<string, Encoded>;
}

interface RmsCase {
  name: string;
  normalizedShape: number[];
  eps: number | null;
  x: Encoded;
  weight?: Encoded;
  upstream: Encoded;
  out: Encoded;
  grads: Record<string, Encoded>;
}

interface ActivationCase {
  name: string;
  options: { negativeSlope?: number; beta?: number; threshold?: number };
  x: Encoded;
  upstream: Encoded;
  out: Encoded;
  grad: Encoded;
}

const fixture = readFixture<{ sdpa: SdpaCase[]; mha: MhaCase[]; rmsNorm: RmsCase[]; activations: ActivationCase[] }>("attention.json");

const RTOL = 1e-5;
const ATOL = 1e-6;

const initialMode = areDeterministicAlgorithmsEnabled();
afterEach(() => useDeterministicAlgorithms(initialMode));

const leaf = (e: Encoded): Tensor => toTensor(e).requiresGrad_();

const ACTIVATIONS: Record<string, (x: Tensor, o: ActivationCase["options"]) => Tensor> = {
  relu: (x) => F.relu(x),
  gelu: (x) => F.gelu(x),
  silu: (x) => F.silu(x),
  sigmoid: (x) => F.sigmoid(x),
  tanh: (x) => F.tanh(x),
  leakyRelu: (x, o) => F.leakyRelu(x, o.negativeSlope),
  softplus: (x, o) => F.softplus(x, o),
};

describe.each([
  ["fast kernels", false],
  ["deterministic kernels", true],
] as const)("attention parity with PyTorch (%s)", (_, deterministic) => {
  it.each(fixture.sdpa.map((c) => [c.name, c] as const))("scaledDotProductAttention %s: output and q/k/v gradients", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const [q, k, v] = [leaf(c.q), leaf(c.k), leaf(c.v)];
    const out = F.scaledDotProductAttention(q, k, v, {
      attnMask: c.attnMask === undefined ? undefined : toTensor(c.attnMask),
      isCausal: c.isCausal,
      scale: c.scale ?? undefined,
    });
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    out.backward(toTensor(c.upstream));
    expectTensorClose(q.grad, c.grads.q, RTOL, ATOL, `${name}: grad of q`);
    expectTensorClose(k.grad, c.grads.k, RTOL, ATOL, `${name}: grad of k`);
    expectTensorClose(v.grad, c.grads.v, RTOL, ATOL, `${name}: grad of v`);
  });

  it.each(fixture.mha.map((c) => [c.name, c] as const))("MultiheadAttention %s: output, weights, input and parameter gradients", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const mha = new MultiheadAttention(c.ctor.embedDim, c.ctor.numHeads, {
      batchFirst: c.ctor.batchFirst,
      kdim: c.ctor.kdim ?? undefined,
      vdim: c.ctor.vdim ?? undefined,
      bias: c.ctor.bias,
      addBiasKv: c.ctor.addBiasKv,
    });
    mha.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([key, e]) => [key, leaf(e)]));
    const query = inputs.query!;
    const key = c.shared === "qkv" ? query : inputs.key!;
    const value = c.shared === null ? inputs.value! : key;
    const [out, weights] = mha.forward(query, key, value, {
      keyPaddingMask: c.forward.keyPaddingMask === null ? undefined : toTensor(c.forward.keyPaddingMask),
      attnMask: c.forward.attnMask === null ? undefined : toTensor(c.forward.attnMask),
      needWeights: c.forward.needWeights,
      averageAttnWeights: c.forward.averageAttnWeights,
      isCausal: c.forward.isCausal,
    });
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    if (c.weights === null) expect(weights).toBeUndefined();
    else expectTensorClose(weights, c.weights, RTOL, ATOL, `${name}: attention weights`);
    let loss = out.mul(toTensor(c.upstream[0]!)).sum();
    if (weights !== undefined) loss = loss.add(weights.mul(toTensor(c.upstream[1]!)).sum());
    loss.backward();
    for (const [key, e] of Object.entries(c.inputGrads)) expectTensorClose(inputs[key]!.grad, e, RTOL, ATOL, `${name}: grad of ${key}`);
    const params = new Map(mha.namedParameters());
    expect([...params.keys()].sort()).toEqual(Object.keys(c.paramGrads).sort());
    for (const [key, e] of Object.entries(c.paramGrads)) expectTensorClose(params.get(key)!.grad, e, RTOL, ATOL, `${name}: grad of ${key}`);
  });

  it.each(fixture.rmsNorm.map((c) => [c.name, c] as const))("RMSNorm %s: output and gradients", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const norm = new RMSNorm(c.normalizedShape, { eps: c.eps ?? undefined, elementwiseAffine: c.weight !== undefined });
    if (c.weight !== undefined) norm.loadStateDict({ weight: toTensor(c.weight) });
    else expect(norm.weight).toBeUndefined();
    const x = leaf(c.x);
    const out = norm.forward(x);
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    out.backward(toTensor(c.upstream));
    expectTensorClose(x.grad, c.grads.x!, RTOL, ATOL, `${name}: grad of x`);
    if (c.weight !== undefined) expectTensorClose(norm.weight!.grad, c.grads.weight!, RTOL, ATOL, `${name}: grad of weight`);
  });

  it.each(fixture.activations.map((c) => [c.name, c] as const))("%s: output and gradient", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const x = leaf(c.x);
    const out = ACTIVATIONS[name.split("-")[0]!]!(x, c.options);
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    out.backward(toTensor(c.upstream));
    expectTensorClose(x.grad, c.grad, RTOL, ATOL, `${name}: gradient`);
  });
});
