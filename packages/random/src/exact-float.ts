// Exact binary arithmetic on doubles through BigInt: a finite double is `mantissa · 2^exponent`
// with an integer mantissa, so sums and products of doubles are exact BigInt operations, and
// rounding the exact result once to float64 or float32 gives what a fused hardware instruction
// gives. This is the slow but certain path: fma.ts and correctly-rounded.ts use it only for
// inputs their fast paths cannot decide.

const scratch = new DataView(new ArrayBuffer(8));

/** A finite double split into an integer mantissa and a power of two: value = mantissa · 2^exponent. */
export interface ExactBinary {
  readonly mantissa: bigint;
  readonly exponent: number;
}

/** Splits a finite double exactly; zero gives mantissa 0n (the sign of zero is lost). */
export function decompose(x: number): ExactBinary {
  scratch.setFloat64(0, x);
  const high = scratch.getUint32(0);
  const low = scratch.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  const negative = high >>> 31 === 1;
  // Subnormals have no hidden bit and the exponent of the smallest normal.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return { mantissa: negative ? -mantissa : mantissa, exponent };
}

/** x · 2^n without intermediate overflow or double rounding, for values that are representable. */
export function scaleByPowerOfTwo(x: number, n: number): number {
  // Move towards the result in steps that stay normal; only the last step can be subnormal,
  // and it is exact whenever the result is representable.
  while (n > 1000) {
    x *= 2 ** 1000;
    n -= 1000;
  }
  while (n < -1000) {
    x *= 2 ** -1000;
    n += 1000;
  }
  return x * 2 ** n;
}

/** Number of significant bits of a non-negative BigInt (0 for 0n). */
export function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  // toString(16) is far cheaper than bit-by-bit shifting for the widths used here.
  const hex = n.toString(16);
  const lead = parseInt(hex[0]!, 16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(lead));
}

/** Binary formats a value can be rounded to. */
export interface FloatFormat {
  /** Significand bits including the hidden one. */
  readonly precision: number;
  /** Exponent of the smallest subnormal's unit (the lowest ulp). */
  readonly minUlpExponent: number;
}

/** IEEE binary64. */
export const FLOAT64: FloatFormat = { precision: 53, minUlpExponent: -1074 };
/** IEEE binary32. */
export const FLOAT32: FloatFormat = { precision: 24, minUlpExponent: -149 };

/**
 * Rounds `mantissa · 2^exponent` to the nearest value of `format` (ties to even), overflowing to
 * ±Infinity like hardware. Zero gives +0. The result is returned as a JS number (a float32 result
 * is a double holding a float32 value).
 */
export function roundExact(mantissa: bigint, exponent: number, format: FloatFormat = FLOAT64): number {
  if (mantissa === 0n) return 0;
  const negative = mantissa < 0n;
  let m = negative ? -mantissa : mantissa;
  const length = bitLength(m);
  const leadExponent = exponent + length - 1;
  const ulpExponent = Math.max(leadExponent - (format.precision - 1), format.minUlpExponent);
  let e = exponent;
  if (ulpExponent > exponent) {
    const shift = BigInt(ulpExponent - exponent);
    const kept = m >> shift;
    const rest = m - (kept << shift);
    const half = 1n << (shift - 1n);
    m = rest > half || (rest === half && (kept & 1n) === 1n) ? kept + 1n : kept;
    e = ulpExponent;
  }
  // m now has at most precision + 1 bits (after a carry), so Number(m) is exact.
  let value = scaleByPowerOfTwo(Number(m), e);
  if (format === FLOAT32) value = Math.fround(value); // only changes a value past float32's range
  return negative ? -value : value;
}

/** The exact sum of two exact binaries, aligned to the smaller exponent. */
export function addExact(a: ExactBinary, b: ExactBinary): ExactBinary {
  const exponent = Math.min(a.exponent, b.exponent);
  const mantissa = (a.mantissa << BigInt(a.exponent - exponent)) + (b.mantissa << BigInt(b.exponent - exponent));
  return { mantissa, exponent };
}

/** The exact product of two exact binaries. */
export function multiplyExact(a: ExactBinary, b: ExactBinary): ExactBinary {
  return { mantissa: a.mantissa * b.mantissa, exponent: a.exponent + b.exponent };
}

/**
 * `a · b + c` computed exactly and rounded once, for finite inputs. Non-finite inputs and exact
 * zeros are the caller's business (the fast paths treat them before getting here).
 */
export function fusedMultiplyAddExact(a: number, b: number, c: number, format: FloatFormat = FLOAT64): number {
  const sum = addExact(multiplyExact(decompose(a), decompose(b)), decompose(c));
  // An exact zero takes its sign from IEEE addition of the (exact) addends.
  if (sum.mantissa === 0n) return a * b + c;
  return roundExact(sum.mantissa, sum.exponent, format);
}
