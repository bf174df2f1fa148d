// Elementwise kernels in WGSL: unary, binary, where, cast and copy. One thread per output
// element; every operand (the output too, for copy into a strided view) is read through its own
// shape/strides/offset, so broadcast (stride 0) and permuted inputs need no copy. Results follow
// the CPU backend's semantics (packages/backend-cpu/src/elementwise.ts): int32 arithmetic wraps,
// NaN propagates through maximum/minimum, comparisons with NaN are false, float → int casts
// truncate and wrap like JavaScript's ToInt32.
//
// Transcendentals use WGSL builtins guarded for NaN/±inf, plus own series for tanh and erf near 0
// where builtins lose relative accuracy. They are per-element, hence deterministic and batch
// invariant, but not bitwise equal to the CPU's double-precision Math.* (a later change replaces
// both with one shared + − × implementation).
import type { BinaryOp, KernelFn, UnaryOp } from "@lockstep/core";
import type { WebGPUStorage, WebGPUView } from "./backend.js";
import { contextOf } from "./backend.js";
import {
  FLOAT_HELPERS,
  bindings,
  collapseDims,
  linearMain,
  offsetCode,
  runShader,
  wgslType,
  workgroupsFor,
} from "./program.js";

/** WGSL functions the float ops below call. */
const MATH_HELPERS = `
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
fn max_f32(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  if (a > b) { return a; }
  if (b > a) { return b; }
  return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b));
}
fn min_f32(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  if (a < b) { return a; }
  if (b < a) { return b; }
  return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b));
}
fn pow_i32(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(-1, 1, (b & 1) == 0); }
    return 0;
  }
  var result = 1;
  var base = a;
  var e = b;
  loop {
    if (e == 0) { break; }
    if ((e & 1) == 1) { result = result * base; }
    base = base * base;
    e = e >> 1u;
  }
  return result;
}
// JavaScript's ToInt32 of a float: truncate toward zero, wrap modulo 2^32; NaN and ±inf give 0.
fn f32_to_i32(x: f32) -> i32 {
  let bits = bitcast<u32>(x);
  let exponent = i32((bits >> 23u) & 0xffu) - 127;
  if (exponent < 0 || exponent == 128) { return 0; }
  let mantissa = (bits & 0x7fffffu) | 0x800000u;
  var magnitude: u32;
  if (exponent >= 55) {
    magnitude = 0u;
  } else if (exponent >= 23) {
    magnitude = mantissa << u32(exponent - 23);
  } else {
    magnitude = mantissa >> u32(23 - exponent);
  }
  return bitcast<i32>(select(magnitude, 0u - magnitude, (bits >> 31u) == 1u));
}
`;

type Kind = "f32" | "i32" | "u32";

/** WGSL expression of `a` for a unary op on `kind`; undefined when core never asks for it. */
function unaryExpression(op: UnaryOp, kind: Kind): string | undefined {
  if (kind === "u32") {
    if (op === "logicalNot") return "u32(a == 0u)";
    // Other ops on bools: compute in float, store truthiness (like the CPU kernel).
    const asFloat = unaryExpression(op, "f32");
    return asFloat === undefined ? undefined : `u32(truthy_f32(unary_f32(f32(a))))`;
  }
  if (kind === "i32") {
    const ops: Partial<Record<UnaryOp, string>> = {
      neg: "0 - a",
      abs: "abs(a)",
      sign: "sign(a)",
      relu: "select(a, 0, a < 0)",
      logicalNot: "u32(a == 0)",
    };
    return ops[op];
  }
  const ops: Record<UnaryOp, string> = {
    neg: "bitcast<f32>(bitcast<u32>(a) ^ 0x80000000u)",
    abs: "bitcast<f32>(bitcast<u32>(a) & 0x7fffffffu)",
    // (0 < x) − (x < 0): +0 for ±0 and NaN. Tested on the bits, so that no compiler rewrites it
    // into a sign or max instruction with other ±0/NaN rules.
    sign: "select(0.0, select(1.0, -1.0, sign_bit(a)), truthy_f32(a) && !is_nan(a))",
    // x < 0 ? 0 : x — NaN and −0 pass through (−inf..−subnormal are the bits 0x80000001…0xff800000).
    relu: "select(a, 0.0, bitcast<u32>(a) > 0x80000000u && bitcast<u32>(a) <= 0xff800000u)",
    exp: "exp_f32(a)",
    log: "log_f32(a)",
    sqrt: "sqrt_f32(a)",
    rsqrt: "1.0 / sqrt_f32(a)",
    sigmoid: "sigmoid_f32(a)",
    tanh: "tanh_f32(a)",
    erf: "erf_f32(a)",
    gelu: "gelu_f32(a)",
    geluTanh: "gelu_tanh_f32(a)",
    logicalNot: "u32(!truthy_f32(a))",
  };
  return ops[op];
}

function binaryExpression(op: BinaryOp, kind: Kind): string | undefined {
  const ordered = kind === "f32" ? "!(is_nan(a) || is_nan(b)) && " : "";
  const truthy = (x: string) => (kind === "f32" ? `truthy_f32(${x})` : kind === "i32" ? `${x} != 0` : `${x} != 0u`);
  const common: Partial<Record<BinaryOp, string>> = {
    eq: `u32(${ordered}a == b)`,
    ne: `u32(!(${ordered}a == b))`,
    lt: `u32(${ordered}a < b)`,
    le: `u32(${ordered}a <= b)`,
    gt: `u32(${ordered}a > b)`,
    ge: `u32(${ordered}a >= b)`,
    logicalAnd: `u32(${truthy("a")} && ${truthy("b")})`,
    logicalOr: `u32(${truthy("a")} || ${truthy("b")})`,
  };
  const arithmetic: Record<Kind, Partial<Record<BinaryOp, string>>> = {
    f32: {
      add: "a + b",
      sub: "a - b",
      mul: "a * b",
      div: "a / b",
      pow: "pow_f32(a, b)",
      maximum: "max_f32(a, b)",
      minimum: "min_f32(a, b)",
    },
    i32: { add: "a + b", sub: "a - b", mul: "a * b", pow: "pow_i32(a, b)", maximum: "max(a, b)", minimum: "min(a, b)" },
    u32: { maximum: "max(a, b)", minimum: "min(a, b)" },
  };
  return common[op] ?? arithmetic[kind][op];
}

/** WGSL converting `a` of one element type to another, with the CPU backend's semantics. */
function castExpression(from: Kind, to: Kind): string {
  if (from === to) return "a";
  if (to === "u32") return from === "f32" ? "u32(truthy_f32(a))" : "u32(a != 0)";
  if (to === "i32") return from === "f32" ? "f32_to_i32(a)" : "i32(a)";
  return "f32(a)";
}

function unsupported(what: string): never {
  throw new Error(`internal error: the webgpu backend has no kernel for ${what}`);
}

interface MapSpec {
  /** Part of the pipeline key: identifies `expression` and the element types. */
  key: string;
  /** WGSL of the result, in terms of the inputs `a`, `b`, `c`. */
  expression: string;
  /** Extra WGSL functions the expression calls. */
  helpers?: string;
}

const INPUT_NAMES = ["a", "b", "c"];

/**
 * One dispatch computing `output[i] = expression(inputs[i])` for every element, all operands
 * strided. Dims that every operand walks contiguously are merged first, so the index arithmetic
 * is rank 1 for contiguous and simply broadcast tensors.
 */
export function mapElements(output: WebGPUView, inputs: readonly WebGPUView[], spec: MapSpec): void {
  const count = output.shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const ctx = contextOf(output.storage);
  for (const input of inputs) contextOf(input.storage);
  const operands = [output, ...inputs];
  const { shape, strides } = collapseDims(output.shape, operands.map((v) => v.strides));
  const rank = shape.length;
  const info = new Uint32Array(1 + rank + operands.length * (rank + 1));
  info[0] = count;
  info.set(shape, 1);
  const bases = operands.map((_, j) => 1 + rank + j * (rank + 1));
  operands.forEach((v, j) => {
    info[bases[j]!] = v.offset;
    info.set(strides[j]!, bases[j]! + 1);
  });
  const types = operands.map((v) => wgslType(v.dtype));
  const names = operands.map((_, j) => `p${j}`);
  const parameters = inputs.map((_, i) => `${INPUT_NAMES[i]}: ${types[i + 1]}`).join(", ");
  const argumentsList = inputs.map((_, i) => `in${i}[p${i + 1}]`).join(", ");
  runShader(ctx, {
    key: `map:${spec.key}:${types.join(",")}:r${rank}`,
    source: () => `${bindings([["out", types[0]!]], inputs.map((_, i) => [`in${i}`, types[i + 1]!]))}
${FLOAT_HELPERS}
${spec.helpers ?? ""}
fn compute(${parameters}) -> ${types[0]} {
  return ${spec.expression};
}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
${names.map((n, j) => `  var ${n} = info[${bases[j]}u];`).join("\n")}
${offsetCode(rank, 1, bases.map((b) => b + 1), names)}
  out[p0] = compute(${argumentsList});
}`,
    outputs: [output.storage.buffer],
    inputs: inputs.map((v) => v.storage.buffer),
    info,
    workgroups: workgroupsFor(count),
  });
}

export function unaryKernel(op: UnaryOp): KernelFn<UnaryOp, WebGPUStorage> {
  return ([x], [out]) => {
    const kind = wgslType(x!.dtype);
    const expression = unaryExpression(op, kind) ?? unsupported(`${op} on ${x!.dtype}`);
    // Bool inputs of float ops evaluate the float expression through a helper.
    const floatHelper = kind === "u32" && op !== "logicalNot" ? `fn unary_f32(a: f32) -> f32 { return ${unaryExpression(op, "f32")}; }` : "";
    mapElements(out!, [x!], { key: `unary:${op}`, expression, helpers: MATH_HELPERS + floatHelper });
  };
}

export function binaryKernel(op: BinaryOp): KernelFn<BinaryOp, WebGPUStorage> {
  return ([a, b], [out]) => {
    const kind = wgslType(a!.dtype);
    const expression = binaryExpression(op, kind) ?? unsupported(`${op} on ${a!.dtype}`);
    mapElements(out!, [a!, b!], { key: `binary:${op}`, expression, helpers: MATH_HELPERS });
  };
}

export const whereKernel: KernelFn<"where", WebGPUStorage> = ([condition, a, b], [out]) => {
  mapElements(out!, [condition!, a!, b!], { key: "where", expression: "select(c, b, a != 0u)" });
};

export const castKernel: KernelFn<"cast", WebGPUStorage> = ([x], [out]) => {
  const from = wgslType(x!.dtype);
  const to = wgslType(out!.dtype);
  mapElements(out!, [x!], { key: "cast", expression: castExpression(from, to), helpers: MATH_HELPERS });
};

/** Copies between any two layouts of one shape; the output may be a strided view of a live tensor. */
export const copyKernel: KernelFn<"copy", WebGPUStorage> = ([x], [out]) => {
  mapElements(out!, [x!], { key: "copy", expression: "a" });
};
