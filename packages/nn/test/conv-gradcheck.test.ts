// Gradients of convolution, pooling and normalisation checked against central finite differences
// in float64 (autograd's gradcheck), for the geometries that change which input feeds which output:
// strides, padding, dilation, groups, asymmetric kernels, ceil mode, uneven adaptive windows.
import "@lockstep/backend-cpu";
import { gradcheck } from "@lockstep/autograd";
import { manualSeed, randn } from "@lockstep/random";
import { tensor, type Tensor } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { functional as F } from "../src/index.js";

const f64 = (shape: number[]) => randn(shape, { dtype: "float64" }).requiresGrad_(true);
/**
 * Values spaced 0.1 apart in a shuffled order: max pooling then has no near-ties for the finite
 * differences (step 1e-6) to straddle.
 */
const distinct = (shape: number[]) => {
  const n = shape.reduce((p, s) => p * s, 1);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ((a * 7919) % n) - ((b * 7919) % n));
  return tensor(Float64Array.from(order, (v) => v * 0.1 - n * 0.05), { dtype: "float64" }).reshape(shape).requiresGrad_(true);
};

describe("float64 gradcheck", () => {
  it.each([
    ["conv2d plain", [2, 3, 5, 5], [4, 3, 3, 3], {}],
    ["conv2d stride, padding pair", [1, 2, 6, 5], [3, 2, 3, 2], { stride: [2, 1], padding: [1, 2] }],
    ["conv2d dilation", [1, 2, 7, 7], [2, 2, 3, 3], { dilation: 2, padding: 1 }],
    ["conv2d groups", [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2 }],
    ["conv2d same, even kernel", [1, 2, 5, 4], [2, 2, 2, 4], { padding: "same" }],
  ] as const)("%s", (_, xs, ws, options) => {
    manualSeed(1);
    const inputs = [f64([...xs]), f64([...ws]), f64([ws[0]])];
    expect(gradcheck((x, w, b) => F.conv2d(x!, w!, b, options), inputs)).toBe(true);
  });

  it("conv1d with stride, padding, dilation and groups", () => {
    manualSeed(2);
    const inputs = [f64([2, 4, 9]), f64([4, 2, 3]), f64([4])];
    expect(gradcheck((x, w, b) => F.conv1d(x!, w!, b, { stride: 2, padding: 1, dilation: 2, groups: 2 }), inputs)).toBe(true);
  });

  it.each([
    ["maxPool2d stride 2, padding 1", (x: Tensor) => F.maxPool2d(x, 3, { stride: 2, padding: 1 })],
    ["maxPool2d dilation, ceil mode", (x: Tensor) => F.maxPool2d(x, 2, { dilation: 2, ceilMode: true })],
    ["maxPool1d", (x: Tensor) => F.maxPool1d(x.flatten(2), 3, { stride: 2 })],
    ["avgPool2d count_include_pad", (x: Tensor) => F.avgPool2d(x, 3, { stride: 2, padding: 1 })],
    ["avgPool2d exclude pad, ceil mode", (x: Tensor) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false })],
    ["adaptiveAvgPool2d uneven", (x: Tensor) => F.adaptiveAvgPool2d(x, [3, 4])],
    ["adaptiveAvgPool1d", (x: Tensor) => F.adaptiveAvgPool1d(x.flatten(2), 5)],
  ] as const)("%s", (_, fn) => {
    manualSeed(3);
    expect(gradcheck((x) => fn(x!), [distinct([2, 2, 7, 6])])).toBe(true);
  });

  it("batchNorm in training mode (input, weight, bias)", () => {
    manualSeed(4);
    const inputs = [f64([4, 3, 2, 2]), f64([3]), f64([3])];
    expect(gradcheck((x, w, b) => F.batchNorm(x!, undefined, undefined, { weight: w, bias: b, training: true }), inputs)).toBe(true);
  });

  it("batchNorm in eval mode with running statistics", () => {
    manualSeed(5);
    const mean = randn([3], { dtype: "float64" });
    const variance = randn([3], { dtype: "float64" }).abs().add(0.5);
    const inputs = [f64([2, 3, 4]), f64([3]), f64([3])];
    expect(gradcheck((x, w, b) => F.batchNorm(x!, mean, variance, { weight: w, bias: b }), inputs)).toBe(true);
  });

  it("groupNorm", () => {
    manualSeed(6);
    const inputs = [f64([2, 6, 3, 2]), f64([6]), f64([6])];
    expect(gradcheck((x, w, b) => F.groupNorm(x!, 3, { weight: w, bias: b }), inputs)).toBe(true);
  });
});
