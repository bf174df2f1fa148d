import { describe, expect, it } from "vitest";
import { FLOAT32, FLOAT64, bitLength, decompose, roundExact, scaleByPowerOfTwo } from "./exact-float.js";

describe("exact binary values", () => {
  it("decompose doubles exactly, subnormals included", () => {
    expect(decompose(1)).toEqual({ mantissa: 1n << 52n, exponent: -52 });
    expect(decompose(-0.75)).toEqual({ mantissa: -(3n << 51n), exponent: -53 });
    expect(decompose(2 ** -1074)).toEqual({ mantissa: 1n, exponent: -1074 });
    expect(decompose(0).mantissa).toBe(0n);
  });

  it("round to nearest with ties to even, like hardware", () => {
    // 1 + 2^-53 is a tie between 1 and 1 + 2^-52: goes to the even one, 1
    expect(roundExact((1n << 53n) + 1n, -53)).toBe(1);
    expect(roundExact((1n << 53n) + 3n, -53)).toBe(1 + 2 ** -51);
    expect(roundExact((1n << 53n) + 1n, -53, FLOAT32)).toBe(1);
    expect(roundExact((1n << 24n) + 1n, -24, FLOAT32)).toBe(1);
    expect(roundExact((1n << 24n) + 3n, -24, FLOAT32)).toBe(Math.fround(1 + 2 ** -22));
    expect(roundExact(-5n, 0)).toBe(-5);
  });

  it("handle subnormal results, underflow to signed zero and overflow to infinity", () => {
    expect(roundExact(3n, -1076)).toBe(2 ** -1074); // 0.75 of the smallest subnormal
    expect(Object.is(roundExact(-1n, -1076), -0)).toBe(true);
    expect(roundExact(1n, 1024)).toBe(Infinity);
    expect(roundExact((1n << 24n) - 1n, 104, FLOAT32)).toBe(Math.fround(2 ** 128 - 2 ** 104));
    expect(roundExact((1n << 25n) - 1n, 103, FLOAT32)).toBe(Infinity);
    expect(roundExact(1n, -150, FLOAT32)).toBe(0);
    expect(roundExact(3n, -151, FLOAT32)).toBe(2 ** -149);
    expect(FLOAT64.precision).toBe(53);
  });

  it("scale by powers of two without double rounding and measure bit lengths", () => {
    expect(scaleByPowerOfTwo(3, -1075)).toBe(2 ** -1074 * 2); // 1.5 · 2^-1074 rounds to even
    expect(scaleByPowerOfTwo(1, 2000)).toBe(Infinity);
    expect(scaleByPowerOfTwo(1, 1023)).toBe(2 ** 1023);
    expect(bitLength(0n)).toBe(0);
    expect(bitLength(1n)).toBe(1);
    expect(bitLength(255n)).toBe(8);
    expect(bitLength(1n << 200n)).toBe(201);
  });
});
