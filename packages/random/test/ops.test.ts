import { describe, expect, it, vi } from "vitest";
import { DTypeError, LockstepError, NotImplementedError, ValueError, fromData, type Tensor } from "@lockstep/core";
import {
  Generator,
  bernoulli,
  bernoulli_,
  calculateGain,
  constant_,
  dropoutMask,
  fanInAndFanOut,
  getRngState,
  kaimingUniform_,
  manualSeed,
  normal_,
  ones_,
  rand,
  randint,
  randn,
  randperm,
  uniform_,
  xavierUniform_,
  zeros_,
} from "../src/index.js";
import { bitsOf } from "./support/fixtures.js";
import { storageOf, useHostBackend } from "./support/host-backend.js";

useHostBackend();

const zeros = (shape: number[], dtype: "float32" | "float64" | "int32" | "bool" = "float32", device = "cpu"): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float32" ? new Float32Array(n) : dtype === "float64" ? new Float64Array(n) : dtype === "int32" ? new Int32Array(n) : new Uint8Array(n);
  return fromData(data, dtype, shape, device);
};

/** Asserts that `fn` throws `type` with `message` and leaves the default generator untouched. */
function expectRejected(fn: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  manualSeed(17);
  rand([2]);
  const before = getRngState();
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toMatch(message);
  expect(getRngState()).toEqual(before);
}

describe("argument checks: errors name the values and consume no draws", () => {
  it("normal_ rejects a negative or NaN std and non-float tensors", () => {
    expectRejected(() => normal_(zeros([3]), 0, -1), ValueError, /normal expects std >= 0.0, but found std -1/);
    expectRejected(() => normal_(zeros([20]), 0, NaN), ValueError, /found std NaN/);
    expectRejected(() => normal_(zeros([3], "int32")), DTypeError, /float32 or float64 tensor, got int32/);
    expectRejected(() => randn([2], { dtype: "int32" }), DTypeError, /dtype int32 is not supported/);
  });

  it("uniform_ rejects reversed, out-of-range and NaN bounds", () => {
    expectRejected(() => uniform_(zeros([3]), 2, 1), ValueError, /found from=2 > to=1/);
    expectRejected(() => uniform_(zeros([3]), 0, Infinity), ValueError, /to=Infinity is out of bounds for float32/);
    expectRejected(() => uniform_(zeros([3]), NaN, 1), ValueError, /from=NaN is out of bounds/);
    expectRejected(() => uniform_(zeros([3]), -3e38, 3e38), ValueError, /to=3e\+38 and from=-3e\+38/);
    expectRejected(() => uniform_(zeros([3], "bool")), DTypeError, /got bool/);
    uniform_(zeros([3], "float64"), -3e38, 3e38); // fine in float64
  });

  it("bernoulli_, bernoulli and dropoutMask reject probabilities outside [0, 1]", () => {
    expectRejected(() => bernoulli_(zeros([3]), 1.5), ValueError, /p to be in \[0, 1\], but got p=1.5/);
    expectRejected(() => bernoulli_(zeros([3]), -0.1), ValueError, /p=-0.1/);
    expectRejected(() => bernoulli_(zeros([3]), NaN), ValueError, /p=NaN/);
    const probs = fromData(new Float32Array([0.5, 1.5]), "float32", [2], "cpu");
    expectRejected(() => bernoulli(probs), ValueError, /found 1.5 at flat index 1/);
    expectRejected(() => bernoulli(zeros([2], "int32")), DTypeError, /got int32/);
    expectRejected(() => dropoutMask([4], 1.5), ValueError, /between 0 and 1, but got 1.5/);
  });

  it("randint rejects empty ranges, bounds the dtype cannot hold and non-integers", () => {
    expectRejected(() => randint(5, 5, [3]), ValueError, /from=5 >= to=5/);
    expectRejected(() => randint(6, 5, [3]), ValueError, /from=6 >= to=5/);
    expectRejected(() => randint(-(2 ** 31) - 1, 0, [3]), ValueError, /from=-2147483649 is out of bounds for int32/);
    expectRejected(() => randint(0, 2 ** 31 + 1, [3]), ValueError, /to - 1 = 2147483648 is out of bounds for int32/);
    expectRejected(() => randint(0, 2 ** 24 + 2, [3], { dtype: "float32" }), ValueError, /out of bounds for float32/);
    expectRejected(() => randint(0.5, 3, [3]), ValueError, /low must be an integer.*0.5/);
    expectRejected(() => randint(0, 3, [-1]), ValueError, /non-negative integers, got \[-1\]/);
  });

  it("randperm, rand and the shape checks reject what PyTorch rejects", () => {
    expectRejected(() => randperm(-1), ValueError, /non-negative integer, got -1/);
    expectRejected(() => randperm(2 ** 24 + 2, { dtype: "float32" }), ValueError, /cannot be greater than 16777217/);
    expectRejected(() => randperm(3, { dtype: "bool" }), DTypeError, /bool is not supported/);
    expectRejected(() => rand([2.5]), ValueError, /\[2.5\]/);
    expectRejected(() => rand([2], { dtype: "int8" as never }), DTypeError, /unknown dtype "int8"/);
    expectRejected(() => rand([2], { generator: {} as never }), ValueError, /must be a Generator/);
  });

  it("in-place fills refuse views that alias one element twice", () => {
    const base = zeros([4]);
    const expanded = base.aliasWith([3, 4], [0, 1], 0);
    expectRejected(() => uniform_(expanded), ValueError, /more than one element of the written-to tensor/);
  });

  it("in-place fills refuse leaves that require grad, but initialisers may fill them", () => {
    const w = zeros([4, 3]).requiresGrad_(true);
    expectRejected(() => normal_(w), LockstepError, /leaf Variable that requires grad/);
    manualSeed(0);
    kaimingUniform_(w, { a: Math.sqrt(5) });
    expect(Array.from(w.dataSync() as Float32Array).some((v) => v !== 0)).toBe(true);
  });

  it("init helpers check modes, nonlinearities and dimensions", () => {
    expectRejected(() => kaimingUniform_(zeros([3, 3]), { mode: "fan_avg" as never }), ValueError, /Mode fan_avg not supported/);
    expectRejected(() => calculateGain("softplus" as never), ValueError, /Unsupported nonlinearity softplus/);
    expectRejected(() => xavierUniform_(zeros([3])), ValueError, /fewer than 2 dimensions/);
  });
});

describe("generators, devices and tensor methods", () => {
  it("draws from a generator option only, leaving the default generator alone", () => {
    manualSeed(0);
    const before = getRngState();
    const g = new Generator().manualSeed(7);
    const a = rand([4], { generator: g }).dataSync();
    expect(getRngState()).toEqual(before);
    const b = rand([4], { generator: new Generator().manualSeed(7) }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("gives the same values on every device; whole tensors fill on devices read only asynchronously", async () => {
    manualSeed(3);
    const cpu = randn([20]).dataSync();
    manualSeed(3);
    const other = randn([20], { device: "asyncdev" });
    expect(other.device).toBe("asyncdev");
    expect(Array.from(await other.data())).toEqual(Array.from(cpu));
    manualSeed(3);
    const t = zeros([20], "float32", "asyncdev");
    normal_(t);
    expect(Array.from(await t.data())).toEqual(Array.from(cpu));
  });

  it("fills a transposed tensor on such a device without reading it back (it covers its storage)", async () => {
    manualSeed(6);
    const cpu = zeros([4, 8]);
    uniform_(cpu.aliasWith([8, 4], [1, 8], 0));
    manualSeed(6);
    const remote = zeros([4, 8], "float32", "asyncdev");
    uniform_(remote.aliasWith([8, 4], [1, 8], 0));
    expect(Array.from(await remote.data())).toEqual(Array.from(cpu.dataSync()));
  });

  it("refuses a partial view on such a device with a clear error, before drawing", () => {
    const base = zeros([10], "float32", "asyncdev");
    const part = base.aliasWith([5], [1], 2);
    expectRejected(() => uniform_(part), NotImplementedError, /not supported yet on 'asyncdev'/);
  });

  it("fills a partial CPU view in place, leaving the rest of the storage untouched", () => {
    const base = fromData(new Float32Array(10).fill(-1), "float32", [10], "cpu");
    const part = base.aliasWith([4], [2], 1); // elements 1, 3, 5, 7
    manualSeed(1);
    uniform_(part);
    manualSeed(1);
    const expected = rand([4]).dataSync();
    const storage = storageOf(base);
    expect([1, 3, 5, 7].map((i) => storage[i])).toEqual(Array.from(expected));
    expect([0, 2, 4, 6, 8, 9].map((i) => storage[i])).toEqual([-1, -1, -1, -1, -1, -1]);
  });

  it("bumps the version counter and returns the tensor itself", () => {
    const t = zeros([3]);
    const version = t.version;
    expect(uniform_(t)).toBe(t);
    expect(normal_(t)).toBe(t);
    expect(bernoulli_(t, 0.5)).toBe(t);
    expect(t.version).toBe(version + 3);
  });

  it("answers Tensor.uniform_/normal_/bernoulli_ once the package is loaded", () => {
    const g1 = new Generator().manualSeed(5);
    const g2 = new Generator().manualSeed(5);
    const viaMethods = zeros([6]);
    viaMethods.uniform_(-1, 1, { generator: g1 }).normal_(2, 3, { generator: g1 }).bernoulli_(0.25, { generator: g1 });
    const viaFunctions = zeros([6]);
    bernoulli_(normal_(uniform_(viaFunctions, -1, 1, { generator: g2 }), 2, 3, { generator: g2 }), 0.25, { generator: g2 });
    expect(bitsOf(viaMethods.dataSync() as Float32Array)).toEqual(bitsOf(viaFunctions.dataSync() as Float32Array));
    expect(g1.getState()).toEqual(g2.getState());
  });

  it("marks results as requiring grad on request and fills int and bool tensors with bernoulli_", () => {
    expect(rand([2], { requiresGrad: true }).requiresGrad).toBe(true);
    manualSeed(0);
    const ints = bernoulli_(zeros([50], "int32"), 0.5).dataSync();
    expect(ints).toBeInstanceOf(Int32Array);
    expect(new Set(ints)).toEqual(new Set([0, 1]));
    const bools = bernoulli_(zeros([50], "bool"), 0.5).dataSync();
    expect(new Set(bools)).toEqual(new Set([0, 1]));
  });
});

describe("initialisers and dropout", () => {
  it("computes PyTorch's gains", () => {
    expect(calculateGain("linear")).toBe(1);
    expect(calculateGain("conv2d")).toBe(1);
    expect(calculateGain("tanh")).toBe(5 / 3);
    expect(calculateGain("relu")).toBe(Math.SQRT2);
    expect(calculateGain("leaky_relu")).toBe(Math.sqrt(2 / (1 + 0.01 * 0.01)));
    expect(calculateGain("leaky_relu", Math.sqrt(5))).toBe(Math.sqrt(2 / 6.000000000000001));
    expect(calculateGain("selu")).toBe(0.75);
    expect(fanInAndFanOut(zeros([4, 3, 5, 5]))).toEqual([75, 100]);
  });

  it("fills constants without drawing", () => {
    manualSeed(2);
    const before = getRngState();
    const t = zeros([2, 2]);
    expect(Array.from(ones_(t).dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(constant_(t, 0.1).dataSync())).toEqual(Array(4).fill(Math.fround(0.1)));
    expect(Array.from(zeros_(t).dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(constant_(zeros([2], "int32"), 3.9).dataSync())).toEqual([3, 3]);
    expect(getRngState()).toEqual(before);
  });

  it("warns and draws nothing for zero-element tensors", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    manualSeed(2);
    const before = getRngState();
    kaimingUniform_(zeros([0, 3]));
    expect(getRngState()).toEqual(before);
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
  });

  it("builds dropout masks whose kept elements hold 1.0f / fl32(1 − p)", () => {
    manualSeed(0);
    const mask = dropoutMask([64], 0.42).dataSync() as Float32Array;
    const kept = Array.from(mask).filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / Math.fround(1 - 0.42))]));
    expect(Math.fround(1 / Math.fround(1 - 0.42))).not.toBe(Math.fround(1 / (1 - 0.42)));
    manualSeed(0);
    const before = getRngState();
    expect(Array.from(dropoutMask([3], 0).dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(dropoutMask([3], 1, { dtype: "float64" }).dataSync())).toEqual([0, 0, 0]);
    expect(getRngState()).toEqual(before);
  });

  it("draws a non-contiguous bernoulli(probs) in memory order, like PyTorch's empty_like output", () => {
    const probs = fromData(new Float64Array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2]), "float64", [2, 3], "cpu");
    const transposed = probs.aliasWith([3, 2], [1, 3], 0);
    manualSeed(4);
    const out = bernoulli(transposed).dataSync();
    // memory order of the transposed view is the storage order 0..5 = logical (0,0),(1,0),(2,0),(0,1)…
    manualSeed(4);
    const direct = bernoulli(probs).dataSync();
    expect(Array.from(out)).toEqual([direct[0], direct[3], direct[1], direct[4], direct[2], direct[5]]);
  });
});
