// Elementwise kernels on webgpu against the CPU backend: exact for everything the GPU computes
// with correctly rounded or integer arithmetic, within 1e-6 for transcendentals.
import { maximum, minimum, where } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { available, cpu, expectSameOnBoth, uniform, wideValues } from "./test-support/gpu.js";

const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, 3, 1e-7, -1e-30, 1e30, -3e38, Infinity, -Infinity, NaN, 88, -88, 20, -20];

describe.runIf(available)("unary ops on webgpu match the CPU backend", () => {
  const values = [...SPECIAL, ...uniform(46, 1, -6, 6)];
  const x = () => cpu(values, [8, 8]);

  for (const op of ["neg", "abs", "sign", "relu"] as const) {
    it(`${op} (float32) is exact, ±0 and NaN included`, async () => {
      await expectSameOnBoth((on) => on(x())[op]());
    });
  }

  it("sqrt is exact (correctly rounded)", async () => {
    await expectSameOnBoth((on) => on(x()).sqrt());
  });

  for (const op of ["exp", "log", "rsqrt", "sigmoid", "tanh", "erf"] as const) {
    it(`${op} is within 1e-6`, async () => {
      await expectSameOnBoth((on) => on(x())[op](), "close");
    });
  }

  it("gelu (erf and tanh forms) is within 1e-6", async () => {
    await expectSameOnBoth((on) => [on(x()).gelu(), on(x()).gelu({ approximate: "tanh" })], "close");
  });

  it("transcendentals stay within 1e-6 over a dense range", async () => {
    const dense = cpu(uniform(4096, 2, -12, 12), [64, 64]);
    for (const op of ["exp", "sigmoid", "tanh", "erf"] as const) {
      await expectSameOnBoth((on) => on(dense)[op](), "close");
    }
    const positive = cpu(wideValues(4096, 3, -30, 30).map(Math.abs), [4096]);
    for (const op of ["log", "sqrt", "rsqrt"] as const) {
      await expectSameOnBoth((on) => on(positive)[op](), "close");
    }
  });

  it("int32 neg, abs, sign and relu wrap like int32 (INT_MIN included)", async () => {
    const ints = cpu([0, 1, -1, 7, -7, 2147483647, -2147483648, 123456], [8], "int32");
    for (const op of ["neg", "abs", "sign", "relu"] as const) {
      await expectSameOnBoth((on) => on(ints)[op]());
    }
  });

  it("ints and bools promote to float32 for exp and friends", async () => {
    const ints = cpu([0, 1, -1, 3], [4], "int32");
    await expectSameOnBoth((on) => [on(ints).exp(), on(ints).sqrt(), on(ints).bool().float()], "close");
  });

  it("logicalNot on bool, float and int", async () => {
    await expectSameOnBoth((on) => [
      on(cpu([1, 0, 1, 1], [4], "bool")).logicalNot(),
      on(cpu([0, -0, NaN, 2], [4])).logicalNot(),
      on(cpu([0, 5, -1, 0], [4], "int32")).logicalNot(),
    ]);
  });
});

describe.runIf(available)("binary ops on webgpu match the CPU backend", () => {
  const a = () => cpu([...SPECIAL.slice(0, 16), ...uniform(48, 4, -4, 4)], [4, 16]);
  const b = () => cpu([...SPECIAL.slice(2), 0, NaN, ...uniform(46, 5, -4, 4)], [4, 16]);

  for (const op of ["add", "sub", "mul", "div"] as const) {
    it(`${op} (float32) is exact`, async () => {
      await expectSameOnBoth((on) => on(a())[op](on(b())));
    });
  }

  it("add, mul and div are exact over wide magnitudes", async () => {
    const x = cpu(wideValues(4096, 6, -60, 60), [64, 64]);
    const y = cpu(wideValues(4096, 7, -60, 60), [64, 64]);
    await expectSameOnBoth((on) => [on(x).add(on(y)), on(x).sub(on(y)), on(x).mul(on(y)), on(x).div(on(y))]);
  });

  it("maximum and minimum: NaN wins, +0 beats -0 in maximum", async () => {
    const x = cpu([0, -0, NaN, 1, -Infinity, 2, -0], [7]);
    const y = cpu([-0, 0, 1, NaN, 3, 2, -0], [7]);
    await expectSameOnBoth((on) => [maximum(on(x), on(y)), minimum(on(x), on(y))]);
  });

  for (const op of ["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"] as const) {
    it(`${op} (float32, NaN and ±0 included) is exact`, async () => {
      await expectSameOnBoth((on) => on(a())[op](on(b())));
    });
  }

  it("pow is within 1e-6, with JavaScript's special cases", async () => {
    const base = cpu([2, -2, -2, 0, -0, -0, Infinity, -Infinity, NaN, 1, 1, -1, 0.5, 3, 10, -3], [16]);
    const exponent = cpu([3, 3, 0.5, -1, -1, 3, -2, 3, 0, NaN, Infinity, Infinity, -Infinity, 0.5, 2, -3], [16]);
    await expectSameOnBoth((on) => on(base).pow(on(exponent)), "close");
    const x = cpu(uniform(256, 8, 0.25, 4), [256]);
    const e = cpu(uniform(256, 9, -3, 3), [256]);
    await expectSameOnBoth((on) => [on(x).pow(on(e)), on(x).pow(2), on(x).pow(-1), on(x).pow(3), on(x).pow(0.5)], "close");
  });

  it("x ** 2 is exact", async () => {
    const x = cpu(wideValues(256, 10, -20, 20), [256]);
    await expectSameOnBoth((on) => on(x).pow(2));
  });

  it("int32 arithmetic wraps and int pow follows the CPU kernel", async () => {
    const x = cpu([2147483647, -2147483648, 46341, -7, 3, 0, 1, -1, 2, -2], [10], "int32");
    const y = cpu([1, -1, 46341, 3, 20, 5, -3, -3, 31, 3], [10], "int32");
    await expectSameOnBoth((on) => [
      on(x).add(on(y)),
      on(x).sub(on(y)),
      on(x).mul(on(y)),
      on(x).pow(on(y)),
      maximum(on(x), on(y)),
      minimum(on(x), on(y)),
      on(x).lt(on(y)),
      on(x).eq(on(y)),
      on(x).div(on(y)),
    ]);
  });

  it("bool comparisons, logical ops and maximum", async () => {
    const p = cpu([1, 1, 0, 0], [4], "bool");
    const q = cpu([1, 0, 1, 0], [4], "bool");
    await expectSameOnBoth((on) => [
      on(p).logicalAnd(on(q)),
      on(p).logicalOr(on(q)),
      on(p).eq(on(q)),
      on(p).lt(on(q)),
      maximum(on(p), on(q)),
      minimum(on(p), on(q)),
      on(p).add(on(q)),
      on(p).mul(on(q)),
    ]);
  });

  it("broadcast inputs (stride 0) and scalars", async () => {
    const x = cpu(uniform(12, 11), [3, 1, 4]);
    const y = cpu(uniform(20, 12), [5, 4]);
    await expectSameOnBoth((on) => [on(x).add(on(y)), on(x).mul(2.5), on(y).sub(on(x)).div(3), on(x).gt(0)]);
  });

  it("strided inputs: transposed, sliced with a step, offset", async () => {
    const x = cpu(uniform(6 * 8, 13), [6, 8]);
    const y = cpu(uniform(8 * 6, 14), [8, 6]);
    await expectSameOnBoth((on) => [
      on(x).add(on(y).t()),
      on(x).slice(1, 1, 8, 3).mul(on(y).t().slice(1, 2, 8, 3).narrow(1, 0, 1)),
      on(x).narrow(0, 2, 3).permute(1, 0).exp(),
    ], "close");
  });
});

describe.runIf(available)("where, cast and copy on webgpu match the CPU backend", () => {
  it("where with a broadcast condition", async () => {
    const condition = cpu([1, 0, 1], [3, 1], "bool");
    const a = cpu(uniform(12, 15), [3, 4]);
    const b = cpu(uniform(4, 16), [4]);
    await expectSameOnBoth((on) => [where(on(condition), on(a), on(b)), where(on(condition), on(a), 0)]);
    const ints = cpu([1, 2, 3, 4], [4], "int32");
    await expectSameOnBoth((on) => where(on(cpu([0, 1, 0, 1], [4], "bool")), on(ints), -5));
  });

  it("casts between every pair of float32, int32 and bool", async () => {
    const floats = cpu([0, -0, 1.9, -1.9, 2.5, -2.5, 3e9, -3e9, 1e20, 16777216, NaN, Infinity, -Infinity, 2147483520], [14]);
    const ints = cpu([0, 1, -1, 16777217, -16777217, 2147483647, -2147483648, 123456789], [8], "int32");
    const bools = cpu([0, 1, 1, 0], [4], "bool");
    await expectSameOnBoth((on) => [
      on(floats).int(),
      on(floats).bool(),
      on(ints).float(),
      on(ints).bool(),
      on(bools).float(),
      on(bools).int(),
    ]);
  });

  it("copies of permuted, sliced and expanded views", async () => {
    const x = cpu(uniform(2 * 3 * 4, 17), [2, 3, 4]);
    await expectSameOnBoth((on) => [
      on(x).permute(2, 0, 1).contiguous(),
      on(x).slice(2, 0, 4, 2).contiguous(),
      on(x).narrow(1, 1, 2).reshape([-1]),
      on(x).slice(0, 1, 2).expand(5, 3, 4).contiguous(),
      on(x).clone(),
    ]);
  });

  it("copy writes into a strided view of an existing tensor (in-place writes)", async () => {
    const { selectKernel } = await import("@lockstep/core");
    const copy = selectKernel("copy", "webgpu");
    const target = cpu(new Float32Array(12), [3, 4]).to("webgpu");
    const source = cpu([1, 2, 3], [3]).to("webgpu");
    // Column 2 of the 3×4 target: shape [3], stride 4, offset 2.
    const view = { ...target.storageView, shape: [3], strides: [4], offset: 2 };
    copy.run([source.storageView], [view], {});
    expect(Array.from(await target.data())).toEqual([0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0]);
    // Source and destination in one storage: row 0 copied onto row 2.
    const rows = { ...target.storageView, shape: [4], strides: [1] };
    copy.run([{ ...rows, offset: 0 }], [{ ...rows, offset: 8 }], {});
    expect(Array.from(await target.data())).toEqual([0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0]);
  });

  it("zero-element tensors", async () => {
    const empty = cpu([], [0, 3]);
    await expectSameOnBoth((on) => [on(empty).exp(), on(empty).add(1), on(empty).sum(1)]);
  });
});


