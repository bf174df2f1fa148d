import { describe, expect, it } from "vitest";
import { logExact, sinCosExact } from "./bigint-math.js";
import { bitsOfFloat32, float32FromBits, logFloat32, sinCosFloat32 } from "./float32-math.js";

// Bit-exactness against PyTorch is checked by the randn float32 fixtures; these tests pin the
// kernel's accuracy so that a transcription slip (a wrong constant or step) shows up on its own.
const ulp32 = (a: number, b: number) => Math.abs(bitsOfFloat32(a) - bitsOfFloat32(b));

describe("float32 Cephes kernels of PyTorch's AVX2 normal_", () => {
  it("log is within 2 float32 ulp of the true log on the whole 24-bit uniform grid's range", () => {
    let worst = 0;
    for (let k = 1; k <= 1 << 24; k += 997) {
      const x = k / 2 ** 24;
      worst = Math.max(worst, ulp32(logFloat32(x), Math.fround(logExact(x))));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(logFloat32(1)).toBe(0);
    expect(logFloat32(0.5)).toBe(Math.fround(-Math.LN2));
  });

  it("sine and cosine are within 2 float32 ulp (or 2^-24 absolute) on [0, 2π)", () => {
    const out = { sin: 0, cos: 0 };
    const twoPi = float32FromBits(0x40c90fdb);
    for (let k = 0; k < 1 << 24; k += 1231) {
      const theta = Math.fround(twoPi * (k / 2 ** 24));
      sinCosFloat32(theta, out);
      const exact = sinCosExact(theta);
      for (const [got, want] of [
        [out.sin, exact.sin],
        [out.cos, exact.cos],
      ] as const) {
        const close = ulp32(got, Math.fround(want)) <= 2 || Math.abs(got - want) <= 2 ** -24;
        expect(close, `θ=${theta}: ${got} vs ${want}`).toBe(true);
      }
    }
  });

  it("uses the octant rules: quadrant boundaries give the right signs", () => {
    const out = { sin: 0, cos: 0 };
    sinCosFloat32(Math.fround(Math.PI), out);
    expect(out.cos).toBe(-1);
    expect(Math.abs(out.sin)).toBeLessThan(1e-6);
    sinCosFloat32(Math.fround((3 * Math.PI) / 2), out);
    expect(out.sin).toBe(-1);
  });
});
