// The fast float32 math of the flag-off webgpu kernels: WGSL builtins guarded for NaN and ±inf,
// and short own series where builtins lose relative accuracy (tanh and erf near 0). They are per
// element, hence run-to-run reproducible and batch invariant on one adapter, but the builtins'
// precision is implementation-defined (WGSL allows several ulps), so their bits differ from the
// CPU's and between adapters. With useDeterministicAlgorithms(true) the kernels use detmath.ts
// instead.
//
// Fast does not mean sloppy: results stay within about 1e-6 of the CPU's double-precision
// Math.* (elementwise.test.ts checks that).

/** WGSL of the fast transcendentals: exp_f32, log_f32, sqrt_f32, sigmoid_f32, tanh_f32, erf_f32, gelu_f32, gelu_tanh_f32, pow_f32. */
export const FAST_MATH = `
// e^x = 2^n · e^r, n = round(x·log2 e), |r| <= ln2/2, the ln 2 subtraction split in two
// (Cody–Waite) and e^r by the Cephes expf polynomial: the steps of detExp in the CPU backend.
// Outside [-87.34, 88.72] the result is 0 or +inf (subnormal results flush to 0).
fn exp_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72283935546875) { return inf_f32(); }
  if (x < -87.33654022216797) { return 0.0; }
  let n = floor(x * 1.44269502 + 0.5);
  var r = x - n * 0.693359375;
  r = r - n * -2.12194440e-4;
  var p = 1.9875691500e-4;
  p = p * r + 1.3981999507e-3;
  p = p * r + 8.3334519073e-3;
  p = p * r + 4.1665795894e-2;
  p = p * r + 1.6666665459e-1;
  p = p * r + 5.0000001201e-1;
  let z = r * r;
  let y = p * z + r + 1.0;
  let result = ldexp(y, i32(n));
  return select(result, 0.0, abs(result) < 1.17549435e-38);
}
fn log_f32(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_f32(); }
  if (x == 0.0) { return -inf_f32(); }
  if (is_inf(x)) { return x; }
  return log(x);
}
fn sqrt_f32(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_f32(); }
  if (x == 0.0 || is_inf(x)) { return x; }
  return sqrt(x);
}
fn sigmoid_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return 1.0 / (1.0 + exp_f32(-x));
}
// tanh: an odd Taylor series near 0 (where 1 - 2/(e^2x + 1) cancels), saturating at |x| > 10.
fn tanh_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  var r: f32;
  if (a < 0.3) {
    let s = x * x;
    r = a * (1.0 + s * (-0.33333333 + s * (0.13333333 + s * (-0.053968254 + s * (0.021869488
      + s * (-0.0088632355 + s * 0.0035921280))))));
  } else if (a > 10.0) {
    r = 1.0;
  } else {
    r = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  }
  return select(r, -r, sign_bit(x));
}
// erfc for z >= 0 (Numerical Recipes' erfcc: fractional error below 1.2e-7).
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp_f32(-z * z + p);
}
fn erfc_f32(x: f32) -> f32 {
  if (sign_bit(x)) { return 2.0 - erfc_pos(-x); }
  return erfc_pos(x);
}
fn erf_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a < 0.5) {
    let s = x * x;
    return x * 1.1283791670955126 * (1.0 + s * (-0.33333333 + s * (0.1 + s * (-0.023809524
      + s * (0.0046296296 + s * (-0.00075757576 + s * (0.00010683761 - s * 0.000013227513)))))));
  }
  if (a > 6.0) { return select(1.0, -1.0, sign_bit(x)); }
  let r = 1.0 - erfc_pos(a);
  return select(r, -r, sign_bit(x));
}
fn gelu_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return 0.5 * x * erfc_f32(-x * 0.70710678118654752);
}
// 0.5·x·(1 + tanh(u)) written as x / (1 + e^(−2u)), which does not cancel for negative x.
fn gelu_tanh_f32(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp_f32(-2.0 * u));
}
fn is_odd_integer(y: f32) -> bool {
  let a = abs(y);
  return a < 16777216.0 && floor(a) == a && (u32(a) & 1u) == 1u;
}
// x^n by squaring, for small integer n (a few roundings, fewer than exp2(n·log2 x) for these n).
fn powi_f32(x: f32, n: i32) -> f32 {
  var result = 1.0;
  var base = x;
  var e = abs(n);
  loop {
    if (e == 0) { break; }
    if ((e & 1) == 1) { result = result * base; }
    base = base * base;
    e = e >> 1u;
  }
  return select(result, 1.0 / result, n < 0);
}
// C's pow (as the CPU backend): 1^y = 1 and (−1)^±inf = 1 even for NaN or infinite y, then
// JavaScript's special cases, then |x|^y with the sign of an odd integer power.
fn pow_f32(x: f32, y: f32) -> f32 {
  if (x == 1.0 && !is_nan(x)) { return 1.0; }
  if (is_nan(y)) { return nan_f32(); }
  if (y == 0.0) { return 1.0; }
  if (is_nan(x)) { return nan_f32(); }
  let ax = abs(x);
  if (is_inf(y)) {
    if (ax == 1.0) { return 1.0; }
    if ((ax > 1.0) == (y > 0.0)) { return inf_f32(); }
    return 0.0;
  }
  let odd = is_odd_integer(y);
  if (is_inf(x) || x == 0.0) {
    var r = select(0.0, inf_f32(), is_inf(x) == (y > 0.0));
    return select(r, -r, sign_bit(x) && odd);
  }
  let integral = floor(y) == y;
  if (x < 0.0 && !integral) { return nan_f32(); }
  var r: f32;
  if (integral && abs(y) <= 8.0) {
    r = powi_f32(ax, i32(y));
  } else if (y == 0.5) {
    r = sqrt(ax);
  } else {
    r = exp2(y * log2(ax));
  }
  return select(r, -r, x < 0.0 && odd);
}
`;
