// Double-double arithmetic: a value carried as an unevaluated sum hi + lo of two doubles, about
// 106 significant bits. It gives fma.ts its error-free transformations and correctly-rounded.ts
// its fast path. Functions return the high part and leave the low part in `low.value` so that
// hot loops allocate nothing; read it immediately, the next call overwrites it.

/** The low part of the last double-double result (read right after the call that set it). */
export const low = { value: 0 };

/** fl(a + b), with the exact rounding error a + b − fl(a + b) in `low.value` (Knuth's TwoSum). */
export function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  low.value = a - (s - bb) + (b - bb);
  return s;
}

/** Like twoSum, but needs |a| ≥ |b| (or a = 0); three operations instead of six. */
export function quickTwoSum(a: number, b: number): number {
  const s = a + b;
  low.value = b - (s - a);
  return s;
}

// Veltkamp's splitter: 2^27 + 1 cuts a double into two halves of at most 26 bits.
const SPLITTER = 134217729;

/**
 * fl(a · b), with the exact error a · b − fl(a · b) in `low.value` (Dekker). Exact as long as the
 * product neither overflows nor comes within 2^-969 of underflow, and |a|, |b| < 2^995.
 */
export function twoProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const aHigh = t - (t - a);
  const aLow = a - aHigh;
  t = SPLITTER * b;
  const bHigh = t - (t - b);
  const bLow = b - bHigh;
  low.value = aLow * bLow - (p - aHigh * bHigh - aLow * bHigh - aHigh * bLow);
  return p;
}

/** (ah + al) + (bh + bl), relative error about 2^-104 (the accurate "IEEE" addition). */
export function ddAdd(ah: number, al: number, bh: number, bl: number): number {
  let s = twoSum(ah, bh);
  let e = low.value;
  const t = twoSum(al, bl);
  const f = low.value;
  e += t;
  s = quickTwoSum(s, e);
  e = low.value + f;
  return quickTwoSum(s, e);
}

/** (ah + al) · (bh + bl), relative error about 2^-104. */
export function ddMul(ah: number, al: number, bh: number, bl: number): number {
  const p = twoProduct(ah, bh);
  const e = low.value + (ah * bl + al * bh);
  return quickTwoSum(p, e);
}

/** (ah + al) · b for a double b. */
export function ddMulDouble(ah: number, al: number, b: number): number {
  const p = twoProduct(ah, b);
  const e = low.value + al * b;
  return quickTwoSum(p, e);
}

/** (ah + al) / (bh + bl), relative error about 2^-103 (one correction step after a double quotient). */
export function ddDiv(ah: number, al: number, bh: number, bl: number): number {
  const q1 = ah / bh;
  // remainder (a − q1·b), computed with an exact product so the correction sees every bit
  const ph = ddMulDouble(bh, bl, q1);
  const pl = low.value;
  const rh = ddAdd(ah, al, -ph, -pl);
  const rl = low.value;
  const q2 = (rh + rl) / bh;
  return quickTwoSum(q1, q2);
}

/**
 * The double nearest to a value known only as hi + lo ± error, or undefined when the interval
 * straddles a rounding boundary (then only a more precise evaluation can decide). `error` must
 * bound |exact − (hi + lo)|; `hi + lo` must be normalised (|lo| ≤ ulp(hi)/2).
 */
export function roundIfCertain(hi: number, lo: number, error: number): number | undefined {
  // Widen by 2·error so that rounding the small addend itself cannot pull an end of the interval
  // inwards; then rounding is monotonic, and equal ends mean every value inside rounds the same.
  const down = hi + (lo - 2 * error);
  const up = hi + (lo + 2 * error);
  return down === up ? down : undefined;
}
