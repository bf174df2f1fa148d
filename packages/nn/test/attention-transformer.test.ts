// TransformerEncoderLayer (post- and pre-norm, relu and gelu, masks, batchFirst both ways),
// TransformerDecoderLayer and a 2-layer TransformerEncoder against PyTorch 1.13's modules: the
// output and the gradients of the inputs and of every parameter, with weights loaded from PyTorch's
// state dict (fixtures from fixtures/nn/attention.py; dropout 0, training mode). Flag off and on.
// Then the same modules with dropout in training mode after a seed: PyTorch's outputs and the same
// number of draws, so the dropout masks and their order are PyTorch's.
import "@lockstep/backend-cpu";
import { areDeterministicAlgorithmsEnabled, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { manualSeed, rand } from "@lockstep/random";
import {
  GELU,
  LayerNorm,
  MultiheadAttention,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  functional as F,
  type TransformerLayerOptions,
} from "../src/index.js";
import { expectBits, expectTensorClose, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

interface LayerCase {
  name: string;
  kind: "encoderLayer" | "decoderLayer" | "encoder";
  ctor: {
    dModel: number;
    nhead: number;
    dimFeedforward: number;
    activation?: "relu" | "gelu";
    normFirst?: boolean;
    batchFirst?: boolean;
    numLayers?: number;
    finalNorm?: boolean;
  };
  state: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  forward: Record<string, Encoded>;
  upstream: Encoded;
  out: Encoded;
  inputGrads: Record<string, Encoded>;
  paramGrads: Record<string, Encoded>;
}

const { transformer } = readFixture<{ transformer: LayerCase[] }>("attention.json");

const RTOL = 1e-5;
const ATOL = 1e-6;

const initialMode = areDeterministicAlgorithmsEnabled();
afterEach(() => useDeterministicAlgorithms(initialMode));

function run(c: LayerCase): { module: TransformerEncoderLayer | TransformerDecoderLayer | TransformerEncoder; out: Tensor; inputs: Record<string, Tensor> } {
  const options: TransformerLayerOptions = {
    dimFeedforward: c.ctor.dimFeedforward,
    dropout: 0,
    activation: c.ctor.activation ?? "relu",
    normFirst: c.ctor.normFirst ?? false,
    batchFirst: c.ctor.batchFirst ?? false,
  };
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([key, e]) => [key, toTensor(e).requiresGrad_()]));
  const masks = Object.fromEntries(Object.entries(c.forward).map(([key, e]) => [key, toTensor(e)]));
  if (c.kind === "encoderLayer") {
    const module = new TransformerEncoderLayer(c.ctor.dModel, c.ctor.nhead, options);
    module.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
    return { module, inputs, out: module.forward(inputs.src!, { srcMask: masks.src_mask, srcKeyPaddingMask: masks.src_key_padding_mask }) };
  }
  if (c.kind === "decoderLayer") {
    const module = new TransformerDecoderLayer(c.ctor.dModel, c.ctor.nhead, options);
    module.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
    const out = module.forward(inputs.tgt!, inputs.memory!, {
      tgtMask: masks.tgt_mask,
      memoryMask: masks.memory_mask,
      tgtKeyPaddingMask: masks.tgt_key_padding_mask,
      memoryKeyPaddingMask: masks.memory_key_padding_mask,
    });
    return { module, inputs, out };
  }
  const layer = new TransformerEncoderLayer(c.ctor.dModel, c.ctor.nhead, options);
  const module = new TransformerEncoder(layer, c.ctor.numLayers!, { norm: c.ctor.finalNorm ? new LayerNorm(c.ctor.dModel) : undefined });
  module.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
  return { module, inputs, out: module.forward(inputs.src!, { srcMask: masks.mask, srcKeyPaddingMask: masks.src_key_padding_mask }) };
}

describe.each([
  ["fast kernels", false],
  ["deterministic kernels", true],
] as const)("transformer layers equal PyTorch's (%s)", (_, deterministic) => {
  it.each(transformer.map((c) => [c.name, c] as const))("%s: output, input and parameter gradients", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const { module, out, inputs } = run(c);
    expect(Object.keys(module.stateDict())).toEqual(Object.keys(c.state));
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    out.backward(toTensor(c.upstream));
    for (const [key, e] of Object.entries(c.inputGrads)) expectTensorClose(inputs[key]!.grad, e, RTOL, ATOL, `${name}: grad of ${key}`);
    const params = new Map(module.namedParameters());
    for (const [key, e] of Object.entries(c.paramGrads)) expectTensorClose(params.get(key)!.grad, e, RTOL, ATOL, `${name}: grad of ${key}`);
  });
});

describe("isCausal", () => {
  it("is a hint: with the causal mask it gives the same bits as without the hint", () => {
    const c = transformer.find((x) => x.name === "encoder-pre-norm-gelu-masks")!;
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, normFirst: true, activation: "gelu" });
    layer.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
    const src = toTensor(c.inputs.src!);
    const mask = F.generateSquareSubsequentMask(5);
    const a = layer.forward(src, { srcMask: mask, isCausal: true }).dataSync();
    const b = layer.forward(src, { srcMask: mask }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

interface DropoutCase {
  name: string;
  kind: "mha" | "encoderLayer" | "decoderLayer" | "encoder" | "sdpa";
  ctor: { dModel: number; nhead: number; dimFeedforward?: number; dropout: number; numLayers?: number };
  state: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  forward: Record<string, Encoded>;
  forwardSeed: number;
  out: Encoded;
  weights: Encoded | null;
  tail: Encoded;
}

const { dropout } = readFixture<{ dropout: DropoutCase[] }>("attention.json");

describe("dropout in training mode draws PyTorch's masks in PyTorch's order", () => {
  it.each(dropout.map((c) => [c.name, c] as const))("%s: output equals PyTorch's and the next four draws too", (name, c) => {
    const { dModel, nhead, dimFeedforward, numLayers } = c.ctor;
    const options: TransformerLayerOptions = { dimFeedforward, dropout: c.ctor.dropout, batchFirst: true };
    const state = Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)]));
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([key, e]) => [key, toTensor(e)]));
    const masks = Object.fromEntries(Object.entries(c.forward).map(([key, e]) => [key, toTensor(e)]));
    let out: Tensor;
    let weights: Tensor | undefined;
    if (c.kind === "sdpa") {
      manualSeed(c.forwardSeed);
      out = F.scaledDotProductAttention(inputs.q!, inputs.k!, inputs.v!, { dropoutP: c.ctor.dropout });
    } else if (c.kind === "mha") {
      const mha = new MultiheadAttention(dModel, nhead, { dropout: c.ctor.dropout, batchFirst: true });
      mha.loadStateDict(state);
      manualSeed(c.forwardSeed);
      [out, weights] = mha.forward(inputs.query!, inputs.query!, inputs.query!, { keyPaddingMask: masks.key_padding_mask });
    } else if (c.kind === "decoderLayer") {
      const layer = new TransformerDecoderLayer(dModel, nhead, options);
      layer.loadStateDict(state);
      manualSeed(c.forwardSeed);
      out = layer.forward(inputs.tgt!, inputs.memory!, { tgtMask: masks.tgt_mask });
    } else {
      const module = c.kind === "encoderLayer"
        ? new TransformerEncoderLayer(dModel, nhead, options)
        : new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, options), numLayers!);
      module.loadStateDict(state);
      manualSeed(c.forwardSeed);
      out = module.forward(inputs.src!, { srcKeyPaddingMask: masks.src_key_padding_mask });
    }
    expectBits(rand([4]), c.tail, `${name}: the next four draws after forward`);
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    if (c.weights !== null) expectTensorClose(weights, c.weights, RTOL, ATOL, `${name}: attention weights after dropout`);
  });
});

describe("layer options beyond PyTorch 1.13", () => {
  it("bias: false drops every Linear, projection and LayerNorm bias (PyTorch 2.1+'s keys)", () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, bias: false });
    expect(Object.keys(layer.stateDict())).toEqual([
      "self_attn.in_proj_weight",
      "self_attn.out_proj.weight",
      "linear1.weight",
      "linear2.weight",
      "norm1.weight",
      "norm2.weight",
    ]);
    expect([...layer.forward(toTensor(transformer[0]!.inputs.src!)).shape]).toEqual([5, 3, 8]);
  });

  it("an activation module is called in the feed-forward block, like PyTorch's callable activation", () => {
    const c = transformer.find((x) => x.name === "encoder-post-norm-gelu-batch-first")!;
    const state = Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)]));
    const byName = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: "gelu", batchFirst: true });
    const byModule = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: new GELU(), batchFirst: true });
    byName.loadStateDict(state);
    byModule.loadStateDict(state);
    const src = toTensor(c.inputs.src!);
    expect(Array.from(byModule.forward(src).dataSync())).toEqual(Array.from(byName.forward(src).dataSync()));
    expect(Object.keys(byModule.stateDict())).toEqual(Object.keys(byName.stateDict()));
  });
});
