// The report's arithmetic on samples: quartiles and the spread column (values from the definition
// of linearly interpolated quantiles, worked out by hand).
import { describe, expect, it } from "vitest";
import { median, quantile } from "./runner.js";
import { formatSpread } from "./table.js";

describe("quantile", () => {
  it("interpolates between order statistics, whatever the order of the samples", () => {
    const samples = [9, 1, 5, 3, 7]; // sorted 1 3 5 7 9: position q·4
    expect(quantile(samples, 0)).toBe(1);
    expect(quantile(samples, 0.25)).toBe(3);
    expect(quantile(samples, 0.5)).toBe(median(samples));
    expect(quantile(samples, 0.75)).toBe(7);
    expect(quantile(samples, 1)).toBe(9);
    // Four samples 10 20 30 40: q = 0.25 sits at position 0.75, between 10 and 20.
    expect(quantile([40, 10, 30, 20], 0.25)).toBe(17.5);
    expect(quantile([40, 10, 30, 20], 0.75)).toBe(32.5);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("formatSpread", () => {
  it("is half the interquartile range as a percentage of the median", () => {
    // Quartiles 17.5 and 32.5 around a median of 25: ±7.5 / 25 = ±30 %.
    expect(formatSpread([10, 20, 30, 40], 25)).toBe("±30%");
    expect(formatSpread([5, 5, 5, 5, 5], 5)).toBe("±0%");
  });

  it("says nothing with fewer than four samples", () => {
    expect(formatSpread([1, 2, 3], 2)).toBe("–");
  });
});
