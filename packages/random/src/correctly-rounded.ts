// Correctly rounded double log, sin and cos for the double-precision normal paths (RNG.md §4.2,
// §4.3, §4.5). PyTorch calls glibc there; glibc is correctly rounded for all but ~0.1 % of
// arguments, while V8's Math.log/sin/cos differ from it in several percent, so Math.* is never
// used. Each function evaluates in double-double (≈106 bits) with an error bound, and asks
// bigint-math.ts only when that bound straddles a rounding boundary (about once in 2^35 calls).
import { logExact, piFixed, ln2Fixed, sinCosExact, type SinCosPair } from "./bigint-math.js";
import { ddAdd, ddDiv, ddMul, low, roundIfCertain, twoProduct, twoSum } from "./double-double.js";
import { decompose, roundExact } from "./exact-float.js";

/** Splits a high-precision fixed-point constant into a double-double hi + lo (+ a third part). */
function splitConstant(value: bigint, bits: number, parts: number): number[] {
  const out: number[] = [];
  let rest = value;
  for (let i = 0; i < parts; i++) {
    const part = roundExact(rest, -bits);
    out.push(part);
    rest -= exactFixed(part, bits); // exact: each part is a multiple of 2^-bits at these sizes
  }
  return out;
}

/** A double as a fixed-point BigInt with `bits` fraction bits (exact for the constants here). */
function exactFixed(x: number, bits: number): bigint {
  if (x === 0) return 0n;
  const { mantissa, exponent } = decompose(x);
  if (exponent + bits < 0) throw new Error("constant below the fixed-point grid");
  return mantissa << BigInt(exponent + bits);
}

const CONSTANT_BITS = 400;
const [LN2_HI, LN2_LO] = splitConstant(ln2Fixed(CONSTANT_BITS), CONSTANT_BITS, 2) as [number, number];
const [HALF_PI_1, HALF_PI_2, HALF_PI_3] = splitConstant(piFixed(CONSTANT_BITS) >> 1n, CONSTANT_BITS, 3) as [
  number,
  number,
  number,
];
const TWO_OVER_PI = 2 / Math.PI; // only picks the quadrant; the reduction itself is exact

// Series coefficients as double-doubles rounded from 400-bit values, interleaved hi, lo.
const ONE_FIXED = 1n << BigInt(CONSTANT_BITS);

/** 1/(2i+1) for the atanh series of log. */
const ATANH_TERMS = 23;
const ATANH_COEFFS: number[] = [];
for (let i = 0; i < ATANH_TERMS; i++) {
  ATANH_COEFFS.push(...splitConstant(ONE_FIXED / BigInt(2 * i + 1), CONSTANT_BITS, 2));
}

/** ±1/n! for the sine (odd n: r^1 … r^29) and cosine (even n: r^0 … r^30) series. */
const SIN_TERMS = 15;
const COS_TERMS = 16;
const SIN_COEFFS: number[] = [];
const COS_COEFFS: number[] = [];
for (let n = 0, factorial = 1n; n <= 2 * SIN_TERMS; n++, factorial *= BigInt(n)) {
  const sign = Math.floor(n / 2) % 2 === 0 ? 1n : -1n;
  const parts = splitConstant((sign * ONE_FIXED) / factorial, CONSTANT_BITS, 2);
  (n % 2 === 1 ? SIN_COEFFS : COS_COEFFS).push(...parts);
}

// Bounds on the relative error of the double-double evaluations, with a wide margin over the
// ≈2^-100 the operation counts give.
const RELATIVE_ERROR = 2 ** -92;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Correctly rounded natural logarithm (NaN below zero, −∞ at zero, like libm). */
export function log(x: number): number {
  if (!(x > 0) || x === Infinity) return x === 0 ? -Infinity : x === Infinity ? Infinity : NaN;
  if (x === 1) return 0;
  // x = m · 2^k with m in [√½, √2); subnormals are scaled up first.
  const argument = x;
  let k = 0;
  if (x < 2 ** -1022) {
    x *= 2 ** 64;
    k = -64;
  }
  scratch[0] = x;
  const biased = scratchWords[HIGH_WORD]! >>> 20;
  k += biased - 1023;
  scratchWords[HIGH_WORD] = (scratchWords[HIGH_WORD]! & 0x000fffff) | 0x3ff00000;
  let m = scratch[0]!;
  if (m > Math.SQRT2) {
    m /= 2;
    k += 1;
  }
  // log m = 2·atanh(s), s = (m − 1)/(m + 1); m − 1 is exact (Sterbenz).
  const denominatorHi = twoSum(m, 1);
  const denominatorLo = low.value;
  const sHi = ddDiv(m - 1, 0, denominatorHi, denominatorLo);
  const sLo = low.value;
  const s2Hi = ddMul(sHi, sLo, sHi, sLo);
  const s2Lo = low.value;
  let pHi = ATANH_COEFFS[2 * (ATANH_TERMS - 1)]!;
  let pLo = ATANH_COEFFS[2 * (ATANH_TERMS - 1) + 1]!;
  for (let i = ATANH_TERMS - 2; i >= 0; i--) {
    pHi = ddMul(pHi, pLo, s2Hi, s2Lo);
    pLo = low.value;
    pHi = ddAdd(pHi, pLo, ATANH_COEFFS[2 * i]!, ATANH_COEFFS[2 * i + 1]!);
    pLo = low.value;
  }
  let hi = ddMul(pHi, pLo, 2 * sHi, 2 * sLo);
  let lo = low.value;
  if (k !== 0) {
    // k·ln2 in double-double: k·LN2_HI exactly (twoProduct), plus k·LN2_LO
    const kHi = twoProduct(k, LN2_HI);
    const kLo = low.value + k * LN2_LO;
    hi = ddAdd(kHi, kLo, hi, lo);
    lo = low.value;
  }
  const result = roundIfCertain(hi, lo, Math.abs(hi) * RELATIVE_ERROR);
  if (result !== undefined) return result;
  slowPathCalls.count++;
  return logExact(argument);
}

const sinCosScratch = { sin: 0, cos: 0 };

/** How often the BigInt path had to decide (tests check it stays rare). */
export const slowPathCalls = { count: 0 };

/**
 * Correctly rounded sine and cosine of θ, written into `out`. Fast for |θ| < 2^28 (the normal
 * samplers only use θ in [0, 2π)); larger or undecidable arguments go to the BigInt version.
 */
export function sinCos(theta: number, out: SinCosPair = { sin: 0, cos: 0 }): SinCosPair {
  if (!(Math.abs(theta) < 2 ** 28) || theta === 0) {
    const exact = sinCosExact(theta);
    out.sin = exact.sin;
    out.cos = exact.cos;
    return out;
  }
  // θ − k·π/2 with π/2 in three parts; every k·part is an exact double-double (k < 2^28).
  const k = Math.round(theta * TWO_OVER_PI);
  const p1Hi = twoProduct(k, HALF_PI_1);
  const p1Lo = low.value;
  let rHi = twoSum(theta, -p1Hi);
  let rLo = low.value;
  rHi = ddAdd(rHi, rLo, -p1Lo, 0);
  rLo = low.value;
  const p2Hi = twoProduct(k, HALF_PI_2);
  const p2Lo = low.value;
  rHi = ddAdd(rHi, rLo, -p2Hi, -p2Lo);
  rLo = low.value;
  rHi = ddAdd(rHi, rLo, -k * HALF_PI_3, 0);
  rLo = low.value;
  // absolute error of r: π/2 beyond three parts (< 2^-158), k·HALF_PI_3's rounding, the additions
  const rError = Math.abs(k) * 2 ** -150 + Math.abs(rHi) * 2 ** -100;

  const r2Hi = ddMul(rHi, rLo, rHi, rLo);
  const r2Lo = low.value;
  let sHi = SIN_COEFFS[2 * (SIN_TERMS - 1)]!;
  let sLo = SIN_COEFFS[2 * (SIN_TERMS - 1) + 1]!;
  for (let i = SIN_TERMS - 2; i >= 0; i--) {
    sHi = ddMul(sHi, sLo, r2Hi, r2Lo);
    sLo = low.value;
    sHi = ddAdd(sHi, sLo, SIN_COEFFS[2 * i]!, SIN_COEFFS[2 * i + 1]!);
    sLo = low.value;
  }
  sHi = ddMul(sHi, sLo, rHi, rLo);
  sLo = low.value;
  let cHi = COS_COEFFS[2 * (COS_TERMS - 1)]!;
  let cLo = COS_COEFFS[2 * (COS_TERMS - 1) + 1]!;
  for (let i = COS_TERMS - 2; i >= 0; i--) {
    cHi = ddMul(cHi, cLo, r2Hi, r2Lo);
    cLo = low.value;
    cHi = ddAdd(cHi, cLo, COS_COEFFS[2 * i]!, COS_COEFFS[2 * i + 1]!);
    cLo = low.value;
  }
  const quadrant = ((k % 4) + 4) % 4;
  const swap = quadrant === 1 || quadrant === 3;
  const sinNegative = quadrant === 2 || quadrant === 3;
  const cosNegative = quadrant === 1 || quadrant === 2;
  let sinHi = swap ? cHi : sHi;
  let sinLo = swap ? cLo : sLo;
  let cosHi = swap ? sHi : cHi;
  let cosLo = swap ? sLo : cLo;
  if (sinNegative) {
    sinHi = -sinHi;
    sinLo = -sinLo;
  }
  if (cosNegative) {
    cosHi = -cosHi;
    cosLo = -cosLo;
  }
  const sin = roundIfCertain(sinHi, sinLo, Math.abs(sinHi) * RELATIVE_ERROR + rError);
  const cos = roundIfCertain(cosHi, cosLo, Math.abs(cosHi) * RELATIVE_ERROR + rError);
  if (sin === undefined || cos === undefined) {
    slowPathCalls.count++;
    const exact = sinCosExact(theta);
    out.sin = exact.sin;
    out.cos = exact.cos;
    return out;
  }
  out.sin = sin;
  out.cos = cos;
  return out;
}

/** Correctly rounded sine. */
export function sin(theta: number): number {
  return sinCos(theta, sinCosScratch).sin;
}

/** Correctly rounded cosine. */
export function cos(theta: number): number {
  return sinCos(theta, sinCosScratch).cos;
}
