// nn.functional against PyTorch 1.13: forward values and the gradients that `.backward()` leaves in
// `.grad`, for fixed float32 inputs (fixtures from fixtures/nn/generate.py). Tolerance: 1e-5
// relative plus a small absolute term, as float32 kernels may sum in a different order.
import "@lockstep/backend-cpu";
import { areDeterministicAlgorithmsEnabled, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { functional as F, type functional } from "../src/index.js";
import { expectTensorClose, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

interface FunctionalCase {
  name: string;
  options: {
    reduction?: functional.Reduction;
    labelSmoothing?: number;
    ignoreIndex?: number;
    normalizedShape?: number[];
    eps?: number;
    approximate?: "none" | "tanh";
    dim?: number;
  };
  inputs: Record<string, Encoded>;
  ints: Record<string, { shape: number[]; values: number[] }>;
  upstream: Encoded | null;
  out: Encoded;
  grads: Record<string, Encoded>;
}

const { cases } = readFixture<{ cases: FunctionalCase[] }>("functional.json");

const RTOL = 1e-5;
const ATOL = 1e-6;

type Op = (inputs: Record<string, Tensor>, ints: Record<string, Tensor>, options: FunctionalCase["options"]) => Tensor;

/** The Lockstep call for each case family (the name's first word). */
const OPS: Record<string, Op> = {
  linear: (t) => F.linear(t.x!, t.weight!, t.bias),
  layerNorm: (t, _, o) => F.layerNorm(t.x!, o.normalizedShape!, t.weight, t.bias, o.eps),
  crossEntropy: (t, i, o) => F.crossEntropy(t.logits!, i.target!, o),
  nllLoss: (t, i, o) => F.nllLoss(t.logProbs!, i.target!, o),
  mseLoss: (t, _, o) => F.mseLoss(t.input!, t.target!, o),
  binaryCrossEntropyWithLogits: (t, _, o) => F.binaryCrossEntropyWithLogits(t.input!, t.target!, { ...o, posWeight: t.posWeight }),
  gelu: (t, _, o) => F.gelu(t.x!, { approximate: o.approximate }),
  softmax: (t, _, o) => F.softmax(t.x!, o.dim!),
  logSoftmax: (t, _, o) => F.logSoftmax(t.x!, o.dim!),
};

const initialMode = areDeterministicAlgorithmsEnabled();
afterEach(() => useDeterministicAlgorithms(initialMode));

it("every fixture case has a Lockstep op", () => {
  expect(cases.map((c) => c.name.split(" ")[0]!).filter((op) => !(op in OPS))).toEqual([]);
});

describe.each([
  ["fast kernels", false],
  ["deterministic kernels", true],
] as const)("nn.functional forward and gradients equal PyTorch's (%s)", (_, deterministic) => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (name, c) => {
    useDeterministicAlgorithms(deterministic);
    const inputs: Record<string, Tensor> = {};
    for (const [key, e] of Object.entries(c.inputs)) {
      inputs[key] = toTensor(e);
      if (key in c.grads) inputs[key].requiresGrad_();
    }
    const ints: Record<string, Tensor> = {};
    for (const [key, v] of Object.entries(c.ints)) ints[key] = toTensor({ dtype: "int64", shape: v.shape, hex: v.values.map((n) => BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, "0")) });

    const out = OPS[name.split(" ")[0]!]!(inputs, ints, c.options);
    expectTensorClose(out, c.out, RTOL, ATOL, `${name}: output`);
    out.backward(c.upstream === null ? undefined : toTensor(c.upstream));
    for (const [key, e] of Object.entries(c.grads)) expectTensorClose(inputs[key]!.grad, e, RTOL, ATOL, `${name}: grad of ${key}`);
    for (const key of Object.keys(c.inputs)) if (!(key in c.grads)) expect(inputs[key]!.grad, `${name}: ${key} needs no grad`).toBeUndefined();
  });
});
