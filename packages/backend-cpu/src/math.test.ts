import { describe, expect, it } from "vitest";
import { erf } from "./math.js";
import { elementOffsets } from "./storage.js";

describe("erf", () => {
  // Reference values: Abramowitz & Stegun table 7.1 / high-precision evaluations of erf.
  const table: [number, number][] = [
    [0, 0],
    [1e-8, 1.1283791670955126e-8],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [2.5, 0.999593047982555],
    [3, 0.9999779095030014],
    [4, 0.9999999845827421],
  ];
  it.each(table)("erf(%d) is correct to 1e-15 relative and odd", (x, want) => {
    expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(1e-15 * Math.max(want, 1e-300) + 1e-300);
    expect(erf(-x) + erf(x)).toBe(0);
  });
  it("saturates and propagates NaN", () => {
    expect(erf(10)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });
});

describe("elementOffsets", () => {
  it("walks a transposed view in logical row-major order", () => {
    // A 2x3 storage viewed as its 3x2 transpose: strides [1, 3].
    expect([...elementOffsets([3, 2], [1, 3], 0)]).toEqual([0, 3, 1, 4, 2, 5]);
  });
  it("repeats positions for broadcast (stride-0) dims and honours the offset", () => {
    expect([...elementOffsets([2, 3], [0, 1], 4)]).toEqual([4, 5, 6, 4, 5, 6]);
    expect([...elementOffsets([0, 3], [3, 1], 0)]).toEqual([]);
  });
});
