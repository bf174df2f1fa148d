// Convolution, pooling and normalisation against PyTorch 1.13 (fixtures/nn/conv.py): forward
// values, the gradients `.backward()` leaves for input, weight and bias (loss = Σ out·upstream),
// max-pooling indices, BatchNorm's running statistics over three training steps and then eval,
// initialisation bit for bit, and PyTorch's messages for bad input. Float32 tolerance 1e-5
// relative (sums may be ordered differently from PyTorch's kernels), in both kernel modes.
import "@lockstep/backend-cpu";
import { manualSeed, rand } from "@lockstep/random";
import { ShapeError, ValueError, tensor, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import * as nn from "../src/index.js";
import { functional as F, loadSafetensors } from "../src/index.js";
import { fileURLToPath } from "node:url";
import { expectBits, expectTensorClose, fixtureUrl, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

const RTOL = 1e-5;
const ATOL = 1e-5;

interface ConvCase {
  op: "conv1d" | "conv2d";
  options: { stride?: number | number[]; padding?: number | number[] | "same" | "valid"; dilation?: number | number[]; groups?: number };
  x: Encoded;
  weight: Encoded;
  bias: Encoded | null;
  out: Encoded;
  upstream: Encoded;
  gradX: Encoded;
  gradWeight: Encoded;
  gradBias: Encoded | null;
}

interface PoolCase {
  op: string;
  options: Record<string, unknown>;
  x: Encoded;
  out: Encoded;
  indices?: number[];
  upstream: Encoded;
  gradX: Encoded;
}

interface BatchNormStep {
  x: Encoded;
  out: Encoded;
  upstream: Encoded;
  gradX: Encoded;
  gradWeight: Encoded | null;
  gradBias: Encoded | null;
  state: Record<string, Encoded>;
}

interface BatchNormCase {
  module: "BatchNorm1d" | "BatchNorm2d";
  numFeatures: number;
  options: { momentum?: number | null; eps?: number; affine?: boolean; track_running_stats?: boolean };
  start: Record<string, Encoded>;
  steps: BatchNormStep[];
  evalX: Encoded;
  evalOut: Encoded;
}

interface GroupNormCase {
  groups: number;
  eps: number;
  x: Encoded;
  weight: Encoded | null;
  bias: Encoded | null;
  out: Encoded;
  upstream: Encoded;
  gradX: Encoded;
  gradWeight: Encoded | null;
  gradBias: Encoded | null;
}

interface InitCase {
  seed: number;
  module: string;
  args: (number | number[])[];
  options: Record<string, unknown>;
  state: Record<string, Encoded>;
  tail: Encoded;
}

const fixture = readFixture<{
  conv: ConvCase[];
  pool: PoolCase[];
  batchnorm: BatchNormCase[];
  groupnorm: GroupNormCase[];
  init: InitCase[];
  errors: Record<string, string>;
}>("conv.json");

/** Leaf copies of fixture tensors that require grad. */
function leaf(e: Encoded): Tensor {
  return toTensor(e).requiresGrad_(true);
}

function backward(out: Tensor, upstream: Encoded): void {
  out.mul(toTensor(upstream)).sum().backward();
}

/** PyTorch's snake_case pooling options as Lockstep's camelCase ones. */
function camel(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}

const POOLS: Record<string, (x: Tensor, o: Record<string, unknown>) => [Tensor, Tensor?]> = {
  max_pool2d: (x, { kernelSize, ...o }) => F.maxPool2dWithIndices(x, kernelSize as number, o),
  max_pool1d: (x, { kernelSize, ...o }) => F.maxPool1dWithIndices(x, kernelSize as number, o),
  avg_pool2d: (x, { kernelSize, ...o }) => [F.avgPool2d(x, kernelSize as number, o)],
  avg_pool1d: (x, { kernelSize, ...o }) => [F.avgPool1d(x, kernelSize as number, o)],
  adaptive_avg_pool2d: (x, o) => [F.adaptiveAvgPool2d(x, o.outputSize as number)],
  adaptive_avg_pool1d: (x, o) => [F.adaptiveAvgPool1d(x, o.outputSize as number)],
};

afterEach(() => useDeterministicAlgorithms(false));

describe.each([false, true])("deterministic=%s", (deterministic) => {
  it.each(fixture.conv.map((c, i) => [`${i}: ${c.op} x${JSON.stringify(c.x.shape)} w${JSON.stringify(c.weight.shape)} ${JSON.stringify(c.options)}`, c] as const))(
    "%s matches PyTorch forward and backward",
    (_, c) => {
      useDeterministicAlgorithms(deterministic);
      const x = leaf(c.x);
      const weight = leaf(c.weight);
      const bias = c.bias === null ? undefined : leaf(c.bias);
      const out = (c.op === "conv2d" ? F.conv2d : F.conv1d)(x, weight, bias, c.options);
      expectTensorClose(out, c.out, RTOL, ATOL, "out");
      backward(out, c.upstream);
      expectTensorClose(x.grad, c.gradX, RTOL, ATOL, "grad x");
      expectTensorClose(weight.grad, c.gradWeight, RTOL, ATOL, "grad weight");
      if (c.gradBias !== null) expectTensorClose(bias!.grad, c.gradBias, RTOL, ATOL, "grad bias");
    },
  );

  it.each(fixture.pool.map((c, i) => [`${i}: ${c.op} ${JSON.stringify(c.x.shape)} ${JSON.stringify(c.options)}`, c] as const))(
    "%s matches PyTorch forward, indices and backward",
    (_, c) => {
      useDeterministicAlgorithms(deterministic);
      const x = leaf(c.x);
      const [out, indices] = POOLS[c.op]!(x, camel(c.options));
      expectTensorClose(out, c.out, RTOL, ATOL, "out");
      if (c.indices !== undefined) expect(Array.from(indices!.dataSync() as Int32Array)).toEqual(c.indices);
      backward(out, c.upstream);
      expectTensorClose(x.grad, c.gradX, RTOL, ATOL, "grad x");
    },
  );

  it.each(fixture.batchnorm.map((c, i) => [`${i}: ${c.module}(${c.numFeatures}) ${JSON.stringify(c.options)}`, c] as const))(
    "%s: three training steps (outputs, gradients, running statistics) then eval match PyTorch",
    (_, c) => {
      useDeterministicAlgorithms(deterministic);
      const options = { ...camel(c.options) } as nn.BatchNormLayerOptions;
      const layer = new nn[c.module](c.numFeatures, options);
      const state = Object.fromEntries(Object.entries(c.start).map(([k, e]) => [k, toTensor(e)]));
      layer.loadStateDict(state);
      for (const [i, step] of c.steps.entries()) {
        layer.zeroGrad();
        const x = leaf(step.x);
        const out = layer.forward(x);
        expectTensorClose(out, step.out, RTOL, ATOL, `step ${i} out`);
        backward(out, step.upstream);
        expectTensorClose(x.grad, step.gradX, 1e-4, 1e-5, `step ${i} grad x`);
        if (step.gradWeight !== null) expectTensorClose(layer.weight!.grad, step.gradWeight, RTOL, ATOL, `step ${i} grad weight`);
        if (step.gradBias !== null) expectTensorClose(layer.bias!.grad, step.gradBias, RTOL, ATOL, `step ${i} grad bias`);
        const own = layer.stateDict();
        expect(Object.keys(own).sort()).toEqual(Object.keys(step.state).sort());
        for (const [key, e] of Object.entries(step.state)) {
          if (key === "num_batches_tracked") expectBits(own[key], e, `step ${i} ${key}`);
          else expectTensorClose(own[key], e, RTOL, ATOL, `step ${i} ${key}`);
        }
      }
      layer.eval();
      expectTensorClose(layer.forward(toTensor(c.evalX)), c.evalOut, RTOL, ATOL, "eval out");
    },
  );

  it.each(fixture.groupnorm.map((c, i) => [`${i}: groups ${c.groups} x${JSON.stringify(c.x.shape)}`, c] as const))(
    "groupNorm %s matches PyTorch forward and backward",
    (_, c) => {
      useDeterministicAlgorithms(deterministic);
      const x = leaf(c.x);
      const weight = c.weight === null ? undefined : leaf(c.weight);
      const bias = c.bias === null ? undefined : leaf(c.bias);
      const out = F.groupNorm(x, c.groups, { weight, bias, eps: c.eps });
      expectTensorClose(out, c.out, RTOL, ATOL, "out");
      backward(out, c.upstream);
      expectTensorClose(x.grad, c.gradX, 1e-4, 1e-5, "grad x");
      if (c.gradWeight !== null) expectTensorClose(weight!.grad, c.gradWeight, RTOL, ATOL, "grad weight");
      if (c.gradBias !== null) expectTensorClose(bias!.grad, c.gradBias, RTOL, ATOL, "grad bias");
    },
  );
});

describe("initialisation", () => {
  it.each(fixture.init.map((c) => [`${c.module}(${c.args.join(", ")}, ${JSON.stringify(c.options)}) seed ${c.seed}`, c] as const))(
    "%s equals PyTorch bit for bit, with the same number of draws",
    (_, c) => {
      manualSeed(c.seed);
      const options = camel(c.options);
      const layer =
        c.module === "Conv2d" ? new nn.Conv2d(c.args[0] as number, c.args[1] as number, c.args[2]!, options) :
        c.module === "Conv1d" ? new nn.Conv1d(c.args[0] as number, c.args[1] as number, c.args[2]!, options) :
        new nn[c.module as "BatchNorm1d" | "BatchNorm2d"](c.args[0] as number, options);
      const state = layer.stateDict();
      expect(Object.keys(state)).toEqual(Object.keys(c.state));
      for (const [key, e] of Object.entries(c.state)) expectBits(state[key], e, key);
      expectBits(rand([4]), c.tail, "torch.rand(4) after construction");
    },
  );
});

describe("bad input gets PyTorch's message and changes nothing", () => {
  const e = fixture.errors;
  const x4 = () => rand([1, 4, 6, 6]);
  it.each([
    ["conv2dRank", () => F.conv2d(rand([4, 6]), rand([6, 4, 3, 3]))],
    ["conv2dGroupsChannels", () => F.conv2d(rand([1, 5, 6, 6]), rand([6, 2, 3, 3]), undefined, { groups: 2 })],
    ["conv2dKernelTooLarge", () => F.conv2d(rand([1, 4, 4, 4]), rand([6, 4, 5, 5]))],
    ["conv2dStride", () => F.conv2d(x4(), rand([6, 4, 3, 3]), undefined, { stride: 0 })],
    ["conv2dDilation", () => F.conv2d(x4(), rand([6, 4, 3, 3]), undefined, { dilation: 0 })],
    ["conv2dPadding", () => F.conv2d(x4(), rand([6, 4, 3, 3]), undefined, { padding: -1 })],
    ["conv2dSameStrided", () => F.conv2d(x4(), rand([6, 4, 3, 3]), undefined, { padding: "same", stride: 2 })],
    ["conv2dPaddingString", () => F.conv2d(x4(), rand([6, 4, 3, 3]), undefined, { padding: "full" as "same" })],
    ["conv2dBias", () => F.conv2d(x4(), rand([6, 4, 3, 3]), rand([5]))],
    ["moduleGroupsIn", () => new nn.Conv2d(5, 6, 3, { groups: 2 })],
    ["moduleGroupsOut", () => new nn.Conv2d(4, 5, 3, { groups: 2 })],
    ["moduleGroupsZero", () => new nn.Conv2d(4, 4, 3, { groups: 0 })],
    ["maxPoolPadding", () => F.maxPool2d(x4(), 3, { padding: 2 })],
    ["maxPoolOutputSmall", () => F.maxPool2d(rand([1, 1, 2, 2]), 3)],
    ["avgPoolPadding", () => F.avgPool2d(x4(), 2, { padding: 2 })],
    ["batchNormChannels", () => new nn.BatchNorm2d(3).eval().forward(rand([2, 4, 3, 3]))],
    ["batchNorm2dRank", () => new nn.BatchNorm2d(3).forward(rand([2, 3, 3]))],
    ["groupNormDivisible", () => new nn.GroupNorm(4, 6)],
    ["groupNormInput", () => F.groupNorm(rand([2, 6, 4]), 4)],
  ] as const)("%s", (key, call) => {
    expect(call).toThrow(e[key]!);
  });

  it("groups that do not divide the weight's output channels name them", () => {
    expect(() => F.conv2d(x4(), rand([5, 2, 3, 3]), undefined, { groups: 2 })).toThrow(
      /Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size \[5, 2, 3, 3\] instead/,
    );
  });

  it("a BatchNorm training batch with one value per channel throws before touching the running statistics", () => {
    const layer = new nn.BatchNorm1d(4);
    const before = layer.stateDict();
    const snapshot = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, Array.from(t.dataSync() as ArrayLike<number>)]));
    expect(() => layer.forward(rand([1, 4]))).toThrow(ValueError);
    expect(() => layer.forward(rand([1, 4]))).toThrow("Expected more than 1 value per channel when training, got input size [1, 4]");
    for (const [k, t] of Object.entries(layer.stateDict())) expect(Array.from(t.dataSync() as ArrayLike<number>), k).toEqual(snapshot[k]);
  });

  it("a kernel larger than the padded input is a ShapeError", () => {
    expect(() => F.conv1d(tensor([[[1, 2]]]), rand([1, 1, 3]))).toThrow(ShapeError);
  });
});

describe("a PyTorch checkpoint of a CNN with BatchNorm", () => {
  it("loads through safetensors (int64 num_batches_tracked included) and gives PyTorch's eval outputs", async () => {
    const { checkpoint } = readFixture<{ checkpoint: { file: string; dtypes: Record<string, string>; x: Encoded; out: Encoded } }>("conv.json");
    expect(checkpoint.dtypes["1.num_batches_tracked"]).toBe("torch.int64");
    const state = await loadSafetensors(fileURLToPath(fixtureUrl(checkpoint.file)));
    const model = new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3, { groups: 2 }),
      new nn.BatchNorm2d(6),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(2),
      new nn.Flatten(),
      new nn.Linear(24, 3),
    );
    model.loadStateDict(state);
    expect(await model.stateDict()["1.num_batches_tracked"]!.item()).toBe(3);
    model.eval();
    expectTensorClose(model.forward(toTensor(checkpoint.x)), checkpoint.out, RTOL, ATOL, "eval output");
  });
});

describe("padding modes", () => {
  interface PaddingModeCase {
    module: "Conv1d" | "Conv2d";
    args: (number | number[])[];
    options: Record<string, unknown>;
    state: Record<string, Encoded>;
    x: Encoded;
    out: Encoded;
    upstream: Encoded;
    gradX: Encoded;
    gradWeight: Encoded;
  }
  interface PadCase {
    mode: "constant" | "reflect" | "replicate" | "circular";
    amounts: number[];
    x: Encoded;
    out: Encoded;
    upstream: Encoded;
    gradX: Encoded;
  }
  const { paddingModes, pad } = readFixture<{ paddingModes: PaddingModeCase[]; pad: PadCase[] }>("conv.json");

  it.each(paddingModes.map((c) => [`${c.module}(${c.args.join(", ")}, ${JSON.stringify(c.options)})`, c] as const))(
    "%s matches PyTorch forward and backward",
    (_, c) => {
      const options = camel(c.options) as nn.ConvLayerOptions;
      const [cin, cout, k] = c.args as [number, number, number | number[]];
      const layer = c.module === "Conv2d" ? new nn.Conv2d(cin, cout, k, options) : new nn.Conv1d(cin, cout, k, options);
      layer.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([key, e]) => [key, toTensor(e)])));
      const x = leaf(c.x);
      const out = layer.forward(x);
      expectTensorClose(out, c.out, RTOL, ATOL, "out");
      backward(out, c.upstream);
      expectTensorClose(x.grad, c.gradX, RTOL, ATOL, "grad x");
      expectTensorClose(layer.weight.grad, c.gradWeight, RTOL, ATOL, "grad weight");
    },
  );

  it.each(pad.map((c) => [`${c.mode} ${JSON.stringify(c.amounts)} of ${JSON.stringify(c.x.shape)}`, c] as const))("pad %s matches PyTorch", (_, c) => {
    const x = leaf(c.x);
    const out = F.pad(x, c.amounts, { mode: c.mode, value: 0.5 });
    expectTensorClose(out, c.out, 0, 0, "out");
    backward(out, c.upstream);
    expectTensorClose(x.grad, c.gradX, RTOL, ATOL, "grad x");
  });

  it("reflect padding as long as the input is refused with PyTorch's message", () => {
    expect(() => F.pad(rand([1, 2, 3]), [3, 0], { mode: "reflect" })).toThrow(
      "Padding size should be less than the corresponding input dimension, but got: padding (3, 0) at dimension 2 of input [1, 2, 3]",
    );
    expect(() => new nn.Conv2d(2, 2, 3, { paddingMode: "mirror" as "reflect" })).toThrow(ValueError);
  });

  it("functional max pooling returns [values, indices] with returnIndices: true", () => {
    const x = rand([1, 2, 6, 6]);
    const [values, indices] = F.maxPool2d(x, 2, { returnIndices: true });
    const [v2, i2] = F.maxPool2dWithIndices(x, 2);
    expect(Array.from(values.dataSync() as Float32Array)).toEqual(Array.from(v2.dataSync() as Float32Array));
    expect(Array.from(indices.dataSync() as Int32Array)).toEqual(Array.from(i2.dataSync() as Int32Array));
    expect(F.maxPool2d(x, 2).shape).toEqual([1, 2, 3, 3]);
  });
});
