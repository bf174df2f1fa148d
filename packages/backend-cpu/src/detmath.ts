// The deterministic float32 math library: exp, log, tanh, erf, sigmoid, gelu, sqrt, rsqrt,
// reciprocal, division and pow built only from float32 + − × (each rounded, never fused), exact
// bit manipulation of the float format, and comparisons — so that the WGSL twin in
// @lockstep/backend-webgpu, written step for step the same way, gives the same bits.
//
// Rules both twins follow (DESIGN.md, "Deterministic kernels"):
// - every + − × is rounded to float32 on its own (here `f(...)`, i.e. Math.fround);
// - no product or sum has two constant operands that a shader compiler could regroup;
// - subnormal inputs count as zero and subnormal results are flushed to zero, because WGSL lets
//   implementations flush them and we want one answer everywhere.
// Accuracy: a few float32 ulps (tested against double-precision references).

const f = Math.fround;
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

export function bitsOf(x: number): number {
  scratch[0] = x;
  return scratchBits[0]!;
}

export function fromBits(bits: number): number {
  scratchBits[0] = bits >>> 0;
  return scratch[0]!;
}

/** Smallest positive normal float32, 2^-126. */
const MIN_NORMAL = 1.1754943508222875e-38;

function flush(x: number): number {
  return Math.abs(x) < MIN_NORMAL ? 0 * Math.sign(x) || 0 : x;
}

// Division and square root are computed on the integer significands (restoring long division,
// digit-by-digit square root) and rounded to nearest-even by hand. Integer arithmetic cannot be
// reassociated or fused by a shader compiler, and the result is the correctly rounded float32 —
// the same bits as IEEE hardware division and sqrt, hence as PyTorch's.

interface Unpacked {
  negative: boolean;
  /** 24-bit significand with the hidden bit (0 for zero/subnormal). */
  significand: number;
  /** Unbiased exponent of the significand's leading bit. */
  exponent: number;
}

function unpack(x: number): Unpacked {
  const bits = bitsOf(x);
  const biased = (bits >>> 23) & 0xff;
  return {
    negative: bits >>> 31 === 1,
    significand: biased === 0 ? 0 : (bits & 0x7fffff) | 0x800000,
    exponent: biased - 127,
  };
}

/**
 * Packs sign, a significand `q` of 25 bits (24 + one guard bit) and a sticky flag into the nearest
 * float32 (ties to even); overflow gives ±∞ and results below 2^-126 flush to ±0.
 */
function roundAndPack(negative: boolean, q: number, sticky: boolean, exponent: number): number {
  let significand = q >>> 1;
  const guard = q & 1;
  let e = exponent;
  if (guard === 1 && (sticky || (significand & 1) === 1)) significand++;
  if (significand === 0x1000000) {
    significand >>>= 1;
    e++;
  }
  const biased = e + 127;
  const sign = negative ? 0x80000000 : 0;
  if (biased >= 255) return fromBits(sign | 0x7f800000);
  if (biased <= 0) return fromBits(sign);
  return fromBits(sign | (biased << 23) | (significand & 0x7fffff));
}

/**
 * Correctly rounded float32 x / y by long division of the significands: the algorithm the WGSL twin
 * runs. On the CPU `detDiv` gives the same bits faster (see there); tests hold the two together.
 */
export function detDivBySignificands(x: number, y: number): number {
  const a = unpack(x);
  const b = unpack(y);
  const negative = a.negative !== b.negative;
  const aInf = Math.abs(x) === Infinity;
  const bInf = Math.abs(y) === Infinity;
  if (Number.isNaN(x) || Number.isNaN(y) || (aInf && bInf) || (a.significand === 0 && b.significand === 0 && !aInf && !bInf)) return NaN;
  if (aInf || b.significand === 0) return negative ? -Infinity : Infinity;
  if (bInf || a.significand === 0) return negative ? -0 : 0;
  let remainder = a.significand;
  let exponent = a.exponent - b.exponent;
  if (remainder < b.significand) {
    remainder *= 2;
    exponent--;
  }
  // 25 quotient bits: the 24 of the result and a guard bit; what remains is the sticky bit.
  let q = 0;
  for (let i = 0; i < 25; i++) {
    q *= 2;
    if (remainder >= b.significand) {
      remainder -= b.significand;
      q += 1;
    }
    remainder *= 2;
  }
  return roundAndPack(negative, q, remainder !== 0, exponent);
}

/** A subnormal operand counts as a zero of its sign, as on GPUs that flush them. */
function flushInput(x: number): number {
  return x !== 0 && Math.abs(x) < MIN_NORMAL ? (x < 0 ? -0 : 0) : x;
}

/**
 * Rounds a double to float32 with the precision of a normal number, then flushes what is below
 * 2^-126 — exactly what rounding the significand and then checking the exponent does. (Math.fround
 * would round tiny values on the coarser subnormal grid, which can reach 2^-126 from below.)
 */
function roundFlushed(q: number): number {
  const magnitude = Math.abs(q);
  if (magnitude >= 2 ** -100 || magnitude === 0 || !Number.isFinite(q)) return f(q);
  const r = f(q * 2 ** 64) / 2 ** 64;
  return Math.abs(r) < MIN_NORMAL ? (q < 0 ? -0 : 0) : r;
}

/**
 * Correctly rounded float32 x / y with subnormals flushed. A double quotient rounded to float32 is
 * the correctly rounded float32 quotient (53 ≥ 2·24 + 2 bits), so this equals
 * `detDivBySignificands` bit for bit at a fraction of the cost.
 */
export function detDiv(x: number, y: number): number {
  return roundFlushed(flushInput(f(x)) / flushInput(f(y)));
}

export function detReciprocal(y: number): number {
  return detDiv(1, y);
}

/** Correctly rounded float32 √x by the digit-by-digit method on the significand (the WGSL twin's algorithm). */
export function detSqrtBySignificands(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = unpack(x);
  // Subnormals count as zeros of their sign (as in detSqrt): √−subnormal = −0, not NaN.
  if (a.significand === 0) return a.negative ? -0 : 0;
  if (a.negative) return NaN;
  if (x === Infinity) return Infinity;
  // x = m · 2^e with m the integer significand and e even, so √x = √m · 2^(e/2).
  let m = a.significand;
  let e = a.exponent - 23;
  if ((e & 1) !== 0) {
    m *= 2;
    e--;
  }
  // Root of m · 2^26, two radicand bits per step: 26 steps give a 25- or 26-bit root.
  let remainder = 0;
  let root = 0;
  for (let pair = 25; pair >= 0; pair--) {
    const shift = 2 * pair - 26;
    const bitsIn = shift >= 0 ? Math.floor(m / 2 ** shift) % 4 : 0;
    remainder = remainder * 4 + bitsIn;
    const trial = root * 4 + 1;
    root *= 2;
    if (remainder >= trial) {
      remainder -= trial;
      root += 1;
    }
  }
  let sticky = remainder !== 0;
  let exponent = e / 2 - 13 + 24;
  if (root >= 0x2000000) {
    sticky = sticky || (root & 1) === 1;
    root = Math.floor(root / 2);
    exponent++;
  }
  return roundAndPack(false, root, sticky, exponent);
}

/** Correctly rounded float32 √x with subnormal inputs as zero; equals `detSqrtBySignificands` bit for bit. */
export function detSqrt(x: number): number {
  return f(Math.sqrt(flushInput(f(x))));
}

/** 1/√x as PyTorch computes it: a correctly rounded square root, then a correctly rounded division. */
export function detRsqrt(x: number): number {
  return detDiv(1, detSqrt(x));
}

// exp: e^x = 2^n · e^r with n = round(x·log2 e) and |r| ≤ ln2/2; e^r by a degree-7 polynomial
// (Cephes expf coefficients), the ln 2 subtraction split in two (Cody–Waite) so n·C1 is exact.
const LOG2E = f(1.4426950408889634);
const EXP_C1 = 0.693359375;
const EXP_C2 = f(-2.12194440e-4);
const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f);
const EXP_MAX = f(88.72283935546875);
const EXP_MIN = f(-87.33654022216797);

export function detExp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > EXP_MAX) return Infinity;
  if (x < EXP_MIN) return 0;
  const n = Math.floor(f(f(x * LOG2E) + 0.5));
  let r = f(x - f(n * EXP_C1));
  r = f(r - f(n * EXP_C2));
  let p = EXP_P[0]!;
  for (let i = 1; i < EXP_P.length; i++) p = f(f(p * r) + EXP_P[i]!);
  const z = f(r * r);
  const y = f(f(f(p * z) + r) + 1);
  // 2^n through the exponent bits; n = 128 needs two steps.
  const result = n > 127 ? f(f(y * 2) * fromBits(254 << 23)) : f(y * fromBits((n + 127) << 23));
  return flush(result);
}

// log: x = m·2^e with m in [√½, √2); log(1 + t) = t − t²/2 + t³·P(t) (Cephes logf coefficients,
// the same polynomial PyTorch's AVX2 normal sampler uses), e·ln2 split in two.
const LOG_P = [
  0x3d9021bb, 0xbdebd1b8, 0x3def251a, 0xbdfe5d4f, 0x3e11e9bf, 0xbe2aae50, 0x3e4cceac, 0xbe7ffffc, 0x3eaaaaaa,
].map(fromBits);
const SQRTHF = fromBits(0x3f3504f3);
const LOG_Q1 = fromBits(0xb95e8083);
const LOG_Q2 = 0.693359375;

export function detLog(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x < MIN_NORMAL) return -Infinity;
  if (x === Infinity) return Infinity;
  const bits = bitsOf(x);
  let e = ((bits >>> 23) & 0xff) - 126;
  const m = fromBits((bits & 0x807fffff) | 0x3f000000);
  let t: number;
  if (m < SQRTHF) {
    e -= 1;
    t = f(f(m + m) - 1);
  } else {
    t = f(m - 1);
  }
  const z = f(t * t);
  let p = LOG_P[0]!;
  for (let i = 1; i < LOG_P.length; i++) p = f(f(p * t) + LOG_P[i]!);
  let y = f(f(p * t) * z);
  const fe = e;
  y = f(y + f(fe * LOG_Q1));
  y = f(y - f(z * 0.5));
  const r = f(t + y);
  return f(r + f(fe * LOG_Q2));
}

// tanh: an odd polynomial for |x| < 0.625 (Cephes tanhf), else 1 − 2/(e^(2|x|) + 1).
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1].map(f);

export function detTanh(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let y: number;
  if (a > 9) {
    y = 1;
  } else if (a >= 0.625) {
    const e = detExp(f(a + a));
    const r = detReciprocal(f(e + 1));
    y = f(1 - f(r + r));
  } else {
    const z = f(a * a);
    let p = TANH_P[0]!;
    for (let i = 1; i < TANH_P.length; i++) p = f(f(p * z) + TANH_P[i]!);
    y = f(f(f(p * z) * a) + a);
  }
  return x < 0 ? -y : y;
}

export function detSigmoid(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return detReciprocal(f(1 + detExp(-x)));
}

// erf: |x| < 1: x·P(x²) (degree 5, least-squares fit); 1 ≤ |x| < 4: 1 − e^(−x²)·G(1/x)/x with
// G a degree-8 fit of erfc(x)·e^(x²)·x in 1/x; beyond 4, ±1 (erf(4) rounds to 1 in float32).
const ERF_SMALL = [-0.0005654108827002347, 0.004923280794173479, -0.026716390624642372, 0.11280364543199539, -0.37612348794937134, 1.1283791065216064].map(f);
const ERFC_G = [
  0.05486573278903961, -0.31406185030937195, 0.762709379196167, -0.9827815890312195, 0.621812105178833,
  0.016589608043432236, -0.2986975908279419, 0.003170247422531247, 0.5639775395393372,
].map(f);

export function detErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let y: number;
  if (a < 1) {
    const z = f(a * a);
    let p = ERF_SMALL[0]!;
    for (let i = 1; i < ERF_SMALL.length; i++) p = f(f(p * z) + ERF_SMALL[i]!);
    y = f(p * a);
  } else if (a < 4) {
    const q = detReciprocal(a);
    let g = ERFC_G[0]!;
    for (let i = 1; i < ERFC_G.length; i++) g = f(f(g * q) + ERFC_G[i]!);
    const e = detExp(-f(a * a));
    y = f(1 - f(f(e * g) * q));
  } else {
    y = 1;
  }
  return x < 0 ? -y : y;
}

const SQRT1_2 = f(Math.SQRT1_2);
const GELU_KAPPA = f(0.044715);
const GELU_BETA = f(Math.sqrt(2 / Math.PI));

/** x·Φ(x) = x/2 · (1 + erf(x/√2)). */
export function detGelu(x: number): number {
  const e = detErf(f(x * SQRT1_2));
  return f(f(x * 0.5) * f(1 + e));
}

/** PyTorch's tanh approximation: x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function detGeluTanh(x: number): number {
  const cube = f(f(x * x) * x);
  const inner = f(f(x + f(cube * GELU_KAPPA)) * GELU_BETA);
  return f(f(x * 0.5) * f(1 + detTanh(inner)));
}

function integerPower(a: number, n: number): number {
  let result = 1;
  let base = a;
  for (let e = Math.abs(n); e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = f(result * base);
    base = f(base * base);
  }
  return n < 0 ? detReciprocal(result) : result;
}

/**
 * a^b = a^n · a^r with n the integer part of b (by squaring) and r = b − n (exact): a^r is 1, √a
 * for ½, or e^(r·log a) — keeping |r·log a| small keeps the error of exp from being amplified.
 */
export function detPow(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (Math.abs(b) === Infinity) {
    // C's pow: |a| = 1 gives 1; otherwise 0 or ∞ depending on |a| < 1 and the sign of b.
    const magnitude = Math.abs(a);
    if (magnitude === 1) return 1;
    return (magnitude > 1) === (b > 0) ? Infinity : 0;
  }
  const n = Math.trunc(b);
  const r = f(b - n);
  if (a < 0 && r !== 0) return NaN;
  if (Math.abs(n) > 64) {
    const magnitude = detExp(f(b * detLog(Math.abs(a))));
    return a < 0 && n % 2 !== 0 ? -magnitude : magnitude;
  }
  const whole = integerPower(a, n);
  if (r === 0) return whole;
  const fraction = r === 0.5 ? detSqrt(a) : r === -0.5 ? detRsqrt(a) : detExp(f(r * detLog(a)));
  return f(whole * fraction);
}
