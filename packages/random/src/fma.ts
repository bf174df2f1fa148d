// Fused multiply-add for float32 and float64: `a·b + c` rounded once. PyTorch's x86-64 kernels are
// compiled with FMA contraction, so uniform mapping and normal outputs round once where plain JS
// arithmetic would round twice (RNG.md §3, §4, §12). JS has no fma, so both are emulated here:
// float32 through a double sum plus a midpoint check, float64 through error-free transformations
// and rounding to odd (Boldo & Melquiond), with an exact BigInt fallback where those need care.
import { low, twoProduct, twoSum } from "./double-double.js";
import { FLOAT32, FLOAT64, fusedMultiplyAddExact } from "./exact-float.js";

const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LOW = LITTLE_ENDIAN ? 0 : 1; // index of the low 32-bit word of a double
const HIGH = 1 - LOW;

/** The double next to nonzero `x` away from zero (`away`) or towards zero. */
function stepMagnitude(x: number, away: boolean): number {
  f64[0] = x;
  let lowWord = u32of64[LOW]!;
  let highWord = u32of64[HIGH]!;
  if (away) {
    lowWord = (lowWord + 1) >>> 0;
    if (lowWord === 0) highWord = (highWord + 1) >>> 0;
  } else {
    if (lowWord === 0) highWord = (highWord - 1) >>> 0;
    lowWord = (lowWord - 1) >>> 0;
  }
  u32of64[LOW] = lowWord;
  u32of64[HIGH] = highWord;
  return f64[0]!;
}

/**
 * fl(x + y) rounded to odd: when the sum is inexact, the neighbour whose last significand bit is
 * 1. Rounding to odd first and to nearest second equals rounding to nearest once, which is what
 * makes the emulated fma exact.
 */
function addRoundToOdd(x: number, y: number): number {
  const s = twoSum(x, y);
  const error = low.value;
  if (error === 0) return s;
  f64[0] = s;
  if ((u32of64[LOW]! & 1) === 1) return s;
  // s is even and inexact: the exact sum lies strictly between s and its neighbour towards the error.
  return stepMagnitude(s, error > 0 === s > 0);
}

// Beyond these magnitudes Dekker's product may overflow or lose its low part to underflow.
const PRODUCT_MAX = 2 ** 995;
const PRODUCT_MIN = 2 ** -960;

/** `a·b + c` for doubles, computed exactly and rounded once to nearest-even (IEEE fma). */
export function fma64(a: number, b: number, c: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a * b + c; // NaN/∞ propagate as in IEEE
  if (!Number.isFinite(c)) return c; // a finite product cannot cancel an infinite c
  // An exact zero product leaves IEEE's signed-zero addition; a zero addend leaves the product's
  // single rounding, whose sign survives even when it underflows to zero.
  if (a === 0 || b === 0) return a * b + c;
  if (c === 0) return a * b;
  const p = twoProduct(a, b);
  const pe = low.value;
  const magnitude = Math.abs(p);
  if (!(magnitude <= PRODUCT_MAX && magnitude >= PRODUCT_MIN) || Math.abs(c) > PRODUCT_MAX) {
    return fusedMultiplyAddExact(a, b, c, FLOAT64);
  }
  // Boldo–Melquiond: p + pe = a·b exactly; high + low = c + p exactly; rounding low + pe to odd
  // and then high + that to nearest gives the correctly rounded a·b + c.
  const high = twoSum(c, p);
  const rest = low.value;
  return high + addRoundToOdd(rest, pe);
}

/**
 * `a·b + c` for float32 values, rounded once to float32. The product of two float32 values is
 * exact in a double; the double sum then rounds once more, which can only mislead the final
 * float32 rounding when it lands exactly on a midpoint between two float32 values — there the
 * sign of the sum's rounding error says which way the exact value lies.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  // s is a float32 midpoint exactly when its mirror image through r is the float32 neighbour on
  // the other side; for any other s the mirror falls strictly between two float32 values, and
  // fround(s) is already the correctly rounded result. This is the common, cheap path.
  const other = 2 * s - r;
  if (r === s || Math.fround(other) !== other) return r;
  if (!Number.isFinite(r)) return fusedMultiplyAddExact(a, b, c, FLOAT32); // past float32's range
  // On a midpoint in double: the bits the double sum lost (TwoSum) say which side the exact value is.
  const bb = s - p;
  const error = p - (s - bb) + (c - bb);
  if (error === 0) return r; // a true tie: fround already chose the even neighbour
  return error > 0 ? Math.max(r, other) : Math.min(r, other);
}
