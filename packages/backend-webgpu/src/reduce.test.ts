// Reductions on webgpu against the CPU backend. With useDeterministicAlgorithms(true) the CPU
// rounds float32 sums and products at every step, so webgpu must match it bit for bit; with the
// flag off the CPU accumulates in double (its fast kernel) and webgpu stays within 1e-6.
import { amax, amin, useDeterministicAlgorithms } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { available, cpu, expectSameOnBoth, integers, uniform, wideValues } from "./test-support/gpu.js";

afterEach(() => useDeterministicAlgorithms(false));

describe.runIf(available)("sum and prod on webgpu", () => {
  const x = () => cpu(wideValues(4 * 5 * 6, 21, -10, 10), [4, 5, 6]);

  it("float32 sum equals the CPU's deterministic sum bit for bit, over every set of dims", async () => {
    useDeterministicAlgorithms(true);
    await expectSameOnBoth((on) => [
      on(x()).sum(),
      on(x()).sum(0),
      on(x()).sum(1),
      on(x()).sum(2, true),
      on(x()).sum([0, 2]),
      on(x()).sum([1, 2]),
      on(x()).permute(2, 0, 1).sum([1, 2]),
      on(x()).slice(2, 1, 6, 2).sum(0),
    ]);
  });

  it("a long float32 sum (K = 5000) is the CPU's fixed tree, bit for bit, and close to the float64 sum", async () => {
    useDeterministicAlgorithms(true);
    const long = cpu(wideValues(2 * 5000, 22, -20, 20), [2, 5000]);
    await expectSameOnBoth((on) => [on(long).sum(1), on(long).t().sum(0)]);
    const values = await long.to("webgpu").sum(1).data();
    const data = long.dataSync();
    for (let row = 0; row < 2; row++) {
      let exact = 0;
      let magnitude = 0;
      for (let i = 0; i < 5000; i++) (exact += data[row * 5000 + i]!), (magnitude += Math.abs(data[row * 5000 + i]!));
      // A tree of blocks of 32 and ⌈log2(5000 / 32)⌉ = 8 levels: at most (32 + 8) roundings per element.
      expect(Math.abs(values[row]! - exact)).toBeLessThanOrEqual(40 * 2 ** -24 * magnitude);
    }
  });

  it("float32 prod equals the CPU's deterministic prod bit for bit", async () => {
    useDeterministicAlgorithms(true);
    const y = cpu(uniform(3 * 40, 23, 0.5, 1.6), [3, 40]);
    await expectSameOnBoth((on) => [on(y).prod(1), on(y).prod(0, true)]);
  });

  it("with the flag off, float32 sums stay close to the CPU's double accumulation", async () => {
    const y = cpu(uniform(8 * 300, 24), [8, 300]);
    const got = await y.to("webgpu").sum(1).data();
    const want = y.sum(1).dataSync();
    // 300 roundings of partial sums below 20: at most 300 · 20 · 2^-24 apart.
    for (let i = 0; i < 8; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(300 * 20 * 2 ** -24);
  });

  it("int32 sums and products wrap; bool sums count", async () => {
    const ints = cpu(integers(60, 25, -(2 ** 30), 2 ** 30), [6, 10], "int32");
    const bools = cpu(integers(60, 26, 0, 2), [6, 10], "bool");
    await expectSameOnBoth((on) => [on(ints).sum(1), on(ints).sum(), on(ints).prod(0), on(bools).sum(0), on(bools).sum()]);
  });

  it("sum of an empty dim is 0, of a 0-d tensor is itself", async () => {
    await expectSameOnBoth((on) => [on(cpu([], [3, 0])).sum(1), on(cpu([5], [])).sum(), on(cpu([], [0])).sum()]);
  });
});

describe.runIf(available)("amax, amin, max and min on webgpu", () => {
  it("amax and amin: first NaN wins, ±0 keep the first seen", async () => {
    const x = cpu([1, NaN, 3, -0, 0, -1, 0, -0, 2, -Infinity, 5, NaN], [3, 4]);
    await expectSameOnBoth((on) => [amax(on(x), 1), amin(on(x), 1), amax(on(x), 0), amin(on(x)), amax(on(x), [0, 1])]);
  });

  it("amax and amin of int32 and bool", async () => {
    const ints = cpu(integers(24, 27, -100, 100), [4, 6], "int32");
    const bools = cpu([0, 0, 1, 0, 0, 0], [2, 3], "bool");
    await expectSameOnBoth((on) => [amax(on(ints), 1), amin(on(ints), 0), amax(on(bools), 1), amin(on(bools))]);
  });

  it("max and min along a dim return first indices on ties; NaN wins", async () => {
    const x = cpu([3, 1, 3, 2, 5, 5, NaN, 5, 0, -1, -1, 0], [3, 4]);
    await expectSameOnBoth((on) => {
      const mx = on(x).max(1);
      const mn = on(x).min(0, true);
      return [mx.values, mx.indices, mn.values, mn.indices, on(x).argmax(), on(x).argmin(1)];
    });
  });

  it("max along a strided dim of a permuted input, and of a 0-d tensor", async () => {
    const x = cpu(uniform(2 * 3 * 5, 28), [2, 3, 5]);
    await expectSameOnBoth((on) => {
      const p = on(x).permute(2, 0, 1).max(0);
      const s = on(cpu([7], [])).max(0);
      return [p.values, p.indices, s.values, s.indices];
    });
  });

  it("softmax and logsumexp (built from amax, sub, exp, sum) are within 1e-6", async () => {
    const x = cpu(uniform(4 * 10, 29, -5, 5), [4, 10]);
    await expectSameOnBoth((on) => [on(x).softmax(1), on(x).logSoftmax(0), on(x).logsumexp(1)], "close");
  });
});
