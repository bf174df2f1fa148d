// Elementwise kernels: unary, binary, where, cast and copy. Core hands over inputs already
// promoted to one dtype and broadcast to the output shape, so each kernel is one loop. Values are
// computed in double and rounded when stored, which for + − × ÷ √ gives the correctly rounded
// float32 result.
import type { BinaryOp, DataArray, DType, KernelFn, UnaryOp } from "@lockstep/core";
import { erf, gelu, geluTanh, sigmoid } from "./math.js";
import {
  detDiv,
  detErf,
  detExp,
  detGelu,
  detGeluTanh,
  detLog,
  detPow,
  detRsqrt,
  detSigmoid,
  detSqrt,
  detTanh,
} from "./detmath.js";
import { gatherElements, gatherInto, isBroadcastScalar, isDense, viewOffsets, type CpuStorage, type CpuView } from "./storage.js";
import { simdBinary, simdGatherRuns, simdTransposeCopy, simdUnary, simdWhere } from "./elementwise-simd.js";

type Unary = (x: number) => number;
type Binary = (a: number, b: number) => number;

const truthy = (x: number) => (x !== 0 ? 1 : 0);

/** The fast versions: V8's Math functions, computed in double and rounded when stored. */
export const UNARY: Record<UnaryOp, Unary> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  // (0 < x) − (x < 0): +0 for ±0 and NaN, as PyTorch's CPU kernel gives.
  sign: (x) => (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0),
  // clamp_min(x, 0): NaN and −0 pass through unchanged.
  relu: (x) => (x < 0 ? 0 : x),
  sigmoid,
  tanh: Math.tanh,
  erf,
  gelu,
  geluTanh,
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

/**
 * The ops whose float32 results differ between V8's Math and the shared deterministic library:
 * with the flag on, float32 uses `detmath` (the same steps as the WGSL kernels); float64, which
 * only the CPU has, keeps the double-precision functions.
 */
export const DETERMINISTIC_UNARY: Partial<Record<UnaryOp, Unary>> = {
  exp: detExp,
  log: detLog,
  sqrt: detSqrt,
  rsqrt: detRsqrt,
  sigmoid: detSigmoid,
  tanh: detTanh,
  erf: detErf,
  gelu: detGelu,
  geluTanh: detGeluTanh,
};

/** Integer powers must wrap like int32 arithmetic, not round through doubles. */
function intPow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let result = 1;
  let base = a | 0;
  for (let e = b; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
  }
  return result;
}

export const BINARY: Record<BinaryOp, Binary> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  // C's pow, not JavaScript's: 1^y and (−1)^±∞ are 1 even for NaN/∞ exponents.
  pow: (a, b) => (a === 1 || (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) ? 1 : Math.pow(a, b)),
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
  logicalOr: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
  // where(gt(output, 0), grad, 0): NaN outputs give +0 like the comparison.
  reluBackward: (grad, output) => (output > 0 ? grad : 0),
};

/** Integer-specific versions where double arithmetic would not wrap or truncate like int32. */
const INT_BINARY: Partial<Record<BinaryOp, Binary>> = {
  mul: (a, b) => Math.imul(a, b),
  pow: intPow,
};

function outputArray(out: CpuView) {
  return out.storage.data;
}

export const DETERMINISTIC_BINARY: Partial<Record<BinaryOp, Binary>> = {
  div: detDiv,
  pow: detPow,
};

type Loop = (src: DataArray, dst: DataArray) => void;

// One loop literal per op: V8 keeps type feedback per function literal, so a loop shared by every
// op calls its `f` through a megamorphic call site (no inlining, a call per element), while each
// of these sees one function, which it inlines. The functions are UNARY's and the detmath twins.
const FAST_LOOPS: Record<Exclude<UnaryOp, "logicalNot">, Loop> = {
  neg: (s, d) => { const f = UNARY.neg; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  exp: (s, d) => { const f = UNARY.exp; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  log: (s, d) => { const f = UNARY.log; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  sqrt: (s, d) => { const f = UNARY.sqrt; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  rsqrt: (s, d) => { const f = UNARY.rsqrt; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  abs: (s, d) => { const f = UNARY.abs; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  sign: (s, d) => { const f = UNARY.sign; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  relu: (s, d) => { const f = UNARY.relu; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  sigmoid: (s, d) => { const f = UNARY.sigmoid; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  tanh: (s, d) => { const f = UNARY.tanh; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  erf: (s, d) => { const f = UNARY.erf; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  gelu: (s, d) => { const f = UNARY.gelu; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
  geluTanh: (s, d) => { const f = UNARY.geluTanh; for (let i = 0; i < d.length; i++) d[i] = f(s[i]!); },
};

const DETERMINISTIC_LOOPS = new Map<Unary, Loop>([
  [detExp, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detExp(s[i]!); }],
  [detLog, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detLog(s[i]!); }],
  [detSqrt, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detSqrt(s[i]!); }],
  [detRsqrt, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detRsqrt(s[i]!); }],
  [detSigmoid, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detSigmoid(s[i]!); }],
  [detTanh, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detTanh(s[i]!); }],
  [detErf, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detErf(s[i]!); }],
  [detGelu, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detGelu(s[i]!); }],
  [detGeluTanh, (s, d) => { for (let i = 0; i < d.length; i++) d[i] = detGeluTanh(s[i]!); }],
]);

/** `float32` picks the deterministic twin when one is given; other dtypes use the double version. */
export function unaryKernel(op: UnaryOp, float32?: Unary): KernelFn<UnaryOp, CpuStorage> {
  const fastLoop = op === "logicalNot" ? undefined : FAST_LOOPS[op];
  const twinLoop = float32 === undefined ? undefined : DETERMINISTIC_LOOPS.get(float32);
  return ([x], [out]) => {
    if (simdUnary(op, x!, out!, float32)) return;
    const dtype = x!.dtype;
    const loop = dtype === "float32" && float32 !== undefined ? twinLoop : dtype === "bool" ? undefined : fastLoop;
    if (loop !== undefined) {
      loop(gatherElements(x!), outputArray(out!));
      return;
    }
    const f = x!.dtype === "float32" && float32 !== undefined ? float32 : UNARY[op];
    const src = gatherElements(x!);
    const dst = outputArray(out!);
    const g = x!.dtype === "bool" && op !== "logicalNot" ? (v: number) => truthy(f(v)) : f;
    for (let i = 0; i < dst.length; i++) dst[i] = g(src[i]!);
  };
}

/**
 * Loops for + − × ÷ without a function call per element. Values are the same as BINARY's: the
 * arithmetic is done in double and rounded when stored.
 */
function arithmeticLoop(op: BinaryOp, x: ArrayLike<number>, y: ArrayLike<number>, dst: { [i: number]: number; length: number }, scalarY: boolean): boolean {
  const n = dst.length;
  const c = y[0]!;
  switch (op) {
    case "add":
      if (scalarY) for (let i = 0; i < n; i++) dst[i] = x[i]! + c;
      else for (let i = 0; i < n; i++) dst[i] = x[i]! + y[i]!;
      return true;
    case "sub":
      if (scalarY) for (let i = 0; i < n; i++) dst[i] = x[i]! - c;
      else for (let i = 0; i < n; i++) dst[i] = x[i]! - y[i]!;
      return true;
    case "mul":
      if (scalarY) for (let i = 0; i < n; i++) dst[i] = x[i]! * c;
      else for (let i = 0; i < n; i++) dst[i] = x[i]! * y[i]!;
      return true;
    case "div":
      if (scalarY) for (let i = 0; i < n; i++) dst[i] = x[i]! / c;
      else for (let i = 0; i < n; i++) dst[i] = x[i]! / y[i]!;
      return true;
    default:
      return false;
  }
}

export function binaryKernel(op: BinaryOp, float32?: Binary): KernelFn<BinaryOp, CpuStorage> {
  return ([a, b], [out]) => {
    const special = a!.dtype === "int32" ? INT_BINARY[op] : a!.dtype === "float32" ? float32 : undefined;
    if (simdBinary(op, a!, b!, out!, special)) return;
    const dst = outputArray(out!);
    const x = gatherElements(a!);
    // A broadcast scalar operand (x + 2, p · lr) is read once instead of being spread out.
    const scalarY = isBroadcastScalar(b!);
    const y = scalarY ? [b!.storage.data[b!.offset]!] : gatherElements(b!);
    if (special === undefined && (a!.dtype === "float32" || a!.dtype === "float64") && arithmeticLoop(op, x, y, dst, scalarY)) return;
    const f = special ?? BINARY[op];
    if (scalarY) {
      const c = y[0]!;
      for (let i = 0; i < dst.length; i++) dst[i] = f(x[i]!, c);
    } else {
      for (let i = 0; i < dst.length; i++) dst[i] = f(x[i]!, y[i]!);
    }
  };
}

export const whereKernel: KernelFn<"where", CpuStorage> = ([condition, a, b], [out]) => {
  if (simdWhere(condition!, a!, b!, out!)) return;
  const c = gatherElements(condition!);
  const x = gatherElements(a!);
  const y = gatherElements(b!);
  const dst = outputArray(out!);
  for (let i = 0; i < dst.length; i++) dst[i] = c[i] ? x[i]! : y[i]!;
};

function converter(to: DType): (v: number) => number {
  if (to === "bool") return truthy;
  // Float → int truncates toward zero; NaN and out-of-range values are unspecified in PyTorch.
  if (to === "int32") return (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0);
  return (v) => v;
}

export const castKernel: KernelFn<"cast", CpuStorage> = ([x], [out]) => {
  const src = gatherElements(x!);
  const dst = outputArray(out!);
  // To a float dtype, and from int or bool to int32, the conversion is the one an element store
  // does, which set() does for the whole array in native code.
  if (out!.dtype === "float32" || out!.dtype === "float64" || (out!.dtype === "int32" && !(src instanceof Float32Array || src instanceof Float64Array))) {
    dst.set(src);
    return;
  }
  const convert = converter(out!.dtype);
  for (let i = 0; i < dst.length; i++) dst[i] = convert(src[i]!);
};

/** Copies between any two layouts of one shape (the output may be a strided view). */
export const copyKernel: KernelFn<"copy", CpuStorage> = ([x], [out]) => {
  const o = out!;
  if (isDense(o) && o.storage.data !== x!.storage.data) {
    // Straight into the output: no intermediate array.
    if (isDense(x!)) o.storage.data.set(gatherElements(x!), o.offset);
    else if (!simdTransposeCopy(x!, o.storage.data, o.offset) && !simdGatherRuns(x!, o.storage.data, o.offset)) gatherInto(x!, o.storage.data, o.offset);
    return;
  }
  const src = gatherElements(x!);
  const offsets = viewOffsets(o);
  const dst = o.storage.data;
  for (let i = 0; i < offsets.length; i++) dst[offsets[i]!] = src[i]!;
};
