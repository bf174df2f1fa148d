// TransformerEncoderLayer (post- and pre-norm, relu and gelu, masks, batchFirst both ways),
// TransformerDecoderLayer and a 2-layer TransformerEncoder against PyTorch 1.13's modules: the
// output and the gradients of the inputs and of every parameter, with weights loaded from PyTorch's
// state dict (fixtures from fixtures/nn/attention.py; dropout 0, training mode). Flag off and on.
import "@lockstep/backend-cpu";
import { areDeterministicAlgorithmsEnabled, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  LayerNorm,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  functional as F,
  type TransformerLayerOptions,
} from "../src/index.js";
import { expectTensorClose, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

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
