// Correctly rounded natural log, sine and cosine of doubles in BigInt fixed point. Each function
// evaluates with a proven error bound and retries at twice the precision until the bound no longer
// straddles a rounding boundary (Ziv's strategy), so its result is the double nearest the exact
// value. Slow (tens of microseconds); correctly-rounded.ts calls it only for the rare arguments
// its double-double path cannot decide, and the tests use it as the reference.
import { bitLength, decompose, roundExact } from "./exact-float.js";

const START_BITS = 160;
const MAX_BITS = 1 << 16;

/** Σ s^(2k+1)/(2k+1) (atanh) in fixed point with `bits` fraction bits, for |s| ≤ 1/3. */
function atanhFixed(s: bigint, bits: number): { value: bigint; error: bigint } {
  // atanh is odd: sum for |s| so that flooring shifts cannot get stuck at −1
  if (s < 0n) {
    const positive = atanhFixed(-s, bits);
    return { value: -positive.value, error: positive.error };
  }
  const shift = BigInt(bits);
  const square = (s * s) >> shift;
  let power = s;
  let sum = s;
  let terms = 1n;
  for (let k = 3n; power !== 0n; k += 2n) {
    power = (power * square) >> shift;
    sum += power / k;
    terms++;
  }
  // each term: one truncation in the power, one in the division, and the power's inherited error
  // shrinks by s² each step, so 3 units per term bounds everything
  return { value: sum, error: 3n * terms + 2n };
}

// Constants are computed once at the largest precision asked for and shifted down for smaller
// ones (a floor adds at most one unit to the stored error of at most one unit).
let piCache: { bits: number; value: bigint } | undefined;
let ln2Cache: { bits: number; value: bigint } | undefined;

/** π with `bits` fraction bits, error ≤ 2 units (Machin: π = 16·atan(1/5) − 4·atan(1/239)). */
export function piFixed(bits: number): bigint {
  if (piCache === undefined || piCache.bits < bits) {
    const work = bits + 32;
    const shift = BigInt(work);
    const atanInverse = (n: bigint): bigint => {
      const nn = n * n;
      let power = (1n << shift) / n;
      let sum = power;
      for (let k = 3n, sign = -1n; power !== 0n; k += 2n, sign = -sign) {
        power /= nn;
        sum += (sign * power) / k;
      }
      return sum;
    };
    piCache = { bits: work, value: 16n * atanInverse(5n) - 4n * atanInverse(239n) };
  }
  return piCache.value >> BigInt(piCache.bits - bits);
}

/** ln 2 with `bits` fraction bits, error ≤ 2 units (ln 2 = 2·atanh(1/3)). */
export function ln2Fixed(bits: number): bigint {
  if (ln2Cache === undefined || ln2Cache.bits < bits) {
    const work = bits + 32;
    const third = (1n << BigInt(work)) / 3n;
    ln2Cache = { bits: work, value: 2n * atanhFixed(third, work).value };
  }
  return ln2Cache.value >> BigInt(ln2Cache.bits - bits);
}

/** The double nearest to value/2^bits if every value within ±error units rounds the same. */
function decide(value: bigint, error: bigint, bits: number): number | undefined {
  const down = roundExact(value - error, -bits);
  const up = roundExact(value + error, -bits);
  return down === up ? down : undefined;
}

/** Correctly rounded natural logarithm of a double (NaN, ±∞ and ≤ 0 as in IEEE libm). */
export function logExact(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  if (x === 1) return 0; // the only double with an exactly representable logarithm
  const { mantissa, exponent } = decompose(x);
  const length = bitLength(mantissa);
  // x = y · 2^k with y in [√½, √2): y = mantissa / 2^(length−1), halved when y² > 2.
  let k = exponent + length - 1;
  let scale = length - 1;
  if (mantissa * mantissa > 1n << BigInt(2 * (length - 1) + 1)) {
    k += 1;
    scale += 1;
  }
  for (let bits = START_BITS; bits <= MAX_BITS; bits *= 2) {
    const one = 1n << BigInt(bits);
    const y = mantissa << BigInt(bits - scale);
    const s = ((y - one) << BigInt(bits)) / (y + one); // |s| ≤ 0.172, truncation ≤ 1 unit
    const series = atanhFixed(s, bits);
    const kk = BigInt(k);
    const value = 2n * series.value + kk * ln2Fixed(bits);
    const absK = kk < 0n ? -kk : kk;
    // 2·(series error + 1 unit from s, scaled by atanh' ≤ 1.04) + |k|·(ln 2 error)
    const error = 2n * (series.error + 2n) + 2n * absK + 1n;
    const result = decide(value, error, bits);
    if (result !== undefined) return result;
  }
  throw new Error(`logExact(${x}): no decision at ${MAX_BITS} bits`);
}

/** Sine and cosine of the same angle. */
export interface SinCosPair {
  sin: number;
  cos: number;
}

/** Correctly rounded sine and cosine of a double (NaN for non-finite arguments). */
export function sinCosExact(theta: number): SinCosPair {
  if (!Number.isFinite(theta)) return { sin: NaN, cos: NaN };
  if (theta === 0) return { sin: theta, cos: 1 }; // keeps the sign of zero, like libm
  const { mantissa, exponent } = decompose(theta);
  const lead = exponent + bitLength(mantissa < 0n ? -mantissa : mantissa) - 1;
  for (let base = START_BITS; base <= MAX_BITS; base *= 2) {
    // Enough fraction bits to hold θ exactly and keep `base` bits relative to a tiny θ; extra
    // bits for π so that k·π/2 stays accurate for a large k.
    const bits = base + Math.max(0, -lead) + Math.max(0, lead) + 64;
    const shift = BigInt(bits);
    const angle = mantissa << BigInt(exponent + bits); // exact: exponent + bits ≥ 0
    const halfPi = piFixed(bits) >> 1n; // error ≤ 2 units
    // k = round(θ / (π/2)), then r = θ − k·π/2 with |r| ≤ π/4 (plus a rounding hair).
    let k = ((angle << 1n) + halfPi) / (halfPi << 1n);
    if (angle < 0n && ((angle << 1n) + halfPi) % (halfPi << 1n) !== 0n) k -= 1n; // floor for negatives
    const r = angle - k * halfPi;
    const absK = k < 0n ? -k : k;
    let sin = 0n;
    let cos = 1n << shift;
    let term = cos;
    let steps = 0n;
    for (let n = 1n; term !== 0n; n++) {
      term = (term * r) >> shift;
      term /= n;
      steps++;
      switch (Number(n % 4n)) {
        case 1: sin += term; break;
        case 2: cos -= term; break;
        case 3: sin -= term; break;
        default: cos += term;
      }
    }
    // |k|·2 units from π/2 (sin and cos are 1-Lipschitz), 2 units per series step, and a margin
    const error = 2n * absK + 2n * steps + 4n;
    const quadrant = Number(((k % 4n) + 4n) % 4n);
    const s = [sin, cos, -sin, -cos][quadrant]!;
    const c = [cos, -sin, -cos, sin][quadrant]!;
    const sinResult = decide(s, error, bits);
    const cosResult = decide(c, error, bits);
    if (sinResult !== undefined && cosResult !== undefined) return { sin: sinResult, cos: cosResult };
  }
  throw new Error(`sinCosExact(${theta}): no decision at ${MAX_BITS} bits`);
}
