// The float32 logarithm and sine/cosine that PyTorch's AVX2 `normal_` kernel evaluates (Cephes-
// style polynomials, RNG.md §4.4), reproduced operation by operation: every float32 rounding and
// every multiply-add that GCC fuses in that kernel is fused here too, because leaving out a single
// fusion changes results. These are not general-purpose functions: they are exact copies of one
// kernel's arithmetic for arguments in (0, 1] (log) and [0, 2π) (sincos).
import { fma32 } from "./fma.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 value with the given bit pattern. */
export function float32FromBits(bits: number): number {
  u32[0] = bits;
  return f32[0]!;
}

/** The bit pattern of a float32 value (a double that holds a float32 value). */
export function bitsOfFloat32(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

const fl = Math.fround;
const MIN_NORMAL = 2 ** -126;
const SQRT_HALF = float32FromBits(0x3f3504f3);
const LOG_POLY = [
  0x3d9021bb, 0xbdebd1b8, 0x3def251a, 0xbdfe5d4f, 0x3e11e9bf, 0xbe2aae50, 0x3e4cceac, 0xbe7ffffc, 0x3eaaaaaa,
].map(float32FromBits);
const LOG_Q1 = float32FromBits(0xb95e8083);
const LOG_Q2 = float32FromBits(0x3f318000);

/**
 * Natural log of a float32 in (0, 1] as the AVX2 kernel computes it: exponent split, reduction of
 * the significand to [√½, √2), a degree-8 polynomial in Horner form with fused steps, and ln 2
 * added back in two parts (the first part times an integer is exact).
 */
export function logFloat32(x: number): number {
  if (x < MIN_NORMAL) x = MIN_NORMAL;
  const bits = bitsOfFloat32(x);
  const k = (bits >>> 23) - 127;
  // Significand scaled into [0.5, 1) by forcing the biased exponent of 0.5.
  const m = float32FromBits(((bits & ~0x7f800000) | 0x3f000000) >>> 0);
  let e = fl(k + 1);
  let t: number;
  if (m < SQRT_HALF) {
    e = fl(e - 1);
    t = fl(fl(m - 1) + m);
  } else {
    t = fl(m - 1);
  }
  const z = fl(t * t);
  let y = LOG_POLY[0]!;
  for (let i = 1; i < LOG_POLY.length; i++) y = fma32(y, t, LOG_POLY[i]!);
  y = fl(y * t);
  y = fma32(y, z, fl(e * LOG_Q1));
  y = fl(y - fl(0.5 * z));
  return fl(fl(t + y) + fl(e * LOG_Q2));
}

const FOUR_OVER_PI = float32FromBits(0x3fa2f983);
const DP1 = float32FromBits(0xbf490000);
const DP2 = float32FromBits(0xb97da000);
const DP3 = float32FromBits(0xb3222169);
const COS_C0 = float32FromBits(0x37ccf5ce);
const COS_C1 = float32FromBits(0xbab6061a);
const COS_C2 = float32FromBits(0x3d2aaaa5);
const SIN_S0 = float32FromBits(0xb94ca1f9);
const SIN_S1 = float32FromBits(0x3c08839e);
const SIN_S2 = float32FromBits(0xbe2aaaa3);

/** Sine and cosine of one angle; the kernel always computes both. */
export interface SinCos {
  sin: number;
  cos: number;
}

/**
 * Sine and cosine of a float32 angle θ ≥ 0 as the AVX2 kernel computes them: octant from
 * θ·4/π rounded up to even, a three-part Cody–Waite reduction (each part fused), and short
 * polynomials for both functions, swapped and negated by octant. Writes into `out` to avoid an
 * allocation per element.
 */
export function sinCosFloat32(theta: number, out: SinCos): SinCos {
  const y = fl(theta * FOUR_OVER_PI);
  let j = Math.trunc(y) | 0;
  j = (j + 1) & ~1;
  let r = fma32(j, DP1, theta);
  r = fma32(j, DP2, r);
  r = fma32(j, DP3, r);
  const z = fl(r * r);

  let p = COS_C0;
  p = fma32(p, z, COS_C1);
  p = fma32(p, z, COS_C2);
  p = fl(p * z);
  p = fma32(p, z, -fl(0.5 * z));
  const cosPoly = fl(p + 1);

  let q = SIN_S0;
  q = fma32(q, z, SIN_S1);
  q = fma32(q, z, SIN_S2);
  q = fl(q * z);
  const sinPoly = fma32(q, r, r);

  let sin: number;
  let cos: number;
  if ((j & 2) === 0) {
    sin = sinPoly;
    cos = cosPoly;
  } else {
    sin = cosPoly;
    cos = sinPoly;
  }
  if ((j & 4) !== 0) sin = -sin;
  if (((j - 2) & 4) === 0) cos = -cos;
  out.sin = sin;
  out.cos = cos;
  return out;
}

