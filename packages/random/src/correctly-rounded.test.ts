import { describe, expect, it } from "vitest";
import { logExact, sinCosExact } from "./bigint-math.js";
import { cos, log, sin, sinCos, slowPathCalls } from "./correctly-rounded.js";
import { roundIfCertain } from "./double-double.js";
import { testRandom } from "./test-support/test-random.js";

describe("BigInt reference functions", () => {
  it("round well-known values correctly", () => {
    expect(logExact(2)).toBe(Math.LN2);
    expect(logExact(10)).toBe(Math.LN10);
    expect(logExact(1)).toBe(0);
    expect(logExact(0)).toBe(-Infinity);
    expect(logExact(-1)).toBeNaN();
    expect(sinCosExact(Math.PI)).toEqual({ sin: 1.2246467991473532e-16, cos: -1 });
    expect(sinCosExact(Math.PI / 2).cos).toBe(6.123233995736766e-17);
    expect(sinCosExact(1e-300)).toEqual({ sin: 1e-300, cos: 1 });
    expect(Object.is(sinCosExact(-0).sin, -0)).toBe(true);
  });

  it("reduce huge angles with enough bits of π", () => {
    // sin(1e22) = -0.8522008497671888 (a classic argument-reduction test value)
    expect(sinCosExact(1e22).sin).toBe(-0.8522008497671888);
  });
});

describe("double-double fast path", () => {
  it("gives the correctly rounded log on the arguments the normal samplers use and far beyond", () => {
    const next = testRandom(11);
    for (let i = 0; i < 4000; i++) {
      const unit = 1 - Math.floor(next.unit() * 2 ** 53) / 2 ** 53; // 1 − U53, as the samplers pass
      expect(log(unit)).toBe(logExact(unit));
      const wide = Math.abs(next.double(-1070, 1020));
      expect(log(wide)).toBe(logExact(wide));
    }
    expect(log(2 ** -1074)).toBe(logExact(2 ** -1074));
    expect(log(Number.MAX_VALUE)).toBe(logExact(Number.MAX_VALUE));
    expect(log(1)).toBe(0);
    expect(log(0)).toBe(-Infinity);
    expect(log(Infinity)).toBe(Infinity);
    expect(log(-2)).toBeNaN();
  });

  it("gives correctly rounded sine and cosine of angles in [0, 2π) and of larger ones", () => {
    const next = testRandom(12);
    const out = { sin: 0, cos: 0 };
    for (let i = 0; i < 4000; i++) {
      const theta = 2 * Math.PI * (Math.floor(next.unit() * 2 ** 53) / 2 ** 53);
      expect(sinCos(theta, out)).toEqual(sinCosExact(theta));
      const wide = next.double(-40, 27);
      expect(sinCos(wide, out)).toEqual(sinCosExact(wide));
    }
    // multiples of π/2 as doubles: results near zero, where relative accuracy is hardest
    for (let k = 1; k < 50; k++) {
      const theta = (k * Math.PI) / 2;
      expect([sin(theta), cos(theta)]).toEqual([sinCosExact(theta).sin, sinCosExact(theta).cos]);
    }
    expect(sinCos(0, out)).toEqual({ sin: 0, cos: 1 });
    expect(sin(1e300)).toBe(sinCosExact(1e300).sin);
  });

  it("needs the BigInt path only rarely", () => {
    const next = testRandom(13);
    const before = slowPathCalls.count;
    for (let i = 0; i < 20000; i++) {
      log(1 - next.unit());
      sinCos(2 * Math.PI * next.unit());
    }
    expect(slowPathCalls.count - before).toBeLessThan(3);
  });

  it("refuses to round when the error interval straddles a rounding boundary", () => {
    const half = 2 ** -53; // half an ulp of 1
    expect(roundIfCertain(1, half / 2, 2 ** -80)).toBe(1);
    expect(roundIfCertain(1, half, 2 ** -80)).toBeUndefined();
    expect(roundIfCertain(1, half - 2 ** -90, 2 ** -80)).toBeUndefined();
    expect(roundIfCertain(1, half + 2 ** -70, 2 ** -80)).toBe(1 + 2 ** -52);
  });

  it("differs from V8's Math.log on some inputs (why Math.* is never used)", () => {
    const next = testRandom(14);
    let differences = 0;
    for (let i = 0; i < 5000; i++) {
      const x = 1 - next.unit();
      if (Math.log(x) !== log(x)) differences++;
    }
    expect(differences).toBeGreaterThan(0);
    expect(cos(0)).toBe(1);
  });
});
