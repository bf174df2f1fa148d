// Elementwise kernels in WGSL: unary, binary, where, cast and copy. One thread per output
// element; every operand (the output too, for copy into a strided view) is read through its own
// shape/strides/offset, so broadcast (stride 0) and permuted inputs need no copy. Results follow
// the CPU backend's semantics (packages/backend-cpu/src/elementwise.ts): int32 arithmetic wraps,
// NaN propagates through maximum/minimum, comparisons with NaN are false, float → int casts
// truncate and wrap like JavaScript's ToInt32.
//
// The float32 ops whose result is not a single correctly rounded operation (exp, log, sqrt,
// rsqrt, sigmoid, tanh, erf, gelu, geluTanh, div, pow) come in two kernels, like on the CPU: the
// deterministic one evaluates detmath.ts (the CPU's library, step for step: same bits), the fast
// one the builtin-based fastmath.ts. Everything else is exact arithmetic and serves both modes.
import type { BinaryOp, KernelFn, UnaryOp } from "@lockstep/core";
import type { WebGPUStorage, WebGPUView } from "./backend.js";
import { contextOf } from "./backend.js";
import {
  FLOAT_HELPERS,
  bindings,
  collapseDims,
  ITEMS_PER_THREAD,
  itemsMain,
  offsetCode,
  runShader,
  wgslType,
  workgroupsFor,
} from "./program.js";
import { CONSTANTS_BINDING, PRELUDE, constantsBuffer, deterministicExpression } from "./detmath.js";
import { FAST_MATH } from "./fastmath.js";

/** WGSL helpers of the exact ops (both modes). */
export const EXACT_HELPERS = `
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
function unaryExpression(op: UnaryOp, kind: Kind, deterministic: boolean): string | undefined {
  if (kind === "u32") {
    if (op === "logicalNot") return "u32(a == 0u)";
    // Other ops on bools: compute in float, store truthiness (like the CPU kernel).
    const asFloat = unaryExpression(op, "f32", deterministic);
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
  return (deterministic ? deterministicExpression(op)?.expression : undefined) ?? ops[op];
}

function binaryExpression(op: BinaryOp, kind: Kind, deterministic: boolean): string | undefined {
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
    // where(gt(output, 0), grad, 0) in one kernel: gt's NaN guard, and where's +0.
    reluBackward: kind === "f32" ? "select(0.0, a, !is_nan(b) && b > 0.0)" : kind === "i32" ? "select(0, a, b > 0)" : undefined,
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
  const twin = kind === "f32" && deterministic ? deterministicExpression(op)?.expression : undefined;
  return common[op] ?? twin ?? arithmetic[kind][op];
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
  /** Binds detmath's constants buffer (after the inputs) and loads its opaque zero first. */
  deterministicMath?: boolean;
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
  const det = spec.deterministicMath === true;
  runShader(ctx, {
    key: `map:${spec.key}:${types.join(",")}:r${rank}`,
    source: () => mapSource(spec, types, bases, rank),
    outputs: [output.storage.buffer],
    inputs: [...inputs.map((v) => v.storage.buffer), ...(det ? [constantsBuffer(ctx)] : [])],
    info,
    workgroups: workgroupsFor(count, ITEMS_PER_THREAD),
  });
}

/** WGSL of a `mapElements` kernel: `types` of the output then the inputs, metadata at `bases`. */
function mapSource(spec: MapSpec, types: readonly string[], bases: readonly number[], rank: number): string {
  const inputs = types.length - 1;
  const names = types.map((_, j) => `p${j}`);
  const parameters = INPUT_NAMES.slice(0, inputs).map((name, i) => `${name}: ${types[i + 1]}`).join(", ");
  const argumentsList = names.slice(1).map((p, i) => `in${i}[${p}]`).join(", ");
  const det = spec.deterministicMath === true;
  const inputBindings = types.slice(1).map((type, i): [string, string] => [`in${i}`, type]);
  if (det) inputBindings.push([CONSTANTS_BINDING, "u32"]);
  return `${bindings([["out", types[0]!]], inputBindings)}
${FLOAT_HELPERS}
${spec.helpers ?? ""}
fn compute(${parameters}) -> ${types[0]} {
  return ${spec.expression};
}
${itemsMain(`  if (index >= info[0]) { return; }
${det ? PRELUDE : ""}
  var rem = index;
${names.map((n, j) => `  var ${n} = info[${bases[j]}u];`).join("\n")}
${offsetCode(rank, 1, bases.map((b) => b + 1), names)}
  out[p0] = compute(${argumentsList});`)}`;
}

/** The ops whose fast expressions call fastmath.ts (other kernels compile without it). */
const FAST_MATH_OPS = new Set<string>(["exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "erf", "gelu", "geluTanh", "pow"]);

/**
 * The kernel of a unary op. `deterministic`: float32 (and bool, through float32) use detmath's
 * twin of the CPU library where the op has one; otherwise the fast builtin-based math.
 */
export function unaryKernel(op: UnaryOp, deterministic: boolean): KernelFn<UnaryOp, WebGPUStorage> {
  const twin = deterministic ? deterministicExpression(op) : undefined;
  const mode = twin === undefined ? "" : ":det";
  // The spec depends only on the input's element type: built once per type, not per call.
  const specs = new Map<Kind, MapSpec>();
  const specFor = (kind: Kind, dtype: string): MapSpec => {
    const expression = unaryExpression(op, kind, deterministic) ?? unsupported(`${op} on ${dtype}`);
    // Bool inputs of float ops evaluate the float expression through a helper.
    const floatHelper =
      kind === "u32" && op !== "logicalNot" ? `fn unary_f32(a: f32) -> f32 { return ${unaryExpression(op, "f32", deterministic)}; }` : "";
    const math = twin !== undefined && kind !== "i32" ? twin.helpers : FAST_MATH_OPS.has(op) ? FAST_MATH : "";
    return {
      key: `unary:${op}${mode}`,
      expression,
      helpers: EXACT_HELPERS + math + floatHelper,
      deterministicMath: twin !== undefined && kind !== "i32",
    };
  };
  return ([x], [out]) => {
    const kind = wgslType(x!.dtype);
    let spec = specs.get(kind);
    if (spec === undefined) specs.set(kind, (spec = specFor(kind, x!.dtype)));
    mapElements(out!, [x!], spec);
  };
}

/** The kernel of a binary op; `deterministic` as for `unaryKernel` (div and pow have twins). */
export function binaryKernel(op: BinaryOp, deterministic: boolean): KernelFn<BinaryOp, WebGPUStorage> {
  const twin = deterministic ? deterministicExpression(op) : undefined;
  const specs = new Map<Kind, MapSpec>();
  const specFor = (kind: Kind, dtype: string): MapSpec => {
    const expression = binaryExpression(op, kind, deterministic) ?? unsupported(`${op} on ${dtype}`);
    const useTwin = twin !== undefined && kind === "f32";
    return {
      key: `binary:${op}${useTwin ? ":det" : ""}`,
      expression,
      helpers: EXACT_HELPERS + (useTwin ? twin.helpers : FAST_MATH_OPS.has(op) ? FAST_MATH : ""),
      deterministicMath: useTwin,
    };
  };
  return ([a, b], [out]) => {
    const kind = wgslType(a!.dtype);
    let spec = specs.get(kind);
    if (spec === undefined) specs.set(kind, (spec = specFor(kind, a!.dtype)));
    mapElements(out!, [a!, b!], spec);
  };
}

export const whereKernel: KernelFn<"where", WebGPUStorage> = ([condition, a, b], [out]) => {
  mapElements(out!, [condition!, a!, b!], { key: "where", expression: "select(c, b, a != 0u)" });
};

export const castKernel: KernelFn<"cast", WebGPUStorage> = ([x], [out]) => {
  const from = wgslType(x!.dtype);
  const to = wgslType(out!.dtype);
  mapElements(out!, [x!], { key: "cast", expression: castExpression(from, to), helpers: EXACT_HELPERS });
};

/** Copies between any two layouts of one shape; the output may be a strided view of a live tensor. */
export const copyKernel: KernelFn<"copy", WebGPUStorage> = ([x], [out]) => {
  mapElements(out!, [x!], { key: "copy", expression: "a" });
};
