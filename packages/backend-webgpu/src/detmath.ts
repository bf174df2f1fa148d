// The WGSL twin of the CPU backend's deterministic float32 math library
// (packages/backend-cpu/src/detmath.ts): exp, log, tanh, sigmoid, erf, gelu, geluTanh, pow, and
// the correctly rounded division, sqrt and rsqrt on integer significands. Every function is the
// TypeScript one step for step — the same constants, the same + − × in the same order, the same
// branches — so that with useDeterministicAlgorithms(true) a webgpu kernel gives the CPU's bits.
// Division and sqrt are `detDivBySignificands` / `detSqrtBySignificands` (the CPU runs an IEEE
// double shortcut with the same bits): WGSL's `/` and sqrt() are not required to be correctly
// rounded, integer arithmetic is exact everywhere.
//
// Why the arithmetic is wrapped (DESIGN.md, rule 6). A shader compiler treats float + and × as
// associative unless told otherwise: lavapipe rewrote `(p·z + r) + 1` as `p·z + (r + 1)` and
// `c0·(x·0.01)` as `(c0·0.01)·x`, and a driver may fuse a·b + c into one rounding. With the
// constants written as WGSL literals and no wrapping, 28 % of exp results (and 12 % of sigmoid's)
// differed from the CPU on lavapipe. Reading constants from a buffer fixed that there, but it only
// hides them from constant folding: loop-invariant values still get regrouped (DESIGN.md saw
// `c[0]·(x·c[6])` become `(c[0]·c[6])·x`). So, in addition, every rounded result passes through
// `o()`, an OR with a zero the compiler cannot see (`opaque_zero`, loaded from the constants
// buffer at run time). No + − × then has another + − × as its operand: there is no chain to
// reassociate, no product to fuse into an add, no pair of constants to fold, whatever the
// optimiser or driver. (On lavapipe the wrapping alone, with literal constants, also gives 0
// differences.) The cost is one integer OR per operation.
//
// Not here: the kernels that call these functions (elementwise.ts) and the fast, builtin-based
// math used with the flag off (fastmath.ts).
import type { BinaryOp, UnaryOp } from "@lockstep/core";
import { Usage } from "./buffers.js";
import type { GpuContext } from "./device.js";

const f = Math.fround;

/** The float32 constants, with exactly the values backend-cpu's detmath.ts uses. */
const CONSTANTS = {
  ONE: [1],
  HALF: [0.5],
  TWO: [2],
  LOG2E: [f(1.4426950408889634)],
  EXP_C1: [0.693359375],
  EXP_C2: [f(-2.1219444e-4)],
  EXP_P: [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f),
  EXP_MAX: [f(88.72283935546875)],
  EXP_MIN: [f(-87.33654022216797)],
  LOG_P: [0x3d9021bb, 0xbdebd1b8, 0x3def251a, 0xbdfe5d4f, 0x3e11e9bf, 0xbe2aae50, 0x3e4cceac, 0xbe7ffffc, 0x3eaaaaaa].map(fromBits),
  SQRTHF: [fromBits(0x3f3504f3)],
  LOG_Q1: [fromBits(0xb95e8083)],
  LOG_Q2: [0.693359375],
  TANH_P: [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1].map(f),
  ERF_SMALL: [
    -0.0005654108827002347, 0.004923280794173479, -0.026716390624642372, 0.11280364543199539, -0.37612348794937134,
    1.1283791065216064,
  ].map(f),
  ERFC_G: [
    0.05486573278903961, -0.31406185030937195, 0.762709379196167, -0.9827815890312195, 0.621812105178833,
    0.016589608043432236, -0.2986975908279419, 0.003170247422531247, 0.5639775395393372,
  ].map(f),
  SQRT1_2: [f(Math.SQRT1_2)],
  GELU_KAPPA: [f(0.044715)],
  GELU_BETA: [f(Math.sqrt(2 / Math.PI))],
} as const;

function fromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

/** Word 0 is the opaque zero; then each constant list, in the order above. */
function layout(): { words: Uint32Array; declarations: string } {
  const values: number[] = [];
  const declarations: string[] = [];
  for (const [name, list] of Object.entries(CONSTANTS)) {
    declarations.push(`const K_${name} = ${values.length + 1}u;`);
    values.push(...list);
  }
  const words = new Uint32Array(1 + values.length);
  words.set(new Uint32Array(Float32Array.from(values).buffer), 1);
  return { words, declarations: declarations.join("\n") };
}

const TABLE = layout();

/** The constants buffer's words (for tests that check it against the CPU's constants). */
export const CONSTANT_WORDS: Readonly<Uint32Array> = TABLE.words;

const buffers = new WeakMap<GpuContext, GPUBuffer>();

/** The read-only constants buffer of `ctx`, made once per device. */
export function constantsBuffer(ctx: GpuContext): GPUBuffer {
  let buffer = buffers.get(ctx);
  if (buffer === undefined) {
    buffer = ctx.device.createBuffer({ size: Math.ceil(TABLE.words.byteLength / 16) * 16, usage: Usage.STORAGE | Usage.COPY_DST });
    ctx.device.queue.writeBuffer(buffer, 0, TABLE.words.buffer, TABLE.words.byteOffset, TABLE.words.byteLength);
    buffers.set(ctx, buffer);
  }
  return buffer;
}

/** Name of the constants binding in WGSL; a kernel binds it after its inputs. */
export const CONSTANTS_BINDING = "det_constants";

/** WGSL run first in `main`: loads the zero that `o()` hides from the compiler. */
export const PRELUDE = `  opaque_zero = ${CONSTANTS_BINDING}[0];`;

// Each chunk is one TypeScript function's twin; `needs` lists the chunks it calls, so a kernel
// compiles only what it uses (shader compilation dominates start-up on software adapters).
interface Chunk {
  needs: readonly string[];
  code: string;
}

const CHUNKS: Record<string, Chunk> = {
  core: {
    needs: [],
    code: `
${TABLE.declarations}
var<private> opaque_zero: u32;
// x itself, through an operation the compiler cannot see through (see the file header).
fn o(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) | opaque_zero); }
fn f_add(a: f32, b: f32) -> f32 { return o(a + b); }
fn f_sub(a: f32, b: f32) -> f32 { return o(a - b); }
fn f_mul(a: f32, b: f32) -> f32 { return o(a * b); }
fn kf(i: u32) -> f32 { return bitcast<f32>(${CONSTANTS_BINDING}[i]); }
// x < 0 for a number (−0 is not below 0).
fn below_zero(x: f32) -> bool { return bitcast<u32>(x) > 0x80000000u && !is_nan(x); }
fn signed_inf(negative: bool) -> f32 { return bitcast<f32>(select(0x7f800000u, 0xff800000u, negative) | opaque_zero); }
fn signed_zero(negative: bool) -> f32 { return bitcast<f32>(select(0u, 0x80000000u, negative) | opaque_zero); }
fn flip(y: f32, negative: bool) -> f32 { return select(y, -y, negative); }
// roundAndPack: sign, a 25-bit significand (24 + guard bit) and a sticky bit to the nearest
// float32, ties to even; overflow gives ±inf, results below 2^-126 flush to ±0.
fn round_pack(negative: bool, q: u32, sticky: bool, exponent: i32) -> f32 {
  var significand = q >> 1u;
  var e = exponent;
  if ((q & 1u) == 1u && (sticky || (significand & 1u) == 1u)) { significand = significand + 1u; }
  if (significand == 0x1000000u) {
    significand = significand >> 1u;
    e = e + 1;
  }
  let biased = e + 127;
  if (biased >= 255) { return signed_inf(negative); }
  if (biased <= 0) { return signed_zero(negative); }
  return bitcast<f32>(select(0u, 0x80000000u, negative) | (u32(biased) << 23u) | (significand & 0x7fffffu));
}
// The integer significand with its hidden bit, 0 for zero and subnormals (which count as zero).
fn significand_of(bits: u32) -> u32 {
  return select((bits & 0x7fffffu) | 0x800000u, 0u, ((bits >> 23u) & 0xffu) == 0u);
}`,
  },
  div: {
    needs: ["core"],
    code: `
// detDiv: restoring long division of the significands, 25 quotient bits, then round_pack.
fn det_div(x: f32, y: f32) -> f32 {
  let xb = bitcast<u32>(x);
  let yb = bitcast<u32>(y);
  let negative = ((xb ^ yb) >> 31u) == 1u;
  let xs = significand_of(xb);
  let ys = significand_of(yb);
  let x_inf = is_inf(x);
  let y_inf = is_inf(y);
  if (is_nan(x) || is_nan(y) || (x_inf && y_inf) || (xs == 0u && ys == 0u && !x_inf && !y_inf)) { return nan_f32(); }
  if (x_inf || ys == 0u) { return signed_inf(negative); }
  if (y_inf || xs == 0u) { return signed_zero(negative); }
  var r = xs;
  var exponent = i32((xb >> 23u) & 0xffu) - i32((yb >> 23u) & 0xffu);
  if (r < ys) {
    r = r * 2u;
    exponent = exponent - 1;
  }
  // The adapter's own division is kept when exact integer arithmetic shows it is the correctly
  // rounded quotient — always, for a normal result, on an adapter that rounds division correctly
  // (lavapipe does): zs = round(r·2^23 / ys) exactly when |r·2^24 − 2·zs·ys| < ys (a quotient is
  // never halfway). That remainder needs 50 bits, but once z is within a few ulps it is below 2^31
  // in magnitude, so wrapping u32 arithmetic gives it exactly; the float check first (products
  // rounded to within 2^25 of the true ones) makes sure. Any other case — a subnormal, infinite
  // or carried result, or an adapter whose division is off — takes det_quotient: same bits either
  // way. The check costs a few integer operations; det_quotient about as much as the rest of the
  // kernel together.
  let z = x / y;
  let zb = bitcast<u32>(z);
  let zs = (zb & 0x7fffffu) | 0x800000u;
  let expected = select(0u, 0x80000000u, negative) | (u32(exponent + 127) << 23u);
  if (exponent > -127 && exponent < 128 && (zb & 0xff800000u) == expected
      && abs(f32(bitcast<i32>(r)) * 16777216.0 - 2.0 * f32(bitcast<i32>(zs)) * f32(bitcast<i32>(ys))) < 1073741824.0
      && abs(bitcast<i32>((r << 24u) - 2u * zs * ys)) < bitcast<i32>(ys)) {
    // Through o(), like every rounded result here: no consumer may fuse or regroup it.
    return o(z);
  }
  let q = det_quotient(r, ys);
  return round_pack(negative, q.x, q.y != 0u, exponent);
}
// The 25 quotient bits of significands r / ys with r in [ys, 2·ys): q = ⌊r·2^24 / ys⌋ in
// [2^24, 2^25), and (as y) whether r·2^24 − q·ys is non-zero. Restoring long division takes 25
// dependent steps (division was the costliest deterministic op on lavapipe, about twice the fast
// one); instead a float division estimates q (WGSL allows it 2.5 ulps, so q is off by at most 5;
// a correctly rounded one, as on lavapipe, is never below) and exact integer arithmetic corrects
// it. The remainder r·2^24 − q·ys needs 50 bits, but once q is close it is below 2^31 in
// magnitude, so its low 32 bits — wrapping u32 arithmetic — are all of it; the float check first
// (each product rounded to within 2^25 of the true one) makes sure of that. The result does not
// depend on the estimate, only the speed does: long division stays as the fallback for an adapter
// whose division is worse than WGSL allows.
fn det_quotient(r: u32, ys: u32) -> vec2<u32> {
  let estimate = f32(r) / f32(ys) * 16777216.0;
  var q = u32(clamp(estimate, 16777216.0, 33554431.0));
  if (abs(f32(q) * f32(ys) - f32(r) * 16777216.0) < 1073741824.0) {
    let y = i32(ys);
    var rem = bitcast<i32>((r << 24u) - q * ys);
    for (var i = 0; i < 6 && rem < 0; i = i + 1) {
      rem = rem + y;
      q = q - 1u;
    }
    for (var i = 0; i < 6 && rem >= y; i = i + 1) {
      rem = rem - y;
      q = q + 1u;
    }
    if (rem >= 0 && rem < y) { return vec2<u32>(q, select(0u, 1u, rem != 0)); }
  }
  var remainder = r;
  var long_q = 0u;
  for (var i = 0u; i < 25u; i = i + 1u) {
    long_q = long_q * 2u;
    if (remainder >= ys) {
      remainder = remainder - ys;
      long_q = long_q + 1u;
    }
    remainder = remainder * 2u;
  }
  return vec2<u32>(long_q, select(0u, 1u, remainder != 0u));
}`,
  },
  sqrt: {
    needs: ["core", "div"],
    code: `
// detSqrt: digit-by-digit root of the significand times 2^26, two radicand bits per step.
fn det_sqrt(x: f32) -> f32 {
  if (is_nan(x)) { return nan_f32(); }
  let bits = bitcast<u32>(x);
  let negative = (bits >> 31u) == 1u;
  // Zeros and subnormals (which count as zeros of their sign): √±0 = ±0.
  if (significand_of(bits) == 0u) { return signed_zero(negative); }
  if (negative) { return nan_f32(); }
  if (bits == 0x7f800000u) { return x; }
  var m = significand_of(bits);
  var e = i32((bits >> 23u) & 0xffu) - 127 - 23;
  if ((e & 1) != 0) {
    m = m * 2u;
    e = e - 1;
  }
  var remainder = 0u;
  var root = 0u;
  for (var pair = 25; pair >= 0; pair = pair - 1) {
    let shift = 2 * pair - 26;
    var bits_in = 0u;
    if (shift >= 0) { bits_in = (m >> u32(shift)) & 3u; }
    remainder = remainder * 4u + bits_in;
    let trial = root * 4u + 1u;
    root = root * 2u;
    if (remainder >= trial) {
      remainder = remainder - trial;
      root = root + 1u;
    }
  }
  var sticky = remainder != 0u;
  var exponent = e / 2 - 13 + 24;
  if (root >= 0x2000000u) {
    sticky = sticky || (root & 1u) == 1u;
    root = root >> 1u;
    exponent = exponent + 1;
  }
  return round_pack(false, root, sticky, exponent);
}
// detRsqrt: a correctly rounded square root, then a correctly rounded division (PyTorch's rsqrt).
fn det_rsqrt(x: f32) -> f32 { return det_div(kf(K_ONE), det_sqrt(x)); }`,
  },
  exp: {
    needs: ["core"],
    code: `
// detExp: 2^n · e^r, n = floor(x·log2 e + 1/2), r by Cody–Waite, e^r by the Cephes polynomial.
fn det_exp(x: f32) -> f32 {
  if (is_nan(x)) { return nan_f32(); }
  if (x > kf(K_EXP_MAX)) { return signed_inf(false); }
  if (x < kf(K_EXP_MIN)) { return signed_zero(false); }
  let n = floor(f_add(f_mul(x, kf(K_LOG2E)), kf(K_HALF)));
  var r = f_sub(x, f_mul(n, kf(K_EXP_C1)));
  r = f_sub(r, f_mul(n, kf(K_EXP_C2)));
  var p = kf(K_EXP_P);
  for (var i = 1u; i < 6u; i = i + 1u) { p = f_add(f_mul(p, r), kf(K_EXP_P + i)); }
  let z = f_mul(r, r);
  let y = f_add(f_add(f_mul(p, z), r), kf(K_ONE));
  let whole = i32(n);
  var result: f32;
  if (whole > 127) {
    result = f_mul(f_mul(y, kf(K_TWO)), bitcast<f32>(254u << 23u));
  } else {
    result = f_mul(y, bitcast<f32>(u32(whole + 127) << 23u));
  }
  // flush(): subnormal results become +0.
  return select(result, signed_zero(false), (bitcast<u32>(result) & 0x7fffffffu) < 0x00800000u);
}`,
  },
  log: {
    needs: ["core"],
    code: `
// detLog: x = m·2^e with m in [√½, √2); log(1 + t) by the Cephes polynomial, e·ln 2 split in two.
fn det_log(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  if (is_nan(x) || below_zero(x)) { return nan_f32(); }
  if ((bits & 0x7fffffffu) < 0x00800000u) { return signed_inf(true); }
  if (bits == 0x7f800000u) { return x; }
  var e = i32((bits >> 23u) & 0xffu) - 126;
  let m = bitcast<f32>((bits & 0x807fffffu) | 0x3f000000u);
  var t: f32;
  if (m < kf(K_SQRTHF)) {
    e = e - 1;
    t = f_sub(f_add(m, m), kf(K_ONE));
  } else {
    t = f_sub(m, kf(K_ONE));
  }
  let z = f_mul(t, t);
  var p = kf(K_LOG_P);
  for (var i = 1u; i < 9u; i = i + 1u) { p = f_add(f_mul(p, t), kf(K_LOG_P + i)); }
  var y = f_mul(f_mul(p, t), z);
  let fe = f32(e);
  y = f_add(y, f_mul(fe, kf(K_LOG_Q1)));
  y = f_sub(y, f_mul(z, kf(K_HALF)));
  let r = f_add(t, y);
  return f_add(r, f_mul(fe, kf(K_LOG_Q2)));
}`,
  },
  tanh: {
    needs: ["core", "div", "exp"],
    code: `
// detTanh: an odd polynomial below 0.625, 1 − 2/(e^(2|x|) + 1) up to 9, then ±1.
fn det_tanh(x: f32) -> f32 {
  if (is_nan(x)) { return nan_f32(); }
  let a = abs(x);
  var y: f32;
  if (a > 9.0) {
    y = kf(K_ONE);
  } else if (a >= 0.625) {
    let e = det_exp(f_add(a, a));
    let r = det_div(kf(K_ONE), f_add(e, kf(K_ONE)));
    y = f_sub(kf(K_ONE), f_add(r, r));
  } else {
    let z = f_mul(a, a);
    var p = kf(K_TANH_P);
    for (var i = 1u; i < 5u; i = i + 1u) { p = f_add(f_mul(p, z), kf(K_TANH_P + i)); }
    y = f_add(f_mul(f_mul(p, z), a), a);
  }
  return flip(y, below_zero(x));
}`,
  },
  sigmoid: {
    needs: ["core", "div", "exp"],
    code: `
fn det_sigmoid(x: f32) -> f32 {
  if (is_nan(x)) { return nan_f32(); }
  return det_div(kf(K_ONE), f_add(kf(K_ONE), det_exp(-x)));
}`,
  },
  erf: {
    needs: ["core", "div", "exp"],
    code: `
// detErf: x·P(x²) below 1, 1 − e^(−x²)·G(1/x)/x below 4, then ±1.
fn det_erf(x: f32) -> f32 {
  if (is_nan(x)) { return nan_f32(); }
  let a = abs(x);
  var y: f32;
  if (a < 1.0) {
    let z = f_mul(a, a);
    var p = kf(K_ERF_SMALL);
    for (var i = 1u; i < 6u; i = i + 1u) { p = f_add(f_mul(p, z), kf(K_ERF_SMALL + i)); }
    y = f_mul(p, a);
  } else if (a < 4.0) {
    let q = det_div(kf(K_ONE), a);
    var g = kf(K_ERFC_G);
    for (var i = 1u; i < 9u; i = i + 1u) { g = f_add(f_mul(g, q), kf(K_ERFC_G + i)); }
    let e = det_exp(-f_mul(a, a));
    y = f_sub(kf(K_ONE), f_mul(f_mul(e, g), q));
  } else {
    y = kf(K_ONE);
  }
  return flip(y, below_zero(x));
}`,
  },
  gelu: {
    needs: ["core", "erf"],
    code: `
fn det_gelu(x: f32) -> f32 {
  let e = det_erf(f_mul(x, kf(K_SQRT1_2)));
  return f_mul(f_mul(x, kf(K_HALF)), f_add(kf(K_ONE), e));
}`,
  },
  geluTanh: {
    needs: ["core", "tanh"],
    code: `
fn det_gelu_tanh(x: f32) -> f32 {
  let cube = f_mul(f_mul(x, x), x);
  let inner = f_mul(f_add(x, f_mul(cube, kf(K_GELU_KAPPA))), kf(K_GELU_BETA));
  return f_mul(f_mul(x, kf(K_HALF)), f_add(kf(K_ONE), det_tanh(inner)));
}`,
  },
  pow: {
    needs: ["core", "div", "sqrt", "exp", "log"],
    code: `
// integerPower: a^n by squaring (|n| <= 64), a reciprocal for negative n.
fn det_integer_power(a: f32, n: i32) -> f32 {
  var result = kf(K_ONE);
  var base = a;
  var e = abs(n);
  loop {
    if (e <= 0) { break; }
    if ((e & 1) == 1) { result = f_mul(result, base); }
    base = f_mul(base, base);
    e = e / 2;
  }
  if (n < 0) { return det_div(kf(K_ONE), result); }
  return result;
}
// An odd integer-valued float (all floats of 2^24 and above are even).
fn det_is_odd(n: f32) -> bool {
  let a = abs(n);
  return a < 16777216.0 && (u32(a) & 1u) == 1u;
}
// detPow: C's special cases, then a^n · a^r with n = trunc(b) and r = b − n exact.
fn det_pow(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  if ((bb & 0x7fffffffu) == 0u || ab == 0x3f800000u) { return kf(K_ONE); }
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  if (is_inf(b)) {
    let magnitude = abs(a);
    if (magnitude == kf(K_ONE)) { return kf(K_ONE); }
    if ((magnitude > kf(K_ONE)) == !below_zero(b)) { return signed_inf(false); }
    return signed_zero(false);
  }
  let n = trunc(b);
  let r = f_sub(b, n);
  let r_zero = (bitcast<u32>(r) & 0x7fffffffu) == 0u;
  if (below_zero(a) && !r_zero) { return nan_f32(); }
  if (abs(n) > 64.0) {
    let magnitude = det_exp(f_mul(b, det_log(abs(a))));
    return flip(magnitude, below_zero(a) && det_is_odd(n));
  }
  let whole = det_integer_power(a, i32(n));
  if (r_zero) { return whole; }
  var fraction: f32;
  if (r == kf(K_HALF)) {
    fraction = det_sqrt(a);
  } else if (r == -kf(K_HALF)) {
    fraction = det_rsqrt(a);
  } else {
    fraction = det_exp(f_mul(r, det_log(a)));
  }
  return f_mul(whole, fraction);
}`,
  },
};

/** WGSL of `names` and everything they call, each chunk once, callees first. */
export function library(names: readonly string[]): string {
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    const chunk = CHUNKS[name]!;
    for (const dep of chunk.needs) visit(dep);
    out.push(chunk.code);
  };
  for (const name of names) visit(name);
  return out.join("\n");
}

/** The WGSL expression of each deterministic unary op on `a`, and the chunk it needs. */
const UNARY: Partial<Record<UnaryOp, [expression: string, chunk: string]>> = {
  exp: ["det_exp(a)", "exp"],
  log: ["det_log(a)", "log"],
  sqrt: ["det_sqrt(a)", "sqrt"],
  rsqrt: ["det_rsqrt(a)", "sqrt"],
  sigmoid: ["det_sigmoid(a)", "sigmoid"],
  tanh: ["det_tanh(a)", "tanh"],
  erf: ["det_erf(a)", "erf"],
  gelu: ["det_gelu(a)", "gelu"],
  geluTanh: ["det_gelu_tanh(a)", "geluTanh"],
};

const BINARY: Partial<Record<BinaryOp, [expression: string, chunk: string]>> = {
  div: ["det_div(a, b)", "div"],
  pow: ["det_pow(a, b)", "pow"],
};

/** The unary ops whose float32 results come from this library with the flag on (the CPU's list). */
export const DETERMINISTIC_UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
export const DETERMINISTIC_BINARY_OPS = Object.keys(BINARY) as BinaryOp[];

/** Float32 WGSL expression and helper source of a deterministic op; undefined when it has none. */
export function deterministicExpression(op: UnaryOp | BinaryOp): { expression: string; helpers: string } | undefined {
  const entry = UNARY[op as UnaryOp] ?? BINARY[op as BinaryOp];
  if (entry === undefined) return undefined;
  return { expression: entry[0], helpers: library([entry[1]]) };
}
