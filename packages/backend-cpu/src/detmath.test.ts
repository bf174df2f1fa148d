import { describe, expect, it } from "vitest";
import { detDivBySignificands, detSqrtBySignificands, detDiv, detErf, detExp, detGelu, detGeluTanh, detLog, detPow, detReciprocal, detRsqrt, detSigmoid, detSqrt, detTanh } from "./detmath.js";
import { erf } from "./math.js";

// Reference: the same function in double precision, rounded to float32. Inputs are float32 values
// spread over each function's interesting range.
function ulps(got: number, want: number): number {
  if (Object.is(got, want) || got === want) return 0;
  const f32 = new Float32Array([got, want]);
  const i32 = new Int32Array(f32.buffer);
  const key = (v: number) => (v < 0 ? -0x80000000 - v : v);
  return Math.abs(key(i32[0]!) - key(i32[1]!));
}

function sample(lo: number, hi: number, n = 4001): number[] {
  return Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));
}

function maxUlps(fn: (x: number) => number, ref: (x: number) => number, xs: number[]): number {
  let worst = 0;
  for (const x of xs) worst = Math.max(worst, ulps(fn(x), Math.fround(ref(x))));
  return worst;
}

describe("deterministic float32 math stays within a few ulps of the true value", () => {
  it("exp", () => {
    expect(maxUlps(detExp, Math.exp, sample(-87, 88))).toBeLessThanOrEqual(2);
    expect(detExp(89)).toBe(Infinity);
    expect(detExp(-100)).toBe(0);
    expect(detExp(0)).toBe(1);
  });
  it("log", () => {
    expect(maxUlps(detLog, Math.log, [...sample(1e-30, 1e-20), ...sample(0.01, 10), ...sample(1, 3e38)])).toBeLessThanOrEqual(2);
    expect(detLog(0)).toBe(-Infinity);
    expect(detLog(-1)).toBeNaN();
    expect(detLog(1)).toBe(0);
  });
  it("tanh, sigmoid", () => {
    expect(maxUlps(detTanh, Math.tanh, sample(-10, 10))).toBeLessThanOrEqual(3);
    expect(maxUlps(detSigmoid, (x) => 1 / (1 + Math.exp(-x)), sample(-80, 80))).toBeLessThanOrEqual(3);
  });
  it("erf (absolute error below 2e-7)", () => {
    for (const x of sample(-6, 6)) expect(Math.abs(detErf(x) - erf(x))).toBeLessThan(2e-7);
  });
  it("gelu forms", () => {
    for (const x of sample(-8, 8)) {
      expect(Math.abs(detGelu(x) - 0.5 * x * (1 + erf(x / Math.SQRT2)))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)));
      const inner = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
      expect(Math.abs(detGeluTanh(x) - 0.5 * x * (1 + Math.tanh(inner)))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)));
    }
  });
  it("sqrt, rsqrt, reciprocal, division", () => {
    const xs = [...sample(1e-37, 1e-30), ...sample(0.001, 1000), ...sample(1e30, 3e38)];
    // sqrt and division are correctly rounded: 0 ulps from the IEEE result (double, then rounded).
    expect(maxUlps(detSqrt, Math.sqrt, xs)).toBe(0);
    expect(maxUlps(detRsqrt, (x) => 1 / Math.fround(Math.sqrt(x)), xs)).toBe(0);
    // Results below 2^-126 are flushed to zero by design (WGSL may flush them).
    // (rounded with a normal number's 24 bits first, as the integer algorithm does)
    const flushed = (v: number) => {
      const r = Math.abs(v) < 2 ** -100 ? Math.fround(v * 2 ** 64) / 2 ** 64 : v;
      return Math.abs(r) < 2 ** -126 ? 0 : r;
    };
    expect(maxUlps(detReciprocal, (x) => flushed(1 / x), xs)).toBe(0);
    expect(maxUlps((x) => detDiv(3, x), (x) => flushed(3 / x), xs)).toBe(0);
    expect(maxUlps((x) => detDiv(-x, 7.3), (x) => flushed(-x / Math.fround(7.3)), xs)).toBe(0);
    expect(detReciprocal(0)).toBe(Infinity);
    expect(detReciprocal(-0)).toBe(-Infinity);
    expect(detDiv(0, 0)).toBeNaN();
    expect(detDiv(1, Infinity)).toBe(0);
  });
  it("division and sqrt are correctly rounded on random bit patterns", { timeout: 60_000 }, () => {
    // A fixed linear congruential sequence of float32 bit patterns (normal numbers only).
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    const view = new DataView(new ArrayBuffer(4));
    const randomFloat = () => {
      view.setUint32(0, (next() & 0x807fffff) | ((1 + (next() % 253)) << 23));
      return view.getFloat32(0);
    };
    for (let i = 0; i < 5000; i++) {
      const a = randomFloat();
      const b = randomFloat();
      const want = Math.fround(a / b);
      const expected = Math.abs(want) < 2 ** -126 ? 0 * Math.sign(want) : want;
      expect(Object.is(detDiv(a, b), expected) || detDiv(a, b) === expected).toBe(true);
      expect(detSqrt(Math.abs(a))).toBe(Math.fround(Math.sqrt(Math.abs(a))));
      // The integer algorithms the WGSL twins run give the same bits as the CPU shortcut.
      expect(Object.is(detDivBySignificands(a, b), detDiv(a, b))).toBe(true);
      expect(Object.is(detSqrtBySignificands(Math.abs(a)), detSqrt(Math.abs(a)))).toBe(true);
    }
    for (const [a, b] of [[0, 0], [1, 0], [-1, 0], [1, -0], [Infinity, Infinity], [Infinity, 2], [2, Infinity], [NaN, 1], [1e-40, 1], [1, 1e-40], [3e38, 1e-10], [1e-30, 1e30]]) {
      expect(Object.is(detDivBySignificands(a!, b!), detDiv(a!, b!)), `${a} / ${b}`).toBe(true);
    }
    for (const a of [0, -0, 1e-40, -1e-40, -1, Infinity, NaN, 4, 2]) {
      expect(Object.is(detSqrtBySignificands(a), detSqrt(a)), `sqrt(${a})`).toBe(true);
    }
  });

  it("pow", () => {
    expect(detPow(3, 2)).toBe(9);
    expect(detPow(-2, 3)).toBe(-8);
    expect(detPow(-2, 0.5)).toBeNaN();
    expect(maxUlps((x) => detPow(x, 2.5), (x) => x ** 2.5, sample(0.01, 100))).toBeLessThanOrEqual(4);
    expect(maxUlps((x) => detPow(x, -1.7), (x) => x ** -1.7, sample(0.01, 100))).toBeLessThanOrEqual(8);
  });
});
