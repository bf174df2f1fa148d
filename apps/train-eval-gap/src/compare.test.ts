import { describe, expect, it } from "vitest";
import { accuracy, compareArrays, compareLogits, float32Bits, predictions, ulpDistance } from "./compare.js";

/** The next float32 above x (x finite, not the largest). */
function nextUp(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer);
  bits[0] = x >= 0 || Object.is(x, -0) ? (Object.is(x, -0) ? 1 : bits[0]! + 1) : bits[0]! - 1;
  return new Float32Array(bits.buffer)[0]!;
}

describe("ulp distance", () => {
  it("is 1 between neighbouring floats, also across a power of two", () => {
    expect(ulpDistance(1, nextUp(1))).toBe(1);
    const belowTwo = new Float32Array(new Uint32Array([float32Bits(2) - 1]).buffer)[0]!;
    expect(ulpDistance(belowTwo, 2)).toBe(1);
  });

  it("counts +0 and -0 as the same point and crosses zero through the subnormals", () => {
    expect(ulpDistance(0, -0)).toBe(0);
    const tiniest = 2 ** -149;
    expect(ulpDistance(-tiniest, tiniest)).toBe(2);
  });

  it("treats two NaNs as equal and a NaN against a number as infinitely far", () => {
    expect(ulpDistance(NaN, NaN)).toBe(0);
    expect(ulpDistance(NaN, 1)).toBe(Infinity);
  });

  it("grows with the number of floats in between, not with the absolute difference", () => {
    // 1e-7 apart near 1 is about one ulp; near 1e-30 the same gap is a huge number of ulps.
    expect(ulpDistance(1, Math.fround(1 + 1.2e-7))).toBe(1);
    expect(ulpDistance(Math.fround(1e-30), Math.fround(2e-30))).toBeGreaterThan(1e6);
  });
});

describe("compareArrays", () => {
  it("reports nothing for bitwise equal arrays", () => {
    const a = new Float32Array([1, -2, 0.5]);
    expect(compareArrays(a, a.slice())).toEqual({ maxAbsDiff: 0, differingElements: 0, totalElements: 3, maxUlp: 0 });
  });

  it("finds the largest absolute and ulp differences and counts differing elements", () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([1, nextUp(2), 3, 4.5]);
    const gap = compareArrays(a, b);
    expect(gap.differingElements).toBe(2);
    expect(gap.maxAbsDiff).toBe(0.5);
    expect(gap.maxUlp).toBe(ulpDistance(4, 4.5));
  });

  it("counts -0 against +0 as a differing bit pattern at zero distance", () => {
    const gap = compareArrays(new Float32Array([0]), new Float32Array([-0]));
    expect(gap).toMatchObject({ differingElements: 1, maxAbsDiff: 0, maxUlp: 0 });
  });
});

describe("predictions", () => {
  it("takes the first maximum on ties, as argmax does", () => {
    expect([...predictions(new Float32Array([0, 3, 3, 1, 0, 0]), 3)]).toEqual([1, 0]);
  });

  it("counts rows whose argmax changes and the accuracy against labels", () => {
    const a = new Float32Array([1, 0, 0, 1]);
    const b = new Float32Array([1, 0, 1, 0]);
    expect(compareLogits(a, b, 2).changedPredictions).toBe(1);
    expect(accuracy(a, new Uint8Array([0, 1]), 2)).toBe(1);
    expect(accuracy(b, new Uint8Array([0, 1]), 2)).toBe(0.5);
  });
});
