import { describe, expect, it } from "vitest";
import { FLOAT32, FLOAT64, fusedMultiplyAddExact } from "./exact-float.js";
import { fma32, fma64 } from "./fma.js";
import { testRandom } from "./test-support/test-random.js";

const bits64 = (x: number) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16);
};

describe("fma64", () => {
  it("equals the exact BigInt product-sum rounded once, on random doubles of any magnitude", () => {
    const next = testRandom(1);
    for (let i = 0; i < 60_000; i++) {
      const a = next.double(-40, 40);
      const b = next.double(-40, 40);
      const c = i % 3 === 0 ? -a * b * (1 + next.double(-60, -1)) : next.double(-80, 80);
      expect(bits64(fma64(a, b, c))).toBe(bits64(fusedMultiplyAddExact(a, b, c, FLOAT64)));
    }
  });

  it("is exact near cancellation, at extreme exponents and for special values", () => {
    const next = testRandom(2);
    for (let i = 0; i < 50_000; i++) {
      const a = next.double(-540, 540);
      const b = next.double(-540, 540);
      const c = -(a * b) + next.double(-1100, 1000) * (i % 2 === 0 ? 1 : 0);
      if (!Number.isFinite(c)) continue; // the BigInt reference covers finite values only
      expect(bits64(fma64(a, b, c))).toBe(bits64(fusedMultiplyAddExact(a, b, c, FLOAT64)));
    }
    // 1 + 2^-52 squared minus 1 needs the low bits a plain product throws away.
    const x = 1 + 2 ** -52;
    expect(fma64(x, x, -1)).toBe(2 ** -51 + 2 ** -104);
    expect(fma64(1e308, 10, -Infinity)).toBe(-Infinity);
    expect(fma64(1e308, 10, -1e308)).toBe(fusedMultiplyAddExact(1e308, 10, -1e308));
    expect(Object.is(fma64(-1, 0, 0), 0)).toBe(true);
    expect(Object.is(fma64(-1, 0, -0), -0)).toBe(true);
    expect(fma64(Infinity, 0, 1)).toBeNaN();
    expect(fma64(2 ** -600, 2 ** -600, 2 ** -1074)).toBe(2 ** -1074);
  });
});

describe("fma32", () => {
  it("equals the exact product-sum rounded once to float32, on random float32 values", () => {
    const next = testRandom(3);
    for (let i = 0; i < 60_000; i++) {
      const a = Math.fround(next.double(-30, 30));
      const b = Math.fround(next.double(-30, 30));
      const c = i % 2 === 0 ? Math.fround(-a * b * (1 + next.double(-30, -1))) : Math.fround(next.double(-60, 60));
      expect(fma32(a, b, c)).toBe(fusedMultiplyAddExact(a, b, c, FLOAT32));
    }
  });

  it("decides float32 midpoints by the sign of the bits a double sum loses", () => {
    // a·b = 2^-24 − 2^-70: the double sum with c = 1 + 2^-23 lands exactly on the float32
    // midpoint 1 + 2^-23 + 2^-24, but the exact value is just below it, so fma keeps c where a
    // plain fround (ties to even) would go up.
    const a = Math.fround(2 ** -24 * (1 + 2 ** -23));
    const b = Math.fround(1 - 2 ** -23);
    const c = Math.fround(1 + 2 ** -23);
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22);
    expect(fma32(a, b, c)).toBe(c);
    expect(fma32(-a, b, -c)).toBe(-c);
    expect(fma32(a, -b, c + 2 ** -23)).toBe(Math.fround(1 + 2 ** -22)); // just above the midpoint below
    expect(fma32(3.4028234663852886e38, 2, -3.4028234663852886e38)).toBe(3.4028234663852886e38);
  });
});
